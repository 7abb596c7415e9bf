"""Every calendar the product emits, read by two independent parsers, against iTIP semantics.

Issue 13, item 6. The sweep builds each calendar-carrying mail through the real services
(bookings, reminders, cancellations, swaps, event changes, school sessions, ambassadors, press
invitations and RSVPs, media moments) and every feed and download, then reads each .ics with
icalendar AND vobject (a second parser with its own VTIMEZONE handling, through dateutil)
and checks that they agree and that RFC 5545 / RFC 5546 hold:

- REQUEST: STATUS:CONFIRMED, the mail's addressee as ATTENDEE.
- CANCEL of the whole event: STATUS:CANCELLED.
- CANCEL that removes one attendee (a cancelled or handed-over ticket, a journalist who
  declines after accepting): the removed ATTENDEE, NO STATUS (RFC 5546 3.2.5), same UID,
  a SEQUENCE higher than the invite it withdraws.
- Every mail is rendered only after all of them were queued (a backlogged queue), and must
  still carry the state and SEQUENCE of the change it announces: a calendar client applying
  the mails in the order they were queued never sees one as outdated, and every change is
  newer than what that client holds.
- The MIME part of every calendar, written by both writers (the SMTP writer and Django's
  message for the file backend and previews), parsed with the standard library's strict
  policy: no defects, exactly one charset parameter, method= equal to the METHOD inside.
- A feed without events is still a calendar with a component (the VTIMEZONE).
"""

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from email import message_from_bytes
from email import policy as email_policy
from zoneinfo import ZoneInfo

import pytest
import vobject
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from communications import mime, sending
from communications.feeds import campaign_feed_url, event_calendar_url, organisation_feed_url
from communications.models import OutboxMail
from communications.renderers.attachments import render_attachment
from communications.renderers.data import CalendarAttendee, CalendarEvent
from communications.renderers.ics import render_ics
from communications.services import event_reminders_queue
from events.services import event_cancel, event_update
from participants import links as participant_links
from participants import services as participants
from participants.models import Ticket
from press import services as press_services
from schools import services as school_services
from tests.factories import (
    CampaignFactory,
    EventFactory,
    OrganisationFactory,
    RegistrationFactory,
    TicketFactory,
    TicketTypeFactory,
)
from tests.press import helpers as press_helpers
from tests.schools.conftest import AmbassadorFactory, make_request

pytestmark = pytest.mark.django_db
AMS = ZoneInfo("Europe/Amsterdam")

# What each mail that carries a calendar must say: (METHOD, STATUS or None).
EXPECTED = {
    "ticket_confirmed": ("REQUEST", "CONFIRMED"),
    "event_reminder": ("REQUEST", "CONFIRMED"),
    "event_changed": ("REQUEST", "CONFIRMED"),
    "event_cancelled": ("CANCEL", "CANCELLED"),
    "ticket_cancelled": ("CANCEL", None),
    "school_session_planned": ("REQUEST", "CONFIRMED"),
    "ambassador_session_assigned": ("REQUEST", "CONFIRMED"),
    "school_session_changed": ("REQUEST", "CONFIRMED"),
    "ambassador_session_changed": ("REQUEST", "CONFIRMED"),
    "school_session_cancelled": ("CANCEL", "CANCELLED"),
    "ambassador_session_cancelled": ("CANCEL", "CANCELLED"),
    "press_invitation_accepted": ("REQUEST", "CONFIRMED"),
    "press_invitation_declined": ("CANCEL", None),
    "press_moment_changed": ("REQUEST", "CONFIRMED"),
    "press_moment_cancelled": ("CANCEL", "CANCELLED"),
}
# Mails that announce a change: their SEQUENCE must be above what the recipient holds.
CHANGES = {name for name, (method, status) in EXPECTED.items() if method == "CANCEL"} | {
    "event_changed",
    "school_session_changed",
    "ambassador_session_changed",
    "press_moment_changed",
}


# --- reading a calendar with both parsers ---------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One VEVENT as a calendar client needs it."""

    method: str
    uid: str
    sequence: int
    status: str | None
    attendees: tuple[str, ...]
    starts_at: datetime
    ends_at: datetime
    summary: str
    location: str


def _address(value) -> str:
    return str(value).lower().removeprefix("mailto:")


