"""Conflict rules: no double booking, a travel margin between sessions, the monthly maximum."""

from datetime import date, time

import pytest

from common.errors import RuleViolation
from communications.models import OutboxMail
from events.models import Event
from schools import selectors
from schools.models import AMSTERDAM, SchoolSession, SchoolSessionRequest
from schools.services import (
    school_session_assign,
    school_session_cancel,
    school_session_reschedule,
)

from .conftest import THURSDAY, TUESDAY, AmbassadorFactory, make_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def ambassador():
    return AmbassadorFactory(max_sessions_per_month=3)


def plan(ambassador, day, start, end):
    request = make_request(slots=[(day, start, end), (THURSDAY, time(7), time(7, 30))])
    return school_session_assign(
        request=request, ambassador=ambassador, slot=request.slots.get(date=day), user=None
    )


def attempt(ambassador, day, start, end):
    request = make_request(slots=[(day, start, end), (date(2027, 3, 26), time(7), time(7, 30))])
    slot = request.slots.get(date=day)
    return (
        request,
        slot,
        lambda: school_session_assign(request=request, ambassador=ambassador, slot=slot, user=None),
    )


def assert_refused(code, action, request):
    events, sessions, mails = (
        Event.objects.count(),
        SchoolSession.objects.count(),
        OutboxMail.objects.count(),
    )
    with pytest.raises(RuleViolation) as info:
        action()
    assert info.value.code == code
    assert info.value.errors["ambassador"]
    # Nothing was written: no event, no session, no mail, and the request is still open.
    assert (Event.objects.count(), SchoolSession.objects.count(), OutboxMail.objects.count()) == (
        events,
        sessions,
        mails,
    )
    request.refresh_from_db()
    assert request.status == SchoolSessionRequest.Status.OPEN
    return info.value


def test_double_booking_refused(ambassador):
    plan(ambassador, TUESDAY, time(10), time(11))
    request, _slot, action = attempt(ambassador, TUESDAY, time(10, 30), time(11, 30))
    exc = assert_refused("double_booking", action, request)
    assert "02-03-2027 10:00" in exc.message


def test_travel_margin_refused_inside_and_allowed_at_the_margin(ambassador, settings):
    settings.SCHOOL_SESSION_TRAVEL_MARGIN_MINUTES = 60
    plan(ambassador, TUESDAY, time(10), time(11))
    # Starts 59 minutes after the other ends: no time to travel.
    request, _slot, action = attempt(ambassador, TUESDAY, time(11, 59), time(13))
    assert_refused("travel_margin", action, request)
    # Ends 30 minutes before the other starts.
    request, _slot, action = attempt(ambassador, TUESDAY, time(8), time(9, 30))
    assert_refused("travel_margin", action, request)
    # Exactly the margin is enough.
    _request, _slot, action = attempt(ambassador, TUESDAY, time(12), time(13))
    assert action().status == SchoolSession.Status.PLANNED


def test_travel_margin_is_configurable(ambassador, settings):
    plan(ambassador, TUESDAY, time(10), time(11))
    settings.SCHOOL_SESSION_TRAVEL_MARGIN_MINUTES = 15
    _request, _slot, action = attempt(ambassador, TUESDAY, time(11, 15), time(12))
    assert action().status == SchoolSession.Status.PLANNED


def test_monthly_maximum_refused_and_counted_per_calendar_month(ambassador):
    for day in (2, 9, 16):
        plan(ambassador, date(2027, 3, day), time(10), time(11))
    request, _slot, action = attempt(ambassador, date(2027, 3, 31), time(10), time(11))
    exc = assert_refused("monthly_maximum", action, request)
    assert "3" in exc.message
    # April is a new month (the month is the Amsterdam calendar month).
    _request, _slot, action = attempt(ambassador, date(2027, 4, 1), time(0, 30), time(1))
    assert action().event.starts_at.astimezone(AMSTERDAM).month == 4


def test_cancelled_sessions_free_the_time_and_the_month(ambassador):
    session = plan(ambassador, TUESDAY, time(10), time(11))
    school_session_cancel(session=session)
    assert (
        selectors.ambassador_conflicts(
            ambassador=ambassador,
            starts_at=session.event.starts_at,
            ends_at=session.event.ends_at,
        )
        == []
    )
    _request, _slot, action = attempt(ambassador, TUESDAY, time(10), time(11))
    assert action().status == SchoolSession.Status.PLANNED


def test_a_request_is_planned_once(ambassador):
    request = make_request()
    school_session_assign(
        request=request, ambassador=ambassador, slot=request.slots.first(), user=None
    )
    with pytest.raises(RuleViolation) as info:
        school_session_assign(
            request=request, ambassador=AmbassadorFactory(), slot=request.slots.last(), user=None
        )
    assert info.value.code == "not_open"
    assert SchoolSession.objects.filter(request=request).count() == 1


def test_slot_of_another_request_refused(ambassador):
    request, other = make_request(), make_request()
    with pytest.raises(RuleViolation) as info:
        school_session_assign(
            request=request, ambassador=ambassador, slot=other.slots.first(), user=None
        )
    assert info.value.code == "invalid" and not info.value.conflict


def test_inactive_ambassador_refused(ambassador):
    ambassador.is_active = False
    ambassador.save(update_fields=["is_active"])
    request, _slot, action = attempt(ambassador, TUESDAY, time(10), time(11))
    assert_refused("ambassador_inactive", action, request)


# Moving a planned session is checked against the same rules (the session itself excluded).


def reschedule_refused(code, session, day, start, end):
    before = (session.event.starts_at, session.event.revision, OutboxMail.objects.count())
    with pytest.raises(RuleViolation) as info:
        school_session_reschedule(session=session, on=day, start_time=start, end_time=end)
    assert info.value.code == code and info.value.errors["ambassador"]
    session.event.refresh_from_db()
    assert (
        session.event.starts_at,
        session.event.revision,
        OutboxMail.objects.count(),
    ) == before


def test_reschedule_into_a_double_booking_refused(ambassador):
    plan(ambassador, TUESDAY, time(10), time(11))
    moving = plan(ambassador, TUESDAY, time(14), time(15))
    reschedule_refused("double_booking", moving, TUESDAY, time(10, 30), time(11, 30))


def test_reschedule_inside_the_travel_margin_refused(ambassador, settings):
    settings.SCHOOL_SESSION_TRAVEL_MARGIN_MINUTES = 60
    plan(ambassador, TUESDAY, time(10), time(11))
    moving = plan(ambassador, TUESDAY, time(14), time(15))
    reschedule_refused("travel_margin", moving, TUESDAY, time(11, 30), time(12, 30))


def test_reschedule_into_a_full_month_refused_within_the_month_allowed(ambassador):
    for day in (2, 9, 16):
        plan(ambassador, date(2027, 3, day), time(10), time(11))
    moving = plan(ambassador, date(2027, 4, 6), time(10), time(11))
    reschedule_refused("monthly_maximum", moving, date(2027, 3, 23), time(10), time(11))
    # A session does not conflict with itself: moving it within its own month or by an
    # overlapping half hour is fine even when that month is full.
    in_march = SchoolSession.objects.get(event__starts_at__date=TUESDAY)
    moved = school_session_reschedule(
        session=in_march, on=TUESDAY, start_time=time(10, 30), end_time=time(11, 30)
    )
    assert moved.event.revision == 1
