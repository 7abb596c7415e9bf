"""Capacity under real concurrency (PostgreSQL): the event lock never lets a place be sold twice.

Each test has a control that disables the lock (and widens the race window between counting
and writing) and shows the same load then oversells, so the protection is what the test measures.
"""

import contextlib
import threading
import time

import pytest

from common.errors import RuleViolation
from communications.models import OutboxMail
from events.models import Event
from participants import services
from participants.models import Registration, Ticket, WaitingListEntry
from tests.factories import EventFactory, TicketTypeFactory

from .conftest import attendee, run_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ATTEMPTS = 200


def _book(event, tt, i):
    return services.registration_create(
        event=event,
        booker_name=f"Boeker {i}",
        booker_email=f"boeker{i}@example.nl",
        attendees=[attendee(tt, i)],
    )


def _hammer(event, tt):
    outcomes = run_threads(ATTEMPTS, lambda i: _book(event, tt, i))
    booked = [v for kind, v in outcomes if kind == "ok"]
    errors = [v for kind, v in outcomes if kind == "error"]
    return booked, errors


WAVE = 8  # bookings that count before any of them writes; ATTEMPTS is a multiple of it


@pytest.fixture
def unlocked(monkeypatch):
    """The control: lock_event becomes a plain read, and bookings count places in waves of
    WAVE: each counting transaction waits until WAVE of them have counted before it writes.
    That is the interleaving a loaded database produces by chance; forcing it makes the
    control fail the same way on every machine instead of depending on timing (a bare sleep
    once let a slow CI machine serialise the bookings and the control passed by luck)."""
    wave = threading.Barrier(WAVE, timeout=10)

    def plain_fetch(event_id):
        return Event.objects.get(pk=event_id)

    real_count = services._places_taken

    def count_in_waves(**kw):
        n = real_count(**kw)
        # The last wave may not fill: once the event looks full, later bookings are refused
        # on the early count and never reach this one. Its members go on after the timeout
        # (the barrier stays broken, so any later count goes on at once).
        with contextlib.suppress(threading.BrokenBarrierError):
            wave.wait()
        return n

    monkeypatch.setattr(services, "lock_event", plain_fetch)
    monkeypatch.setattr(services, "_places_taken", count_in_waves)


def test_event_capacity_is_never_oversold(no_mail_delivery):
    event = EventFactory(capacity=50)
    tt = TicketTypeFactory(event=event)
    booked, errors = _hammer(event, tt)
    assert len(booked) == 50
    assert {type(e) for e in errors} == {RuleViolation}, errors[:3]
    assert {e.code for e in errors} == {"sold_out"}
    assert len(errors) == ATTEMPTS - 50
    assert Ticket.objects.filter(event=event, status__in=Ticket.HOLDS_PLACE).count() == 50
    assert Registration.objects.filter(event=event).count() == 50


def test_control_without_lock_oversells(no_mail_delivery, unlocked):
    event = EventFactory(capacity=50)
    tt = TicketTypeFactory(event=event)
    booked, errors = _hammer(event, tt)
    assert not [e for e in errors if not isinstance(e, RuleViolation)], errors[:3]
    taken = Ticket.objects.filter(event=event, status__in=Ticket.HOLDS_PLACE).count()
    assert taken > 50, "without the lock the same load should oversell"


def test_ticket_type_capacity_is_never_oversold(no_mail_delivery):
    event = EventFactory(capacity=100)
    tt = TicketTypeFactory(event=event, capacity=10)
    booked, errors = _hammer(event, tt)
    assert len(booked) == 10
    assert {type(e) for e in errors} == {RuleViolation}, errors[:3]
    assert {e.code for e in errors} == {"ticket_type_sold_out"}
    assert Ticket.objects.filter(ticket_type=tt, status__in=Ticket.HOLDS_PLACE).count() == 10


def test_ticket_type_control_without_lock_oversells(no_mail_delivery, unlocked):
    event = EventFactory(capacity=100)
    tt = TicketTypeFactory(event=event, capacity=10)
    _hammer(event, tt)
    assert Ticket.objects.filter(ticket_type=tt, status__in=Ticket.HOLDS_PLACE).count() > 10