def _with_icalendar(content: bytes) -> tuple[list[Entry], int]:
    cal = Calendar.from_ical(content)
    method = str(cal.get("METHOD", ""))
    entries = []
    for vevent in cal.walk("VEVENT"):
        attendees = vevent.get("ATTENDEE", [])
        attendees = attendees if isinstance(attendees, list) else [attendees]
        entries.append(
            Entry(
                method=method,
                uid=str(vevent["UID"]),
                sequence=int(vevent["SEQUENCE"]),
                status=str(vevent["STATUS"]) if "STATUS" in vevent else None,
                attendees=tuple(sorted(_address(a) for a in attendees)),
                starts_at=vevent.decoded("DTSTART").astimezone(UTC),
                ends_at=vevent.decoded("DTEND").astimezone(UTC),
                summary=str(vevent["SUMMARY"]),
                location=str(vevent.get("LOCATION", "")),
            )
        )
    return entries, len(cal.subcomponents)


def _with_vobject(content: bytes) -> tuple[list[Entry], int]:
    cal = vobject.readOne(content.decode("utf-8"), validate=True)
    method = cal.method.value if "method" in cal.contents else ""
    entries = []
    for vevent in cal.contents.get("vevent", []):
        contents = vevent.contents
        entries.append(
            Entry(
                method=method,
                uid=vevent.uid.value,
                sequence=int(vevent.sequence.value),
                status=contents["status"][0].value if "status" in contents else None,
                attendees=tuple(sorted(_address(a.value) for a in contents.get("attendee", []))),
                starts_at=vevent.dtstart.value.astimezone(UTC),
                ends_at=vevent.dtend.value.astimezone(UTC),
                summary=vevent.summary.value,
                location=contents["location"][0].value if "location" in contents else "",
            )
        )
    return entries, len(list(cal.components()))


def read_calendar(content: bytes) -> list[Entry]:
    """Both parsers, which must read the same thing; RFC 5545 3.4/3.6 structure checked."""
    assert content.startswith(b"BEGIN:VCALENDAR\r\n") and content.endswith(b"END:VCALENDAR\r\n")
    ours, ours_components = _with_icalendar(content)
    theirs, their_components = _with_vobject(content)
    assert ours == theirs, "icalendar and vobject read this calendar differently"
    # RFC 5545 3.6: a calendar holds at least one component.
    assert ours_components >= 1 and their_components >= 1
    assert b"\r\nVERSION:2.0\r\n" in content and b"\r\nPRODID:" in content
    # Every TZID used has its VTIMEZONE (RFC 5545 3.6.5).
    if b"TZID=Europe/Amsterdam" in content:
        assert b"BEGIN:VTIMEZONE\r\nTZID:Europe/Amsterdam\r\n" in content
    return ours


# --- reading a mail as it is sent -------------------------------------------------------------


def _calendar_parts(data: bytes) -> list:
    message = message_from_bytes(data, policy=email_policy.strict)
    parts = []
    for part in message.walk():
        assert not part.defects, part.defects
        for name, value in part.items():
            assert not getattr(value, "defects", ()), (name, value.defects)
        if part.get_content_type() == "text/calendar":
            parts.append(part)
    return parts


def _one_charset(part) -> None:
    raw = str(part["Content-Type"])
    assert len(re.findall(r";\s*charset\s*=", raw, flags=re.IGNORECASE)) == 1, raw
    assert part.get_content_charset() == "utf-8"


def mail_calendar(mail: OutboxMail) -> list[Entry]:
    """Render the outbox row as the sender does, write it with BOTH MIME writers, parse each
    strictly; the .ics they carry must be the same and read the same by both parsers."""
    rendered = sending.render_parts(mail, attachments=True)
    lean = mime.build_message(
        from_header=mime.address_header("Week van de Werkstress", "noreply@werkstress.nl"),
        to_header=mime.address_header(rendered.to_name, rendered.to_email),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        headers=rendered.headers,
        attachments=rendered.attachments,
    )
    django_message = sending._django_message(rendered)  # noqa: SLF001 - the file backend's path
    django_message.from_email = "noreply@werkstress.nl"
    written = [lean, django_message.message().as_bytes(linesep="\r\n")]
    contents = []
    for data in written:
        (part,) = _calendar_parts(data)
        _one_charset(part)
        content = part.get_payload(decode=True)
        entries = read_calendar(content)
        # iTIP over mail: the content type's method is the calendar's METHOD.
        assert part.get_param("method") == entries[0].method
        contents.append(entries)
    assert contents[0] == contents[1]
    return contents[0]


