"""Suggested ambassadors: ranked by region, then work field, then availability, then load."""

from datetime import datetime, time

import pytest

from schools import selectors
from schools.models import AMSTERDAM, AvailabilityWindow
from schools.services import school_session_assign
from tests.factories import PersonFactory

from .conftest import THURSDAY, TUESDAY, AmbassadorFactory, make_request, weekly, work_field

pytestmark = pytest.mark.django_db


def names(suggestions):
    return [s.ambassador.person.name for s in suggestions]


def amb(name, **kwargs):
    return AmbassadorFactory(person=PersonFactory(name=name), **kwargs)


def test_region_beats_work_field_beats_availability_beats_load():
    hospitals = work_field("ziekenhuizen")
    care = work_field("vvt")
    request = make_request(work_field=hospitals, region_code="12")
    # Everyone is available on the Tuesday unless said otherwise.
    far_but_perfect = amb("A far", regions=["01"], work_field=hospitals)
    weekly(far_but_perfect)
    near_other_field = amb("B near other field", regions=["12"], work_field=care)
    weekly(near_other_field)
    amb("C near field unavailable", regions=["12"], work_field=hospitals)
    near_field_busy = amb("D near field busy", regions=["12", "01"], work_field=hospitals)
    weekly(near_field_busy)
    near_field_idle = amb("E near field idle", regions=["12"], work_field=hospitals)
    weekly(near_field_idle)
    # D already has a session that month (another school, another day).
    other = make_request(
        slots=[(datetime(2027, 3, 16).date(), time(10), time(11)), (THURSDAY, time(8), time(9))]
    )
    weekly(near_field_busy, weekday=1)
    school_session_assign(
        request=other, ambassador=near_field_busy, slot=other.slots.first(), user=None
    )

    ranked = selectors.ambassador_suggestions(request=request)

    assert names(ranked) == [
        "E near field idle",  # region + field + available + least load
        "D near field busy",  # same but one session that month
        "C near field unavailable",  # region + field, no window covers a preferred date
        "B near other field",  # region only
        "A far",  # work field and available, but another region
    ]
    top = ranked[0]
    assert (top.region_match, top.work_field_match, top.available) == (True, True, True)
    assert top.best_slot.date == TUESDAY
    assert ranked[1].sessions_this_month == 1 and ranked[1].load == 0.25
    assert ranked[2].available is False
    assert ranked[3].work_field_match is False and ranked[4].region_match is False


def test_no_work_field_wish_matches_every_field():
    request = make_request(work_field=None)
    a = amb("Anna", work_field=work_field("ggz"))
    assert selectors.ambassador_suggestions(request=request)[0].ambassador == a
    assert selectors.ambassador_suggestions(request=request)[0].work_field_match is True


def test_availability_weekly_and_one_off_windows_must_cover_the_whole_slot():
    request = make_request()  # Tuesday 10:00-11:30, Thursday 13:00-14:30
    weekly_morning = amb("Weekly")
    weekly(weekly_morning, weekday=1, start=time(9), end=time(11))  # ends too early
    one_off = amb("Once")
    AvailabilityWindow.objects.create(
        ambassador=one_off, date=THURSDAY, start_time=time(12), end_time=time(15)
    )
    wrong_day = amb("Wrong day")
    weekly(wrong_day, weekday=2)
    by_name = {
        s.ambassador.person.name: s for s in selectors.ambassador_suggestions(request=request)
    }
    assert [o.available for o in by_name["Weekly"].options] == [False, False]
    assert [o.available for o in by_name["Once"].options] == [False, True]
    assert by_name["Once"].best_slot.date == THURSDAY
    assert not by_name["Wrong day"].available
    # Windows are compared in Amsterdam time, whatever the server's zone.
    window = AvailabilityWindow(weekday=1, start_time=time(10), end_time=time(12))
    assert window.covers(
        datetime(2027, 3, 2, 10, tzinfo=AMSTERDAM), datetime(2027, 3, 2, 12, tzinfo=AMSTERDAM)
    )


def test_conflicting_slot_does_not_count_as_available():
    request = make_request()
    busy = amb("Busy")
    weekly(busy, weekday=1)
    other = make_request(slots=[(TUESDAY, time(10, 30), time(11)), (THURSDAY, time(8), time(9))])
    school_session_assign(request=other, ambassador=busy, slot=other.slots.first(), user=None)
    suggestion = selectors.ambassador_suggestions(request=request)[0]
    assert suggestion.options[0].available is True
    assert [c.code for c in suggestion.options[0].conflicts] == ["double_booking"]
    assert suggestion.available is False


def test_inactive_ambassadors_are_not_suggested():
    request = make_request()
    amb("Retired", is_active=False)
    assert selectors.ambassador_suggestions(request=request) == []
