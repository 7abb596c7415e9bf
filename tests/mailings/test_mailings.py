"""Mailings: segments, preview, sending through the outbox once, unsubscribe, headers."""

import pytest
from django.urls import reverse

from common.errors import RuleViolation
from communications.models import OutboxMail
from communications.sending import mail_send
from communications.services import mail_enqueue
from mailings import selectors, services
from mailings.models import Mailing, Segment, Unsubscribe
from privacy.models import AuditEntry
from tests.factories import (
    CampaignParticipationFactory,
    CampaignWeekFactory,
    EventFactory,
    OrganisationFactory,
    PersonFactory,
    region,
)

from .helpers import attendee, attendees_mailing, send_now

pytestmark = pytest.mark.django_db


def test_event_segment_is_valid_tickets_of_that_event_once_per_address(organiser):
    event, other = EventFactory(), EventFactory()
    attendee(event, name="Anna", email="anna@example.nl")
    # The same address on a second ticket (any capitalisation) gets one mail.
    attendee(event, name="Anna B", email="Anna@Example.nl")
    attendee(event, name="Bert", email="bert@example.nl", status="cancelled")
    attendee(other, name="Cees", email="cees@example.nl")
    recipients = selectors.segment_recipients(segment=Segment.EVENT_ATTENDEES, event=event)
    assert [r.email for r in recipients] == ["anna@example.nl"]


def test_campaign_segment_filters_region_and_skips_cancelled(organiser):
    week = CampaignWeekFactory()
    utrecht, other_region = region("12"), region("01")
    keep = CampaignParticipationFactory(
        event=week, organisation=OrganisationFactory(region=utrecht, name="Zorg BV")
    )
    CampaignParticipationFactory(event=week, organisation=OrganisationFactory(region=other_region))
    CampaignParticipationFactory(
        event=week, organisation=OrganisationFactory(region=utrecht), status="cancelled"
    )
    recipients = selectors.segment_recipients(
        segment=Segment.CAMPAIGN_ORGANISATIONS, event=week, region=utrecht
    )
    assert [(r.email, r.organisation) for r in recipients] == [(keep.contact.email, "Zorg BV")]
    everyone = selectors.segment_recipients(segment=Segment.CAMPAIGN_ORGANISATIONS, event=week)
    assert len(everyone) == 2


@pytest.mark.skipif(not selectors.ambassadors_available(), reason="schools app not installed")
def test_ambassador_segment_only_active_ambassadors():
    from schools.models import Ambassador, WorkField

    field = WorkField.objects.create(name="Zorg", slug="zorg")
    active = Ambassador.objects.create(person=PersonFactory(), work_field=field)
    Ambassador.objects.create(person=PersonFactory(), work_field=field, is_active=False)
    recipients = selectors.segment_recipients(segment=Segment.AMBASSADORS)
    assert [r.email for r in recipients] == [active.person.email]


def test_invalid_mailing_gets_field_errors_and_nothing_is_written(organiser):
    with pytest.raises(RuleViolation) as info:
        services.mailing_create(
            created_by=organiser,
            segment=Segment.EVENT_ATTENDEES,
            event=None,
            subject_nl="",
            body_nl="Hallo {{ wachtwoord }}",
            subject_en="Only a subject",
        )
    errors = info.value.errors
    assert set(errors) == {"event", "subject_nl", "body_nl", "body_en"}
    assert "{{ wachtwoord }}" in errors["body_nl"][0]
    assert not Mailing.objects.exists()