def _two_cancels_at_once(n_waiting=5):
    event = EventFactory(capacity=2)
    tt = TicketTypeFactory(event=event)
    regs = [_book(event, tt, i) for i in range(2)]
    waiting = [
        services.waitlist_join(
            event=event, ticket_type=tt, name=f"Wachter {i}", email=f"wachter{i}@example.nl"
        )
        for i in range(n_waiting)
    ]
    outcomes = run_threads(
        2, lambda i: services.registration_cancel(registration=regs[i]), max_connections=2
    )
    assert [kind for kind, _v in outcomes] == ["ok", "ok"], outcomes
    return event, waiting


def test_two_cancels_at_once_offer_two_places_to_the_first_two(no_mail_delivery):
    for _round in range(5):  # several rounds: the interleaving differs each time
        event, waiting = _two_cancels_at_once()
        statuses = [WaitingListEntry.objects.get(pk=e.pk).status for e in waiting]
        assert statuses == ["offered", "offered", "waiting", "waiting", "waiting"]
        assert [WaitingListEntry.objects.get(pk=e.pk).offer_count for e in waiting[:2]] == [1, 1]
        # One offer mail per person offered, never two.
        offers = OutboxMail.objects.filter(event=event, template="waitlist_offer")
        assert sorted(offers.values_list("key", flat=True)) == sorted(
            f"waitlist_offer:{e.pk}:1" for e in waiting[:2]
        )


def test_control_two_cancels_without_lock_go_wrong(no_mail_delivery, monkeypatch):
    """Without the lock each cancel counts only its own freed place (the other is not committed
    yet), so both offer their place to the same first person: one place is never offered."""

    def plain_fetch(event_id):
        return Event.objects.get(pk=event_id)

    real_offer = services._offer_free_places

    def slow_offer(*, event):
        time.sleep(0.05)  # let both transactions cancel their ticket before either counts
        return real_offer(event=event)

    monkeypatch.setattr(services, "lock_event", plain_fetch)
    monkeypatch.setattr(services, "_offer_free_places", slow_offer)
    wrong = 0
    for _round in range(3):
        event, waiting = _two_cancels_at_once()
        statuses = [WaitingListEntry.objects.get(pk=e.pk).status for e in waiting]
        wrong += statuses != ["offered", "offered", "waiting", "waiting", "waiting"]
    assert wrong, "without the lock concurrent cancels should mis-offer at least once"


def _sign_up(week, i):
    return services.participation_create(
        event=week,
        organisation={"name": f"Bedrijf {i}", "kvk_number": "11223344"},
        contact={"name": f"Contact {i}", "email": f"contact{i}@example.nl"},
        activities=["workshop"],
        activities_description="",
        employees_reached=10,
        listed_publicly=False,
    )


def test_simultaneous_sign_ups_of_one_organisation(no_mail_delivery):
    from participants.models import CampaignParticipation
    from tests.factories import CampaignWeekFactory

    week = CampaignWeekFactory()
    outcomes = run_threads(20, lambda i: _sign_up(week, i))
    ok = [v for kind, v in outcomes if kind == "ok"]
    errors = [v for kind, v in outcomes if kind == "error"]
    assert len(ok) == 1
    assert [type(e) for e in errors] == [RuleViolation] * 19, errors[:3]
    assert {e.code for e in errors} == {"already_participating"}
    assert CampaignParticipation.objects.filter(event=week).count() == 1


def test_sign_ups_without_lock_fall_back_on_constraints(no_mail_delivery, monkeypatch):
    """The second layer: with the lock removed every racing first sign-up of one KvK number
    tries to create the organisation and the participation; the unique constraints stop the
    duplicates and the service turns them into already_participating, never a database error.
    (Before that handling existed this test failed with IntegrityError.)"""
    from participants.models import CampaignParticipation
    from tests.factories import CampaignWeekFactory

    monkeypatch.setattr(services, "lock_event", lambda event_id: Event.objects.get(pk=event_id))
    real_clean = services._clean_organisation

    def slow_clean(data, errors):
        time.sleep(0.02)  # every thread looks the KvK number up before any has created it
        return real_clean(data, errors)

    monkeypatch.setattr(services, "_clean_organisation", slow_clean)
    week = CampaignWeekFactory()
    outcomes = run_threads(20, lambda i: _sign_up(week, i))
    errors = [v for kind, v in outcomes if kind == "error"]
    assert [type(e) for e in errors] == [RuleViolation] * 19, errors[:3]
    assert {e.code for e in errors} == {"already_participating"}
    assert CampaignParticipation.objects.filter(event=week).count() == 1