# --- a calendar client, RFC 5546 2.1.5 ----------------------------------------------------------


class CalendarClient:
    """One person's calendar: keeps the newest copy per UID (by SEQUENCE) and says when a
    message arrives that it must ignore as older than what it holds."""

    def __init__(self) -> None:
        self.held: dict[str, Entry] = {}

    def apply(self, entry: Entry) -> bool:
        held = self.held.get(entry.uid)
        if held is not None and entry.sequence < held.sequence:
            return False
        self.held[entry.uid] = entry
        return True

    def state(self, uid: str) -> str:
        entry = self.held.get(uid)
        if entry is None:
            return "absent"
        if entry.method == "CANCEL":
            return "cancelled" if entry.status == "CANCELLED" else "removed"
        return "confirmed"


def check_mails_in_queue_order(mails: list[OutboxMail]) -> dict[str, CalendarClient]:
    """Every calendar mail of `mails`, rendered now (after all were queued), against EXPECTED
    and against a calendar client per recipient that applies them in the order queued."""
    clients: dict[str, CalendarClient] = defaultdict(CalendarClient)
    seen = set()
    for mail in sorted(mails, key=lambda m: m.pk):
        if not any(spec.get("type") == "ics" for spec in mail.attachments):
            continue
        seen.add(mail.template)
        method, status = EXPECTED[mail.template]
        (entry,) = mail_calendar(mail)
        where = f"{mail.template} to {mail.to_email}"
        assert (entry.method, entry.status) == (method, status), where
        # A personal invite names its addressee, also a removal (RFC 5546 3.2.5).
        assert entry.attendees == (mail.to_email.lower(),), where
        assert entry.uid == f"event-{mail.event_id}@127.0.0.1", where
        client = clients[mail.to_email.lower()]
        held = client.held.get(entry.uid)
        if mail.template in CHANGES and held is not None:
            assert entry.sequence > held.sequence, f"{where}: not newer than what is held"
        assert client.apply(entry), f"{where}: a client ignores it as outdated"
    return clients, seen


# --- the sweep --------------------------------------------------------------------------------


def _attendee(name: str, email: str, ticket_type) -> participants.AttendeeInput:
    return participants.AttendeeInput(name=name, email=email, ticket_type_id=ticket_type.pk)


def _book(event, ticket_type, *people):
    return participants.registration_create(
        event=event,
        booker_name="Bram Boeker",
        booker_email="bram@boeker.example.nl",
        attendees=[_attendee(name, email, ticket_type) for name, email in people],
    )


def _ticket_scenario() -> dict:
    """Bookings, reminders, a cancelled ticket, a ticket handed over, a cancelled booking, a
    move, a booking again and the cancellation of the event: all queued, nothing sent."""
    event = EventFactory(title="Congres Werkdruk; zorg, onderwijs", venue_name="Jaarbeurs")
    original_start = event.starts_at
    ticket_type = TicketTypeFactory(event=event)
    first = _book(
        event,
        ticket_type,
        ("Anna Smit", "anna@example.nl"),
        ("Bas Kok", "bas@example.nl"),
        ("Cor de Wit", "cor@example.nl"),
    )
    anna, bas, cor = first.tickets.order_by("pk")
    bas_person = bas.person_id
    other = _book(event, ticket_type, ("Dirk Jansen", "dirk@example.nl"), ("Eva Ek", "eva@ex.nl"))
    assert event_reminders_queue(now=event.starts_at - timedelta(hours=12)) == 5
    participants.ticket_cancel(ticket=anna)  # Anna alone leaves
    participants.ticket_update_attendee(ticket=bas, name="Fleur Nieuw", email="fleur@example.nl")
    participants.registration_cancel(registration=other)  # Dirk and Eva leave
    moved_start = original_start + timedelta(days=1, hours=2)
    event_update(event=event, starts_at=moved_start, ends_at=moved_start + timedelta(hours=7))
    moved_revision = event.revision
    _book(event, ticket_type, ("Anna Smit", "anna@example.nl"))  # Anna books again
    event_cancel(event=event)
    return {
        "event": event,
        "original_start": original_start,
        "moved_start": moved_start,
        "moved_revision": moved_revision,
        "cor": cor,
        "bas": bas,
        "bas_person": bas_person,
    }


