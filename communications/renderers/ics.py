"""iCalendar (RFC 5545 / iTIP RFC 5546) files for invites, cancellations and feeds."""

import functools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import (
    Calendar,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vCalAddress,
    vText,
)
from icalendar import Event as VEvent

from .data import CalendarAttendee, CalendarEvent

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
PRODID = "-//Werkstress events//werkstress-events//NL"
METHODS = ("REQUEST", "CANCEL", "PUBLISH")


@functools.cache
def _vtimezone() -> bytes:
    """The Europe/Amsterdam VTIMEZONE as yearly rules, serialised once per process.

    The EU rules: summer time (CEST, +02:00) from the last Sunday of March 02:00 until the last
    Sunday of September (1981-1995) or October (since 1996) 03:00. Written as RRULEs, as Outlook
    and Google write it, not as icalendar's `Timezone.from_tzid`, which lists every transition
    in one multi-valued RDATE ending in 2038: a second parser (vobject, through dateutil) read
    only the first value of that list and put every summer date an hour off; rules have no
    last year either.
    """
    timezone = Timezone()
    timezone.add("tzid", AMSTERDAM.key)
    timezone.add("x-lic-location", AMSTERDAM.key)
    # UNTIL is UTC (RFC 5545 3.3.10), set at the end of 1995: past that year's change under
    # every reading, also dateutil's, which drops the "Z" and compares it as local time.
    end_1995 = datetime(1995, 12, 31, tzinfo=UTC)
    observances = (
        (TimezoneDaylight, "CEST", 1, 2, datetime(1981, 3, 29, 2, 0), 3, None),
        (TimezoneStandard, "CET", 2, 1, datetime(1981, 9, 27, 3, 0), 9, end_1995),
        (TimezoneStandard, "CET", 2, 1, datetime(1996, 10, 27, 3, 0), 10, None),
    )
    for kind, name, before, after, onset, month, until in observances:
        rule = kind()
        rule.add("tzname", name)
        rule.add("tzoffsetfrom", timedelta(hours=before))
        rule.add("tzoffsetto", timedelta(hours=after))
        # DTSTART of an observance is local time as it was before the change (RFC 5545 3.6.5).
        rule.add("dtstart", onset)
        recurrence = {"freq": "yearly", "bymonth": month, "byday": "-1su"}
        if until is not None:
            recurrence["until"] = until
        rule.add("rrule", recurrence)
        timezone.add_component(rule)
    return timezone.to_ical()


def _local(value: datetime) -> datetime:
    """Amsterdam time for DTSTART/DTEND, or UTC for the repeated hour when summer time ends.

    A local time with TZID is read as its first occurrence (RFC 5545 3.3.5), so 02:30 on the
    last Sunday of October would be CEST even when the event is at 02:30 CET; that instant is
    written in UTC instead, which every reader takes as it is.
    """
    local = value.astimezone(AMSTERDAM).replace(microsecond=0)
    return local.astimezone(UTC) if local.fold else local


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
    attendee_removed: bool = False,
) -> bytes:
    """One VCALENDAR with the Europe/Amsterdam VTIMEZONE and a VEVENT per event.

    `method` REQUEST/CANCEL are personal invites (iTIP, one attendee); PUBLISH is a feed or a
    plain download. The UID stays the same across revisions and SEQUENCE (the event revision
    the copy describes) tells calendars which copy is newer. RFC 5546 3.2.5 gives CANCEL two
    meanings, told apart by STATUS:

    - the whole event is cancelled (a cancelled event, or a CANCEL without
      `attendee_removed`): STATUS:CANCELLED, calendars of everyone addressed drop it;
    - one attendee is removed while the event goes on (`attendee_removed`: a cancelled ticket,
      a journalist who declines): STATUS MUST NOT be present, the ATTENDEE is the one removed.

    A REQUEST for a cancelled event would contradict itself; it is refused (send a CANCEL).
    A calendar without events (an empty feed) still holds the VTIMEZONE: RFC 5545 3.6 wants
    at least one component.
    """
    if method not in METHODS:
        raise ValueError(f"unknown iTIP method {method!r}")
    if attendee_removed and (method != "CANCEL" or attendee is None):
        raise ValueError("removing an attendee is a CANCEL addressed to that attendee")
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
        if method == "REQUEST" and item.cancelled:
            raise ValueError("a REQUEST cannot invite to a cancelled event; send a CANCEL")
        removed_only = attendee_removed and not item.cancelled
        cancelled = item.cancelled or (method == "CANCEL" and not removed_only)
        vevent = VEvent()
        vevent.add("uid", item.uid)
        vevent.add("sequence", item.sequence)
        vevent.add("dtstamp", stamp)
        if item.last_modified:
            vevent.add("last-modified", item.last_modified.astimezone(UTC).replace(microsecond=0))
        vevent.add("dtstart", _local(item.starts_at))
        vevent.add("dtend", _local(item.ends_at))
        vevent.add("summary", item.summary)
        if item.description:
            vevent.add("description", item.description)
        if item.location:
            vevent.add("location", item.location)
        if item.url:
            vevent.add("url", item.url)
        if not removed_only:
            vevent.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        vevent.add("transp", "OPAQUE")
        vevent.add("organizer", _organizer(organiser_name, organiser_email))
        if attendee is not None:
            vevent.add("attendee", _attendee(attendee, cancelled=method == "CANCEL" or cancelled))
        cal.add_component(vevent)
    body = cal.to_ical()
    # RFC 5545 3.6.5: every TZID used (DTSTART/DTEND above) needs its VTIMEZONE, placed before
    # the components that reference it; an empty calendar gets it as its one component.
    first = body.find(b"BEGIN:VEVENT\r\n")
    if first == -1:
        first = body.rindex(b"END:VCALENDAR\r\n")
    return body[:first] + _vtimezone() + body[first:]
