"""Calendar invites of outbox mails: the event as it was when the change was made.

A mail waits in the outbox for as long as the queue is behind; the event may change again
meanwhile. An invite must say what the change it announces said (its times, place, status and
SEQUENCE), or a "moved" mail sent after a later cancellation carries a cancellation under a
"moved" subject. So the business transaction that queues the mail stores a snapshot of the
scheduling data (UID, SEQUENCE, times, place, link, status) in the attachment spec
(`ics_attachment`), and the sender renders that; title and description are read at send time
(quiet edits, and free text that may name people stays out of outbox rows).

Infrastructure: it knows no domain app. The event is read through the fields of events.Event
(pk, title, description, starts_at, ends_at, venue_name, venue_address, online_url,
is_online, slug, status, revision, updated_at).
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from .renderers.data import CalendarEvent

# events.Event.Status.CANCELLED (this layer does not import the events app).
CANCELLED = "cancelled"
METHODS = ("REQUEST", "CANCEL")


def site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def event_uid(event) -> str:
    """Stable across revisions, so calendars update the entry instead of adding a second one."""
    return f"event-{event.pk}@{site_host()}"


def event_location(event) -> str:
    if event.venue_name:
        return ", ".join(part for part in (event.venue_name, event.venue_address) if part)
    return event.online_url


def event_public_url(event) -> str:
    try:
        return settings.SITE_URL + reverse("events:detail", kwargs={"slug": event.slug})
    except NoReverseMatch:  # the events app decides its URLs; a calendar must not fail on it
        return settings.SITE_URL


def calendar_event(event) -> CalendarEvent:
    """The calendar data of an event as it is now (SEQUENCE = its revision)."""
    description = event.description
    if event.online_url and event.venue_name:
        description = f"{description}\n\n{event.online_url}".strip()
    return CalendarEvent(
        uid=event_uid(event),
        sequence=event.revision,
        summary=event.title,
        description=description,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        location=event_location(event),
        url=event.online_url if event.is_online else event_public_url(event),
        cancelled=event.status == CANCELLED,
        last_modified=event.updated_at,
    )


def calendar_snapshot(event) -> dict:
    """The scheduling fields of `calendar_event` as plain JSON values (CalendarEvent.to_snapshot),
    for one or many `ics_attachment` calls."""
    return calendar_event(event).to_snapshot()


def ics_attachment(
    *,
    event,
    method: str,
    ticket_id: int | None = None,
    to_recipient: bool = False,
    attendee_removed: bool = False,
    snapshot: dict | None = None,
) -> dict:
    """The outbox attachment spec of a personal invite (docs/contracts.md, Outbox).

    Call it in the transaction that makes the change the mail announces, after the change
    (and after the revision bump) and under the lock that orders such changes, so the snapshot
    is the state the change left. `snapshot` (from `calendar_snapshot(event)`) saves building
    it again per mail of a batch.

    - `method` REQUEST: an invite or an update; CANCEL: the whole event is cancelled, or with
      `attendee_removed` only this attendee is (RFC 5546 3.2.5: the event goes on, no STATUS).
    - `ticket_id`: the ticket it is about; `to_recipient`: no ticket, the mail's addressee is
      the ATTENDEE. Either way the ATTENDEE of a mailed invite is the mail's addressee, taken
      from the outbox row at send time, so the spec holds no personal data.
    """
    if method not in METHODS:
        raise ValueError(f"ics attachment: unknown method {method!r}")
    if attendee_removed and method != "CANCEL":
        raise ValueError("ics attachment: removing an attendee is a CANCEL")
    spec = {"type": "ics", "event_id": event.pk, "method": method}
    if ticket_id is not None:
        spec["ticket_id"] = ticket_id
    elif to_recipient:
        spec["attendee"] = "recipient"
    if attendee_removed:
        spec["attendee_removed"] = True
    spec["event"] = snapshot if snapshot is not None else calendar_snapshot(event)
    return spec