def _school_scenario() -> dict:
    request = make_request()
    ambassador = AmbassadorFactory(person__name="Yara Ambassadeur")
    session = school_services.school_session_assign(
        request=request, ambassador=ambassador, slot=request.slots.first(), user=None
    )
    day = session.event.starts_at.astimezone(AMS).date() + timedelta(days=7)
    school_services.school_session_reschedule(
        session=session, on=day, start_time=time(9, 0), end_time=time(10, 30)
    )
    school_services.school_session_cancel(session=session, reopen=True)
    return {"request": request, "ambassador": ambassador, "session": session, "day": day}


def _press_scenario() -> dict:
    moment = press_helpers.moment()
    stays, leaves = press_helpers.journalist(), press_helpers.journalist()
    for journalist in (stays, leaves):
        invitation = press_helpers.invite(moment, journalist)
        press_services.press_invitation_respond(invitation=invitation, accept=True)
    new_start = moment.event.starts_at + timedelta(days=1)
    press_services.media_moment_update(
        moment=moment, starts_at=new_start, ends_at=new_start + timedelta(hours=2)
    )
    left = moment.invitations.get(journalist=leaves)
    press_services.press_invitation_respond(invitation=left, accept=False)
    press_services.media_moment_cancel(moment=moment)
    return {"moment": moment, "stays": stays, "leaves": leaves, "new_start": new_start}


def test_every_ticket_mail_carries_the_invite_of_its_own_change_with_the_queue_backlogged():
    s = _ticket_scenario()
    mails = list(OutboxMail.objects.all())
    clients, seen = check_mails_in_queue_order(mails)
    assert seen == {
        "ticket_confirmed",
        "event_reminder",
        "ticket_cancelled",
        "event_changed",
        "event_cancelled",
    }
    uid = f"event-{s['event'].pk}@127.0.0.1"
    # The end state in everyone's calendar, whatever the backlog was.
    for stayed in ("cor@example.nl", "fleur@example.nl", "anna@example.nl"):
        assert clients[stayed].state(uid) == "cancelled", stayed
    for gone in ("bas@example.nl", "dirk@example.nl", "eva@ex.nl"):
        assert clients[gone].state(uid) == "removed", gone
    # Each mail says what its own change said: times and SEQUENCE.
    by_key = {m.key: m for m in mails}
    cor = s["cor"]
    (changed,) = mail_calendar(by_key[f"event_changed:{cor.pk}:{s['moved_revision']}"])
    assert changed.starts_at == s["moved_start"].replace(microsecond=0)
    assert changed.status == "CONFIRMED"
    assert changed.sequence == s["moved_revision"]
    (reminder,) = mail_calendar(by_key[f"event_reminder:{cor.pk}"])
    assert reminder.starts_at == s["original_start"].replace(microsecond=0)
    (cancelled,) = mail_calendar(by_key[f"event_cancelled:{cor.pk}:{s['event'].revision}"])
    assert cancelled.sequence == changed.sequence + 1
    # The handed-over ticket: the previous holder's CANCEL names the previous holder.
    (swap,) = mail_calendar(by_key[f"ticket_cancelled:{s['bas'].pk}:swap:{s['bas_person']}"])
    assert swap.attendees == ("bas@example.nl",) and swap.status is None


def test_school_session_and_ambassador_invites_follow_plan_move_and_cancel():
    s = _school_scenario()
    clients, seen = check_mails_in_queue_order(list(OutboxMail.objects.all()))
    assert seen == {
        "school_session_planned",
        "ambassador_session_assigned",
        "school_session_changed",
        "ambassador_session_changed",
        "school_session_cancelled",
        "ambassador_session_cancelled",
    }
    uid = f"event-{s['session'].event_id}@127.0.0.1"
    for who in (s["request"].contact.email, s["ambassador"].person.email):
        assert clients[who.lower()].state(uid) == "cancelled"
    for template in ("school_session_changed", "ambassador_session_changed"):
        (entry,) = mail_calendar(OutboxMail.objects.get(template=template))
        assert entry.starts_at == datetime.combine(s["day"], time(9, 0), tzinfo=AMS)
    # The session's description names the ambassador: it is not copied into outbox rows
    # (the school contact's mails), only the scheduling fields are.
    assert "Yara Ambassadeur" in s["session"].event.description
    assert not any("Yara" in str(m.attachments) for m in OutboxMail.objects.all())