def test_preview_fills_placeholders_for_the_chosen_recipient_and_writes_nothing(organiser):
    event = EventFactory(title="Congres Werkdruk")
    attendee(event, name="Anna <b>de Vries</b>", email="anna@example.nl")
    attendee(event, name="Bob", email="bob@example.nl", language="en")
    mailing = attendees_mailing(event, organiser)
    send, _excluded = selectors.mailing_recipients(mailing=mailing)
    anna = next(r for r in send if r.email == "anna@example.nl")
    bob = next(r for r in send if r.email == "bob@example.nl")

    preview = selectors.mailing_preview(mailing=mailing, recipient=anna)
    assert preview["subject"] == "Nieuws over Congres Werkdruk"
    assert "Beste Anna <b>de Vries</b>," in preview["text"]
    assert "Je adres: anna@example.nl" in preview["text"]
    assert preview["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    english = selectors.mailing_preview(mailing=mailing, recipient=bob)
    assert english["subject"] == "News about Congres Werkdruk"
    assert "Dear Bob," in english["text"]
    assert not OutboxMail.objects.exists()


def test_html_version_escapes_the_organisers_text_and_names(organiser):
    from communications.sending import render_mail

    event = EventFactory()
    attendee(event, name="<script>x</script>", email="x@example.nl")
    mailing = attendees_mailing(event, organiser, body_nl="<img src=x> {{ naam }}\n\nTwee")
    send_now(mailing, organiser)
    html = render_mail(OutboxMail.objects.get()).alternatives[0][0]
    assert "<img src=x>" not in html and "&lt;img src=x&gt;" in html
    assert "<script>x</script>" not in html


def test_send_queues_one_outbox_row_per_recipient_and_never_twice(organiser):
    event = EventFactory()
    for n in range(3):
        attendee(event, name=f"P{n}", email=f"p{n}@example.nl")
    mailing = attendees_mailing(event, organiser)
    assert send_now(mailing, organiser) == 3
    rows = OutboxMail.objects.filter(template="mailing")
    assert sorted(rows.values_list("key", flat=True)) == [
        f"mailing:{mailing.pk}:p{n}@example.nl" for n in range(3)
    ]
    # A second click is refused...
    with pytest.raises(RuleViolation) as info:
        send_now(mailing, organiser)
    assert info.value.code == "already_sent"
    # ...and even if two requests both got past the status check (no row locks), the outbox
    # keys keep it at one mail per person.
    Mailing.objects.filter(pk=mailing.pk).update(status=Mailing.Status.DRAFT)
    send_now(mailing, organiser)
    assert rows.count() == 3
    delivery = selectors.mailing_delivery(mailing=mailing)
    assert delivery == {"queued": 3, "retrying": 0, "sent": 0, "failed": 0, "total": 3}


def test_delivery_figures_follow_the_outbox(organiser, settings):
    event = EventFactory()
    for n in range(3):
        attendee(event, name=f"P{n}", email=f"p{n}@example.nl")
    mailing = attendees_mailing(event, organiser)
    send_now(mailing, organiser)
    first, second, _third = OutboxMail.objects.order_by("pk")
    assert mail_send(mail_id=first.pk).status == "sent"  # locmem backend in tests
    OutboxMail.objects.filter(pk=second.pk).update(status=OutboxMail.Status.FAILED)
    assert selectors.mailing_delivery(mailing=mailing) == {
        "queued": 1,
        "retrying": 0,
        "sent": 1,
        "failed": 1,
        "total": 3,
    }


def test_unsubscribe_link_one_click_and_later_mailings_skip_the_address(organiser, client):
    event = EventFactory()
    attendee(event, name="Anna", email="anna@example.nl")
    attendee(event, name="Bert", email="bert@example.nl")
    first = attendees_mailing(event, organiser)
    send_now(first, organiser)
    url = OutboxMail.objects.get(to_email="anna@example.nl").context["unsubscribe_url"]
    path = url.removeprefix("http://testserver").split("://", 1)[-1]
    path = path[path.index("/") :]

    # Opening the link (or a virus scanner fetching it) changes nothing.
    page = client.get(path)
    assert page.status_code == 200 and not Unsubscribe.objects.exists()
    # RFC 8058 one-click: a bare POST without cookies or CSRF token.
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Unsubscribe.objects.get().scope == Segment.EVENT_ATTENDEES

    second = attendees_mailing(event, organiser)
    assert send_now(second, organiser) == 1
    second.refresh_from_db()
    assert second.excluded_count == 1
    assert not OutboxMail.objects.filter(
        key__startswith=second.outbox_key_prefix(), to_email="anna@example.nl"
    ).exists()
    # Transactional mail still goes to her.
    mail = mail_enqueue(
        key="booking_confirmed:test",
        template="magic_link",
        to_email="anna@example.nl",
        context={"login_url": "http://x/", "valid_minutes": 15},
    )
    assert mail.status == OutboxMail.Status.QUEUED


def test_unsubscribe_from_all_mailings_and_tampered_links(organiser, client):
    event = EventFactory()
    attendee(event, name="Anna", email="anna@example.nl")
    mailing = attendees_mailing(event, organiser)
    send_now(mailing, organiser)
    url = OutboxMail.objects.get().context["unsubscribe_url"]
    path = url[url.index("/", len("http://")) :]
    assert client.post(path, {"scope": "all"}).status_code == 200
    assert Unsubscribe.objects.get().scope == Unsubscribe.ALL
    # An "all" unsubscription also covers other segments.
    week = CampaignWeekFactory()
    CampaignParticipationFactory(event=week, contact=PersonFactory(email="anna@example.nl"))
    other = services.mailing_create(
        created_by=organiser,
        segment=Segment.CAMPAIGN_ORGANISATIONS,
        event=week,
        subject_nl="Hallo",
        body_nl="Tekst",
    )
    send, excluded = selectors.mailing_recipients(mailing=other)
    assert send == [] and len(excluded) == 1

    bad = client.post(path[:-3] + "xx/")
    assert bad.status_code == 400
    assert Unsubscribe.objects.count() == 1


def test_list_unsubscribe_header_over_real_smtp_only_for_mailings(organiser, smtp_settings):
    event = EventFactory()
    ticket = attendee(event, name="Anna", email="anna@example.nl")
    mailing = attendees_mailing(event, organiser)
    send_now(mailing, organiser)
    row = OutboxMail.objects.get(template="mailing")
    transactional = mail_enqueue(
        key=f"ticket_confirmed:{ticket.pk}",
        template="ticket_confirmed",
        to_email="anna@example.nl",
        context={"ticket_id": ticket.pk},
    )
    assert mail_send(mail_id=row.pk).status == "sent"
    assert mail_send(mail_id=transactional.pk).status == "sent"
    by_subject = {str(m["Subject"]): m for m in smtp_settings.messages}
    received = by_subject["Nieuws over " + event.title]
    # Long headers are folded on the wire (RFC 5322); the value is the same.
    assert str(received["List-Unsubscribe"]).strip() == f"<{row.context['unsubscribe_url']}>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = received.get_body(preferencelist=("plain",)).get_content()
    assert "Beste Anna," in text and row.context["unsubscribe_url"] in text
    # The organiser writes the greeting; the template adds none of its own.
    assert text.count("Anna") == 1
    html = received.get_body(preferencelist=("html",)).get_content()
    assert html.count("Anna") == 1 and row.context["unsubscribe_url"] in html
    other = next(m for s, m in by_subject.items() if s != received["Subject"])
    assert other["List-Unsubscribe"] is None and other["List-Unsubscribe-Post"] is None


def test_audit_entries_for_mailing_actions_hold_no_personal_data(organiser):
    event = EventFactory()
    attendee(event, name="Zeldzame Naam", email="zeldzaam@example.nl")
    mailing = attendees_mailing(event, organiser)
    send_now(mailing, organiser)
    entries = AuditEntry.objects.order_by("id")
    assert [e.action for e in entries] == ["mailing.create", "mailing.send"]
    send = entries.last()
    assert (send.actor_id, send.object_type, send.object_id) == (
        organiser.pk,
        "mailings.mailing",
        str(mailing.pk),
    )
    assert send.details == {"recipients": 1, "excluded": 0}
    dump = str(list(entries.values()))
    assert "Zeldzame" not in dump and "zeldzaam@" not in dump


# --- pages ------------------------------------------------------------------------------------


def test_mailing_pages_are_for_organisers_only(client, organiser):
    from tests.factories import UserFactory

    url = reverse("mailings:list")
    assert client.get(url).status_code == 302
    client.force_login(UserFactory(is_staff=False))
    assert client.get(url).status_code == 403
    assert client.post(reverse("mailings:create"), {}).status_code == 403


def test_create_preview_and_send_through_the_pages(
    organiser_client, django_capture_on_commit_callbacks
):
    event = EventFactory()
    attendee(event, name="Anna", email="anna@example.nl")
    attendee(event, name="Bert", email="bert@example.nl")
    bad = organiser_client.post(
        reverse("mailings:create"),
        {"segment": "event_attendees", "subject_nl": "Hoi", "body_nl": "Tekst"},
    )
    assert bad.status_code == 400
    html = bad.content.decode()
    assert 'aria-describedby="id_event_error"' in html and 'id="id_event_error"' in html
    assert not Mailing.objects.exists()

    response = organiser_client.post(
        reverse("mailings:create"),
        {
            "segment": "event_attendees",
            "event": event.pk,
            "subject_nl": "Hoi {{ naam }}",
            "body_nl": "Beste {{ naam }},\n\nTekst.",
        },
    )
    mailing = Mailing.objects.get()
    assert response.status_code == 302
    detail = organiser_client.get(reverse("mailings:detail", args=[mailing.pk]))
    assert detail.status_code == 200 and "Hoi Anna" in detail.content.decode()
    chosen = organiser_client.get(
        reverse("mailings:detail", args=[mailing.pk]), {"recipient": "bert@example.nl"}
    )
    assert "Hoi Bert" in chosen.content.decode()

    # Double click; each request's commit queues the send job (run eagerly here).
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            organiser_client.post(reverse("mailings:send", args=[mailing.pk]))
    assert OutboxMail.objects.filter(template="mailing").count() == 2
    sent = organiser_client.get(reverse("mailings:detail", args=[mailing.pk]))
    assert sent.status_code == 200


def test_preview_for_an_unknown_recipient_is_a_form_error(organiser, organiser_client):
    event = EventFactory()
    attendee(event, name="Anna", email="anna@example.nl")
    mailing = attendees_mailing(event, organiser)
    response = organiser_client.get(
        reverse("mailings:detail", args=[mailing.pk]), {"recipient": "nobody@example.nl"}
    )
    assert response.status_code == 200
    assert 'id="id_recipient_error"' in response.content.decode()
