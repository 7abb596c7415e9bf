"""Invitation -> accept -> accreditation -> interview booking, with the mails and .ics files
rendered and parsed as the recipient would get them."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from communications.models import OutboxMail
from press import links, services
from press.models import InterviewSlot, PressInvitation

from . import helpers as h

pytestmark = pytest.mark.django_db


def _invitation_path(mail_text: str) -> str:
    match = re.search(r"https?://[^/\s]+(/nl/pers/uitnodiging/[^\s]+/)", mail_text)
    assert match, mail_text
    return match.group(1)


from .test_mail_templates import assert_link  # noqa: E402


def test_full_flow_through_the_personal_link(client, settings):
    settings.SITE_URL = "http://testserver"
    sp = h.spokesperson()
    m = h.moment(spokespersons=[sp])
    start = m.event.starts_at
    slot = services.interview_slot_create(
        moment=m, spokesperson=sp, starts_at=start, ends_at=start + timedelta(minutes=20)
    )
    j = h.journalist(name="Sanne Visser", email="sanne@nos.example.nl")
    h.invite(m, j)

    # 1. The invitation mail: Dutch, personal link, removal link.
    [mail] = h.mails("press_invitation")
    assert mail.key == f"press_invitation:{PressInvitation.objects.get().pk}"
    message = h.rendered(mail)
    assert m.event.title in message.subject
    assert "Sanne Visser" in message.body
    assert "/nl/pers/afmelden/" in message.body
    assert "Ministerie SZW" in message.body
    path = _invitation_path(message.body)

    # 2. Accept on the page: a confirmation with a calendar invitation.
    page = client.get(path)
    assert page.status_code == 200
    assert "Persconferentie" in page.content.decode()
    assert client.post(path, {"action": "accept"}).status_code == 302
    inv = PressInvitation.objects.get()
    assert inv.status == "accepted"
    [accepted] = h.mails("press_invitation_accepted")
    [spec] = accepted.attachments
    assert {k: spec[k] for k in ("type", "event_id", "method", "attendee")} == {
        "type": "ics",
        "event_id": m.event_id,
        "method": "REQUEST",
        "attendee": "recipient",
    }
    # The moment as it was when the journalist accepted (communications.calendars).
    assert spec["event"]["sequence"] == m.event.revision
    cal = h.ics_of(accepted)
    # A personal iTIP invite: the journalist is the ATTENDEE (checked by ics_of).
    assert str(cal["METHOD"]) == "REQUEST"
    ev = h.vevent(cal)
    assert str(ev["STATUS"]) == "CONFIRMED"
    assert str(ev["UID"]).startswith(f"event-{m.event_id}@")
    assert ev.decoded("DTSTART") == m.event.starts_at.replace(microsecond=0)
    assert "Ministerie SZW" in str(ev["LOCATION"])

    # 3. Accreditation: bad input shows field errors and changes nothing.
    bad = client.post(
        path, {"action": "accreditation", "name": "", "outlet_name": "NOS", "crew_size": "0"}
    )
    assert bad.status_code == 400
    body = bad.content.decode()
    assert 'aria-describedby="id_name_error"' in body
    assert 'id="id_crew_size_error"' in body
    assert PressInvitation.objects.get().accreditation_requested_at is None
    ok = client.post(
        path,
        {
            "action": "accreditation",
            "name": "Sanne Visser",
            "outlet_name": "NOS Journaal",
            "crew_size": "3",
            "camera": "on",
        },
    )
    assert ok.status_code == 302
    inv.refresh_from_db()
    assert (inv.crew_size, inv.camera, inv.photo) == (3, True, False)
    assert inv.accreditation_outlet == "NOS Journaal"
    [accr] = h.mails("press_accreditation_received")
    assert "NOS Journaal" in h.rendered(accr).body

    # 4. Book the interview slot.
    assert client.post(path, {"action": "book", "slot": slot.pk}).status_code == 302
    slot.refresh_from_db()
    assert slot.invitation_id == inv.pk
    [booked] = h.mails("press_interview_booked")
    text = h.rendered(booked).body
    assert sp.person.name in text
    assert timezone.localtime(slot.starts_at).strftime("%H:%M") in text
    page = client.get(path).content.decode()
    assert "All interview slots are taken." not in page or "is booked for" in page

    # Every press mail carries the removal link and the link to all own invitations, in both
    # the text and the HTML part.
    for row in OutboxMail.objects.all():
        message = h.rendered(row)
        html = message.alternatives[0][0].replace("&amp;", "&")
        for part in (message.body, html):
            assert_link(part, "afmelden", links.journalist_from_removal_token, j)
            assert_link(part, "mijn", links.journalist_from_token, j)


def test_change_and_cancellation_send_calendar_updates():
    m = h.moment()
    a, b, c = h.journalist(), h.journalist(), h.journalist()
    for j in (a, b, c):
        h.invite(m, j)
    services.press_invitation_respond(invitation=a.invitations.get(), accept=True)
    services.press_invitation_respond(invitation=b.invitations.get(), accept=False)
    # c does not answer.

    new_start = m.event.starts_at + timedelta(hours=1)
    services.media_moment_update(
        moment=m, starts_at=new_start, ends_at=new_start + timedelta(hours=2)
    )
    [changed] = h.mails("press_moment_changed")
    assert changed.to_email == a.person.email
    ev = h.vevent(h.ics_of(changed))
    assert ev.decoded("DTSTART") == new_start.replace(microsecond=0)
    assert int(ev["SEQUENCE"]) == 1
    # The same update again (nothing changes) mails nobody.
    services.media_moment_update(
        moment=m, starts_at=new_start, ends_at=new_start + timedelta(hours=2)
    )
    assert len(h.mails("press_moment_changed")) == 1

    services.media_moment_cancel(moment=m)
    services.media_moment_cancel(moment=m)
    [cancelled] = h.mails("press_moment_cancelled")
    assert cancelled.to_email == a.person.email
    assert cancelled.attachments[0]["method"] == "CANCEL"
    ev = h.vevent(h.ics_of(cancelled))
    assert str(ev["STATUS"]) == "CANCELLED"
    assert int(ev["SEQUENCE"]) == 2
    assert "Geannuleerd" in h.rendered(cancelled).subject


def test_declining_after_accepting_releases_the_slot_and_cancels_the_calendar_entry():
    sp = h.spokesperson()
    m = h.moment()
    slot = services.interview_slot_create(
        moment=m,
        spokesperson=sp,
        starts_at=m.event.starts_at,
        ends_at=m.event.starts_at + timedelta(minutes=15),
    )
    inv = h.invite(m, h.journalist())
    services.press_invitation_respond(invitation=inv, accept=True)
    services.interview_slot_book(invitation=inv, slot=slot)
    services.press_invitation_respond(invitation=inv, accept=False)
    assert InterviewSlot.objects.get(pk=slot.pk).invitation_id is None
    [accepted] = h.mails("press_invitation_accepted")
    [declined] = h.mails("press_invitation_declined")
    assert declined.attachments[0]["method"] == "CANCEL"
    # RFC 5546 3.2.5: only this journalist leaves; the moment goes on, so no STATUS, and the
    # CANCEL is newer than the invite it withdraws.
    cancel = h.vevent(h.ics_of(declined))
    assert "STATUS" not in cancel
    assert cancel["SEQUENCE"] == h.vevent(h.ics_of(accepted))["SEQUENCE"] + 1


def test_booking_needs_an_accepted_invitation_and_a_free_slot():
    sp = h.spokesperson()
    m = h.moment()
    slot = services.interview_slot_create(
        moment=m,
        spokesperson=sp,
        starts_at=m.event.starts_at,
        ends_at=m.event.starts_at + timedelta(minutes=15),
    )
    first, second = h.invite(m, h.journalist()), h.invite(m, h.journalist())
    with pytest.raises(services.RuleViolation) as exc:
        services.interview_slot_book(invitation=first, slot=slot)
    assert exc.value.code == "not_allowed"
    for inv in (first, second):
        services.press_invitation_respond(invitation=inv, accept=True)
    services.interview_slot_book(invitation=first, slot=slot)
    with pytest.raises(services.RuleViolation) as exc:
        services.interview_slot_book(invitation=second, slot=slot)
    assert exc.value.code == "slot_taken"
    assert InterviewSlot.objects.get(pk=slot.pk).invitation_id == first.pk


def test_spokesperson_is_never_double_booked():
    sp = h.spokesperson()
    m1, m2 = h.moment(), h.moment()
    start = m1.event.starts_at
    services.interview_slot_create(
        moment=m1, spokesperson=sp, starts_at=start, ends_at=start + timedelta(minutes=30)
    )
    with pytest.raises(services.RuleViolation) as exc:
        services.interview_slot_create(
            moment=m2,
            spokesperson=sp,
            starts_at=start + timedelta(minutes=15),
            ends_at=start + timedelta(minutes=45),
        )
    assert exc.value.code == "spokesperson_busy"
    # Back to back is fine.
    services.interview_slot_create(
        moment=m2,
        spokesperson=sp,
        starts_at=start + timedelta(minutes=30),
        ends_at=start + timedelta(minutes=60),
    )
    assert InterviewSlot.objects.filter(spokesperson=sp).count() == 2


def test_reminders_once_per_number_only_to_those_who_did_not_answer(settings):
    settings.PRESS_REMINDER_DAYS = 3
    settings.PRESS_MAX_REMINDERS = 2
    m = h.moment(starts_in=timedelta(days=20))
    silent, answered = h.journalist(), h.journalist()
    inv = h.invite(m, silent)
    services.press_invitation_respond(invitation=h.invite(m, answered), accept=False)
    now = timezone.now()
    assert services.press_reminders_send(now=now + timedelta(days=1)) == 0
    assert services.press_reminders_send(now=now + timedelta(days=3, minutes=1)) == 1
    assert services.press_reminders_send(now=now + timedelta(days=3, minutes=2)) == 0
    assert services.press_reminders_send(now=now + timedelta(days=7)) == 1
    assert services.press_reminders_send(now=now + timedelta(days=12)) == 0
    keys = [r.key for r in h.mails("press_invitation_reminder")]
    assert keys == [
        f"press_invitation_reminder:{inv.pk}:1",
        f"press_invitation_reminder:{inv.pk}:2",
    ]
    assert all(r.to_email == silent.person.email for r in h.mails("press_invitation_reminder"))
    assert "Herinnering" in h.rendered(h.mails("press_invitation_reminder")[0]).subject


def test_invitations_are_sent_once_per_journalist_and_moment():
    m = h.moment()
    j = h.journalist()
    assert len(services.press_invitations_send(moment=m, journalists=[j])) == 1
    assert services.press_invitations_send(moment=m, journalists=[j]) == []
    assert len(h.mails("press_invitation")) == 1


def test_english_journalist_gets_english_mail():
    m = h.moment()
    j = h.journalist(language="en")
    h.invite(m, j)
    message = h.rendered(h.mails("press_invitation")[0])
    assert message.subject.startswith("Press invitation")
    assert "Remove me from the press list" in message.body


def test_invitation_link_of_tampered_token_is_refused(client):
    assert client.get(reverse("press:invitation", kwargs={"token": "nope"})).status_code == 404


def test_changes_made_outside_the_press_pages_reach_journalists_too():
    """The Django admin (and any other path) changes an event through events.services; the
    press hook then mails accepted journalists, once per revision, as the press page does."""
    from events import services as event_services

    m = h.moment()
    a = h.journalist()
    h.invite(m, a)
    services.press_invitation_respond(invitation=a.invitations.get(), accept=True)

    event_services.event_update(event=m.event, venue_name="Beeld en Geluid, studio 2")
    [changed] = h.mails("press_moment_changed")
    assert changed.to_email == a.person.email
    assert int(h.vevent(h.ics_of(changed))["SEQUENCE"]) == 1
    assert "studio 2" in str(h.vevent(h.ics_of(changed))["LOCATION"])

    event_services.event_cancel(event=m.event)
    event_services.event_cancel(event=m.event)
    [cancelled] = h.mails("press_moment_cancelled")
    assert int(h.vevent(h.ics_of(cancelled))["SEQUENCE"]) == 2