def test_press_invites_follow_accept_move_decline_and_cancel():
    s = _press_scenario()
    clients, seen = check_mails_in_queue_order(list(OutboxMail.objects.all()))
    assert seen == {
        "press_invitation_accepted",
        "press_moment_changed",
        "press_invitation_declined",
        "press_moment_cancelled",
    }
    uid = f"event-{s['moment'].event_id}@127.0.0.1"
    assert clients[s["stays"].person.email.lower()].state(uid) == "cancelled"
    assert clients[s["leaves"].person.email.lower()].state(uid) == "removed"
    (declined,) = mail_calendar(OutboxMail.objects.get(template="press_invitation_declined"))
    (changed,) = mail_calendar(
        OutboxMail.objects.get(template="press_moment_changed", to_email=s["leaves"].person.email)
    )
    # The decline came after the move: the removal is newer than the move it withdraws.
    assert declined.sequence == changed.sequence + 1
    assert declined.starts_at == changed.starts_at == s["new_start"].replace(microsecond=0)


def test_every_mail_kind_with_a_calendar_is_in_the_sweep():
    """The scenarios above cover every template that carries an .ics: a new kind of calendar
    mail fails here until it is added to EXPECTED (and so to a sweep)."""
    _ticket_scenario()
    _school_scenario()
    _press_scenario()
    with_calendar = {
        mail.template
        for mail in OutboxMail.objects.all()
        if any(spec.get("type") == "ics" for spec in mail.attachments)
    }
    assert with_calendar == set(EXPECTED)


def test_a_booking_that_raced_a_move_gets_the_move_too(monkeypatch):
    """A booking reads the event, writes its rows, then takes the event lock. An organiser who
    moved the event in between mailed only the tickets committed then; the booking's
    confirmations carry the time it read, so its attendees get that move as well."""
    event = EventFactory()
    ticket_type = TicketTypeFactory(event=event)
    moved_start = event.starts_at + timedelta(days=3)
    real_lock = participants.lock_event

    def lock_after_a_move(event_id):
        # What another transaction committed while this booking wrote its rows.
        type(event).objects.filter(pk=event_id).update(
            starts_at=moved_start, ends_at=moved_start + timedelta(hours=2), revision=1
        )
        return real_lock(event_id)

    monkeypatch.setattr(participants, "lock_event", lock_after_a_move)
    registration = _book(event, ticket_type, ("Anna Smit", "anna@example.nl"))
    monkeypatch.setattr(participants, "lock_event", real_lock)
    (ticket,) = registration.tickets.all()
    clients, _seen = check_mails_in_queue_order(list(OutboxMail.objects.all()))
    held = clients["anna@example.nl"].held[f"event-{event.pk}@127.0.0.1"]
    assert (held.method, held.sequence) == ("REQUEST", 1)
    assert held.starts_at == moved_start.replace(microsecond=0)
    assert OutboxMail.objects.filter(key=f"event_changed:{ticket.pk}:1").exists()
    # Without a move in between, a booking mails its confirmation only.
    _book(event, ticket_type, ("Bas Kok", "bas@example.nl"))
    assert OutboxMail.objects.filter(template="event_changed").count() == 1


# --- reschedule, then cancel, with the queue backlogged: sent over SMTP -------------------------


