"""iCalendar (RFC 5545 / iTIP RFC 5546) files for invites, cancellations and feeds."""

import functools
from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Timezone, vCalAddress, vText
from icalendar import Event as VEvent

from .data import CalendarAttendee, CalendarEvent

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
PRODID = "-//Werkstress events//werkstress-events//NL"
METHODS = ("REQUEST", "CANCEL", "PUBLISH")


@functools.cache
def _vtimezone() -> bytes:
    """The Europe/Amsterdam VTIMEZONE, serialised once per process.

    Deriving it from zoneinfo (every transition 1970-2038) and serialising it took about half
    of each .ics (profiled); it is the same bytes for every file, so it is computed once here
    and spliced in, exactly where `Calendar.add_missing_timezones` would put it.
    """
    return Timezone.from_tzid(AMSTERDAM.key).to_ical()


def _organizer(name: str, email: str) -> vCalAddress:
    organizer = vCalAddress(f"mailto:{email}")
    organizer.params["CN"] = vText(name)
    return organizer


def _attendee(attendee: CalendarAttendee, *, cancelled: bool) -> vCalAddress:
    address = vCalAddress(f"mailto:{attendee.email}")
    address.params["CN"] = vText(attendee.name)
    address.params["ROLE"] = vText("REQ-PARTICIPANT")
    address.params["CUTYPE"] = vText("INDIVIDUAL")
    # The booking already is the acceptance; calendars should not prompt for an RSVP.
    address.params["PARTSTAT"] = vText("DECLINED" if cancelled else "ACCEPTED")
    address.params["RSVP"] = vText("FALSE")
    return address


def render_ics(
    *,
    events: Iterable[CalendarEvent],
    method: str,
    organiser_name: str,
    organiser_email: str,
    attendee: CalendarAttendee | None = None,
    calendar_name: str = "",
    stamp: datetime | None = None,
) -> bytes:
    """One VCALENDAR with a VEVENT per event and the Europe/Amsterdam VTIMEZONE.

    `method` REQUEST/CANCEL are personal invites (iTIP, one attendee); PUBLISH is a feed or a
    plain download. A CANCEL, or any event that is itself cancelled, gets STATUS:CANCELLED so
    calendars remove it; the UID stays the same and SEQUENCE (the event revision) tells them
    this copy is newer than the one they hold.
    """
    if method not in METHODS:
        raise ValueError(f"unknown iTIP method {method!r}")
    stamp = (stamp or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    if calendar_name:
        cal.add("x-wr-calname", calendar_name)
        cal.add("x-wr-timezone", "Europe/Amsterdam")
    for item in events:
        cancelled = item.cancelled or method == "CANCEL"
        vevent = VEvent()
        vevent.add("uid", item.uid)
        vevent.add("sequence", item.sequence)
        vevent.add("dtstamp", stamp)
        if item.last_modified:
            vevent.add("last-modified", item.last_modified.astimezone(UTC).replace(microsecond=0))
        vevent.add("dtstart", item.starts_at.astimezone(AMSTERDAM).replace(microsecond=0))
        vevent.add("dtend", item.ends_at.astimezone(AMSTERDAM).replace(microsecond=0))
        vevent.add("summary", item.summary)
        if item.description:
            vevent.add("description", item.description)
        if item.location:
            vevent.add("location", item.location)
        if item.url:
            vevent.add("url", item.url)
        vevent.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        vevent.add("transp", "OPAQUE")
        vevent.add("organizer", _organizer(organiser_name, organiser_email))
        if attendee is not None:
            vevent.add("attendee", _attendee(attendee, cancelled=cancelled))
        cal.add_component(vevent)
    body = cal.to_ical()
    # RFC 5545 3.6.5: every TZID used (DTSTART/DTEND above) needs its VTIMEZONE, placed before
    # the components that reference it.
    first = body.find(b"BEGIN:VEVENT\r\n")
    if first == -1:
        return body
    return body[:first] + _vtimezone() + body[first:]
