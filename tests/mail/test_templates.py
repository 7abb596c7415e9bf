"""Every mail template renders, in Dutch and English, from real rows (no stubs)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from communications.models import Certificate, OutboxMail
from communications.sending import message_id_for, render_mail
from participants.models import WaitingListEntry
from tests.factories import (
    CampaignParticipationFactory,
    EventFactory,
    PersonFactory,
    RegistrationFactory,
    TicketFactory,
    WaitingListEntryFactory,
)

pytestmark = pytest.mark.django_db

DUTCH = {"Beste", "Met vriendelijke groet"}
ENGLISH = {"Dear", "Kind regards"}


@pytest.fixture
def rows():
    event = EventFactory(title="Congres Gezond Werk & Zorg", venue_name="Jaarbeurs")
    person = PersonFactory(name="Anouk de Vries", email="anouk@example.nl")
    registration = RegistrationFactory(event=event, booker=person)
    ticket = TicketFactory(registration=registration, person=person)
    entry = WaitingListEntryFactory(
        event=event,
        person=person,
        status=WaitingListEntry.Status.OFFERED,
        offer_expires_at=timezone.now() + timedelta(hours=48),
    )
    participation = CampaignParticipationFactory(
        contact=person, activities=["workshop", "walk"], employees_reached=120
    )
    ticket.checked_in_at = timezone.now()
    ticket.save()
    certificate = Certificate.objects.create(
        kind=Certificate.Kind.ATTENDEE, event=event, ticket=ticket, name=person.name
    )
    org_certificate = Certificate.objects.create(
        kind=Certificate.Kind.ORGANISATION,
        event=participation.event,
        participation=participation,
        name=participation.organisation.name,
    )
    return {
        "event": event,
        "ticket_id": ticket.pk,
        "registration_id": registration.pk,
        "entry_id": entry.pk,
        "participation_id": participation.pk,
        "participation": participation,
        "certificate_id": certificate.pk,
        "org_certificate_id": org_certificate.pk,
    }


# template -> (context key in `rows`, context name, text every rendering must contain)
TEMPLATES = {
    "ticket_confirmed": ("ticket_id", "ticket_id", "/ticket/"),
    "booking_confirmed": ("registration_id", "registration_id", "/booking/"),
    "booking_pending_approval": ("registration_id", "registration_id", "/booking/"),
    "booking_rejected": ("registration_id", "registration_id", "Congres Gezond Werk & Zorg"),
    "booking_expired": ("registration_id", "registration_id", "/events/"),
    "ticket_cancelled": ("ticket_id", "ticket_id", "Jaarbeurs"),
    "waitlist_joined": ("entry_id", "entry_id", "Jaarbeurs"),
    "waitlist_offer": ("entry_id", "entry_id", "/waiting-list/"),
    "participation_confirmed": ("participation_id", "participation_id", "/sign-up/"),
    "event_changed": ("ticket_id", "ticket_id", "/ticket/"),
    "event_cancelled": ("ticket_id", "ticket_id", "Jaarbeurs"),
    "event_reminder": ("ticket_id", "ticket_id", "/ticket/"),
    "certificate_issued": ("certificate_id", "certificate_id", "/certificates/verify/"),
    "organisation_certificate_issued": (
        "org_certificate_id",
        "certificate_id",
        "/certificates/verify/",
    ),
}


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_template_renders_in_both_languages(rows, template, language):
    row_key, context_name, must_contain = TEMPLATES[template]
    mail = OutboxMail.objects.create(
        key=f"{template}:test:{language}",
        template=template,
        to_email="anouk@example.nl",
        to_name="Anouk de Vries",
        language=language,
        context={context_name: rows[row_key]},
    )
    message = render_mail(mail)
    html = message.alternatives[0][0]
    text = message.body

    assert message.subject and "\n" not in message.subject
    assert message.extra_headers["Message-ID"] == message_id_for(mail)
    for body in (text, html):
        assert "{{" not in body and "{%" not in body
        assert "Anouk de Vries" in body
        assert must_contain in body.replace("&amp;", "&")
    # The plain-text part is not HTML-escaped; the HTML part is.
    if template in ("booking_rejected", "ticket_cancelled", "event_cancelled"):
        assert "Gezond Werk & Zorg" in text
        assert "Gezond Werk &amp; Zorg" in html
    assert f'lang="{language}"' in html
    expected, other = (DUTCH, ENGLISH) if language == "nl" else (ENGLISH, DUTCH)
    assert all(word in text for word in expected)
    assert not any(word in text for word in other)


def test_subjects_differ_between_languages(rows):
    for template, (row_key, context_name, _text) in TEMPLATES.items():
        subjects = set()
        for language in ("nl", "en"):
            mail = OutboxMail(
                pk=1,
                key=template,
                template=template,
                to_email="x@example.nl",
                language=language,
                context={context_name: rows[row_key]},
            )
            subjects.add(render_mail(mail).subject)
        assert len(subjects) == 2, template


def test_times_are_shown_in_amsterdam_time(rows):
    event = rows["event"]
    # 09:30 in Amsterdam in winter is 08:30 UTC.
    event.starts_at = datetime(2030, 11, 12, 8, 30, tzinfo=UTC)
    event.ends_at = event.starts_at + timedelta(hours=7)
    event.save()
    mail = OutboxMail(
        pk=1,
        key="k",
        template="ticket_confirmed",
        to_email="x@example.nl",
        language="nl",
        context={"ticket_id": rows["ticket_id"]},
    )
    text = render_mail(mail).body
    assert "dinsdag 12 november 2030, 09:30–16:30" in text


def test_participation_mail_lists_translated_activities(rows):
    mail = OutboxMail(
        pk=1,
        key="k",
        template="participation_confirmed",
        to_email="x@example.nl",
        language="en",
        context={"participation_id": rows["participation_id"]},
    )
    text = render_mail(mail).body
    assert "Workshop or training" in text
    assert "120 employees" in text
    assert rows["participation"].organisation.name in text


def test_rejection_reason_is_shown(rows):
    mail = OutboxMail(
        pk=1,
        key="k",
        template="booking_rejected",
        to_email="x@example.nl",
        language="nl",
        context={"registration_id": rows["registration_id"], "reason": "Alleen voor leden"},
    )
    assert "Alleen voor leden" in render_mail(mail).body