@pytest.mark.parametrize("order", ["as queued", "cancel first"])
def test_moved_then_cancelled_both_queued_before_sending_arrive_as_they_were(smtp_settings, order):
    """The reviewers' case: a reschedule followed by a cancel, both queued before any worker
    ran, then sent (to a real SMTP server on loopback) in either order. The "moved" mail's
    invite still says moved (REQUEST, CONFIRMED, the new time, its own SEQUENCE); the cancel
    carries the higher SEQUENCE, so a calendar ends with the event cancelled either way."""
    event = EventFactory()
    ticket = TicketFactory(registration__event=event, person__email="anouk@example.nl")
    new_start = event.starts_at + timedelta(days=2)
    event_update(event=event, starts_at=new_start, ends_at=new_start + timedelta(hours=3))
    event_cancel(event=event)
    moved = OutboxMail.objects.get(template="event_changed")
    cancelled = OutboxMail.objects.get(template="event_cancelled")
    assert {moved.status, cancelled.status} == {OutboxMail.Status.QUEUED}
    batches = [[moved.pk], [cancelled.pk]]
    for batch in batches if order == "as queued" else reversed(batches):
        assert sending.mails_send(mail_ids=batch)[batch[0]].status == "sent"

    received = {}
    # The bytes as they came over the wire (the sink keeps them; else as it parsed them).
    wire = getattr(smtp_settings, "raw", None) or [m.as_bytes() for m in smtp_settings.messages]
    for data in wire:
        (part,) = _calendar_parts(data)
        _one_charset(part)
        (entry,) = read_calendar(part.get_payload(decode=True))
        message = message_from_bytes(data, policy=email_policy.strict)
        received[str(message["Message-ID"]).strip()] = entry
    moved.refresh_from_db()
    cancelled.refresh_from_db()
    move, cancel = received[moved.message_id], received[cancelled.message_id]
    assert (move.method, move.status, move.sequence) == ("REQUEST", "CONFIRMED", 1)
    assert move.starts_at == new_start.replace(microsecond=0)
    assert (cancel.method, cancel.status, cancel.sequence) == ("CANCEL", "CANCELLED", 2)
    assert move.attendees == cancel.attendees == (ticket.person.email,)
    arrivals = [move, cancel] if order == "as queued" else [cancel, move]
    client = CalendarClient()
    for entry in arrivals:
        client.apply(entry)
    assert client.state(move.uid) == "cancelled"


# --- feeds and downloads --------------------------------------------------------------------------


def _get(client, url: str):
    response = client.get(url.replace("http://127.0.0.1:8000", ""))
    assert response.status_code == 200, url
    content_type = response["Content-Type"]
    assert content_type.startswith("text/calendar")
    assert len(re.findall(r"charset\s*=", content_type, flags=re.IGNORECASE)) == 1
    return read_calendar(response.content), response.content


def test_every_feed_and_download_reads_the_same_in_both_parsers(client):
    campaign = CampaignFactory()
    on = EventFactory(campaign=campaign, title="Open dag")
    off = EventFactory(campaign=campaign, title="Afgelast")
    event_cancel(event=off)
    organisation = OrganisationFactory()
    TicketFactory(registration=RegistrationFactory(event=on, organisation=organisation))
    ticket = TicketFactory(registration__event=on, person__email="anouk@example.nl")

    entries, _ = _get(client, event_calendar_url(on))
    assert [(e.method, e.status, e.attendees) for e in entries] == [("PUBLISH", "CONFIRMED", ())]

    entries, _ = _get(client, campaign_feed_url(campaign))
    assert {(e.summary, e.method, e.status) for e in entries} == {
        ("Open dag", "PUBLISH", "CONFIRMED"),
        ("Afgelast", "PUBLISH", "CANCELLED"),
    }

    entries, _ = _get(client, organisation_feed_url(organisation))
    assert [(e.summary, e.status) for e in entries] == [("Open dag", "CONFIRMED")]

    # The attendee's own download from the personal link: a personal invite; once the event
    # is cancelled, its cancellation (never a REQUEST that says CANCELLED).
    token = participant_links.ticket_token(ticket)
    url = reverse("participants:ticket_ics", kwargs={"token": token})
    entries, _ = _get(client, url)
    assert [(e.method, e.status, e.attendees) for e in entries] == [
        ("REQUEST", "CONFIRMED", ("anouk@example.nl",))
    ]
    event_cancel(event=on)
    entries, _ = _get(client, url)
    assert [(e.method, e.status, e.attendees) for e in entries] == [
        ("CANCEL", "CANCELLED", ("anouk@example.nl",))
    ]


def test_a_feed_without_events_is_still_a_valid_calendar(client):
    """RFC 5545 3.6: a VCALENDAR holds at least one component. An organisation without
    tickets, or a campaign without public events, gets its VTIMEZONE as that component."""
    lonely = OrganisationFactory()
    empty_campaign = CampaignFactory()
    for url in (organisation_feed_url(lonely), campaign_feed_url(empty_campaign)):
        entries, content = _get(client, url)
        assert entries == []
        cal = Calendar.from_ical(content)
        assert [c.name for c in cal.subcomponents] == ["VTIMEZONE"]
        assert [c.name for c in vobject.readOne(content.decode()).components()] == ["VTIMEZONE"]


# --- the renderer's rules, and the VTIMEZONE for every date ---------------------------------------


def _item(**changes) -> CalendarEvent:
    start = datetime(2030, 6, 3, 13, 0, tzinfo=AMS)
    values = {
        "uid": "event-1@example.nl",
        "sequence": 3,
        "summary": "Congres",
        "description": "",
        "starts_at": start,
        "ends_at": start + timedelta(hours=4),
        "location": "Jaarbeurs",
        "url": "",
        "cancelled": False,
    }
    return CalendarEvent(**{**values, **changes})


def test_renderer_refuses_an_invite_that_contradicts_itself():
    who = CalendarAttendee(name="Anna", email="anna@example.nl")
    common = {"organiser_name": "Ministerie", "organiser_email": "events@example.nl"}
    with pytest.raises(ValueError):
        render_ics(events=[_item(cancelled=True)], method="REQUEST", attendee=who, **common)
    with pytest.raises(ValueError):
        render_ics(
            events=[_item()], method="REQUEST", attendee=who, attendee_removed=True, **common
        )
    with pytest.raises(ValueError):
        render_ics(events=[_item()], method="CANCEL", attendee_removed=True, **common)
    # The removal of one attendee from a cancelled event is a cancellation all the same.
    (entry,) = read_calendar(
        render_ics(
            events=[_item(cancelled=True)],
            method="CANCEL",
            attendee=who,
            attendee_removed=True,
            **common,
        )
    )
    assert entry.status == "CANCELLED"


def _instants():
    """Every 1001 hours from 1981 to 2100 (every hour of the day, every weekday, every month),
    plus each hour around each change of summer time, including the hour that happens twice
    in October (and in September until 1995)."""
    instant = datetime(1981, 1, 1, tzinfo=UTC)
    while instant.year < 2100:
        yield instant
        instant += timedelta(hours=1001)
    for year in range(1981, 2100):
        for month, days in ((3, 31), (9, 30), (10, 31)):
            last_sunday = max(
                datetime(year, month, day, tzinfo=UTC)
                for day in range(days - 6, days + 1)
                if datetime(year, month, day).weekday() == 6
            )
            # The change is at 01:00 UTC: 00:30 and 01:30 UTC are either side of it.
            for hours in range(-1, 3):
                yield last_sunday + timedelta(hours=hours, minutes=30)


def test_both_parsers_place_every_date_at_its_amsterdam_time():
    """The VTIMEZONE is read by vobject/dateutil from its rules, not from the TZID name: each
    instant must come back as itself, in Amsterdam's offset at that instant."""
    instants = sorted(set(_instants()))
    items = [
        _item(uid=f"t{n}", starts_at=at, ends_at=at + timedelta(minutes=30))
        for n, at in enumerate(instants)
    ]
    content = render_ics(
        events=items, method="PUBLISH", organiser_name="x", organiser_email="events@example.nl"
    )
    vcal = vobject.readOne(content.decode("utf-8"))
    read = {vevent.uid.value: vevent.dtstart.value for vevent in vcal.vevent_list}
    ical = {str(v["UID"]): v.decoded("DTSTART") for v in Calendar.from_ical(content).walk("VEVENT")}
    wrong = []
    for n, at in enumerate(instants):
        local = at.astimezone(AMS)
        # The hour that happens twice is written in UTC (a TZID time means its first time).
        offset = timedelta(0) if local.fold else local.utcoffset()
        for parsed in (read[f"t{n}"], ical[f"t{n}"]):
            if parsed.astimezone(UTC) != at or parsed.utcoffset() != offset:
                wrong.append((at, parsed))
    assert not wrong, wrong[:5]


def test_an_ics_spec_with_a_bad_snapshot_is_refused_not_sent_wrong():
    ticket = TicketFactory()
    good = {"type": "ics", "event_id": ticket.event_id, "method": "REQUEST"}
    for snapshot in ({}, {"uid": "x"}, "nonsense", {**_item().to_snapshot(), "starts_at": "x"}):
        with pytest.raises(ValueError):
            render_attachment({**good, "ticket_id": ticket.pk, "event": snapshot})
    # The scheduling fields round-trip exactly; title and description are not copied.
    item = _item(last_modified=timezone.now(), description="Met ambassadeur Yara")
    snapshot = item.to_snapshot()
    assert "Yara" not in str(snapshot) and "summary" not in snapshot
    live = _item(sequence=0, starts_at=timezone.now(), summary="Nieuwe titel", description="")
    assert live.with_snapshot(snapshot) == _item(
        last_modified=item.last_modified, summary="Nieuwe titel", description=""
    )
    assert Ticket.objects.count() == 1
