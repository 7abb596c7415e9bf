"""Races on real PostgreSQL row locks: two journalists, one interview slot; two organisers
offering the same spokesperson at overlapping times. Each with a control that removes the lock
and shows the race is real (both succeed)."""

import contextlib
import threading
from datetime import timedelta

import pytest
from django.db import connection

from press import services
from press.models import InterviewSlot, Spokesperson

from . import helpers as h

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def no_mail_delivery(monkeypatch):
    # Outbox rows are still written in the transaction; delivery is not what is tested here.
    monkeypatch.setattr("communications.services._queue_send", lambda mail_id: None)


@pytest.fixture
def widened(monkeypatch):
    """Hold each thread between its check and its write until the other arrives (at most 1 s):
    with the lock the other is queued on the row and never arrives, so the wait times out."""

    def arm():
        # Armed just before the race: setup code passing the hook must not break the barrier.
        after_check = threading.Barrier(2)

        def wait():
            with contextlib.suppress(threading.BrokenBarrierError):
                after_check.wait(timeout=1)

        monkeypatch.setattr(services, "_after_check", wait)

    return arm


def race(targets) -> list:
    start = threading.Barrier(len(targets))
    outcomes: list = [None] * len(targets)

    def run(i: int) -> None:
        start.wait()
        try:
            outcomes[i] = ("ok", targets[i]())
        except Exception as exc:  # noqa: BLE001 - every outcome is asserted
            outcomes[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(targets))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def _slot_race(arm):
    sp = h.spokesperson()
    m = h.moment()
    slot = services.interview_slot_create(
        moment=m,
        spokesperson=sp,
        starts_at=m.event.starts_at,
        ends_at=m.event.starts_at + timedelta(minutes=20),
    )
    invitations = [h.invite(m, h.journalist()) for _ in range(2)]
    for inv in invitations:
        services.press_invitation_respond(invitation=inv, accept=True)
    targets = [
        (lambda inv=inv: services.interview_slot_book(invitation=inv, slot=slot))
        for inv in invitations
    ]
    arm()
    return slot, invitations, race(targets)


def test_two_journalists_one_slot_exactly_one_wins(widened):
    slot, invitations, outcomes = _slot_race(widened)
    wins = [v for kind, v in outcomes if kind == "ok"]
    errors = [v for kind, v in outcomes if kind == "error"]
    assert len(wins) == 1, outcomes
    assert len(errors) == 1 and getattr(errors[0], "code", None) == "slot_taken", outcomes
    winner = invitations[outcomes.index(("ok", wins[0]))]
    assert InterviewSlot.objects.get(pk=slot.pk).invitation_id == winner.pk
    assert len(h.mails("press_interview_booked")) == 1


def test_control_without_the_slot_lock_both_are_told_they_won(widened, monkeypatch):
    monkeypatch.setattr(services, "_lock_slot", lambda pk: InterviewSlot.objects.get(pk=pk))
    _slot, _invitations, outcomes = _slot_race(widened)
    assert [kind for kind, _v in outcomes] == ["ok", "ok"], outcomes
    # Two confirmation mails for one slot: the lost update the lock prevents.
    assert len(h.mails("press_interview_booked")) == 2


def _spokesperson_race(arm):
    sp = h.spokesperson()
    m1, m2 = h.moment(), h.moment()
    start = m1.event.starts_at
    targets = [
        lambda: services.interview_slot_create(
            moment=m1, spokesperson=sp, starts_at=start, ends_at=start + timedelta(minutes=30)
        ),
        lambda: services.interview_slot_create(
            moment=m2,
            spokesperson=sp,
            starts_at=start + timedelta(minutes=10),
            ends_at=start + timedelta(minutes=40),
        ),
    ]
    arm()
    return sp, race(targets)


def test_spokesperson_overlap_race_one_refused(widened):
    sp, outcomes = _spokesperson_race(widened)
    kinds = sorted(kind for kind, _v in outcomes)
    assert kinds == ["error", "ok"], outcomes
    [error] = [v for kind, v in outcomes if kind == "error"]
    assert getattr(error, "code", None) == "spokesperson_busy"
    assert InterviewSlot.objects.filter(spokesperson=sp).count() == 1


def test_control_without_the_spokesperson_lock_double_booked(widened, monkeypatch):
    monkeypatch.setattr(services, "_lock_spokesperson", lambda pk: Spokesperson.objects.get(pk=pk))
    sp, outcomes = _spokesperson_race(widened)
    assert [kind for kind, _v in outcomes] == ["ok", "ok"], outcomes
    assert InterviewSlot.objects.filter(spokesperson=sp).count() == 2


def _move_race(arm):
    """One organiser moves a free slot onto a time while another offers a new slot of the
    same spokesperson at that time."""
    sp = h.spokesperson()
    m = h.moment()
    start = m.event.starts_at
    movable = services.interview_slot_create(
        moment=m,
        spokesperson=sp,
        starts_at=start + timedelta(hours=3),
        ends_at=start + timedelta(hours=3, minutes=30),
    )
    targets = [
        lambda: services.interview_slot_update(
            slot=movable, spokesperson=sp, starts_at=start, ends_at=start + timedelta(minutes=30)
        ),
        lambda: services.interview_slot_create(
            moment=m,
            spokesperson=sp,
            starts_at=start + timedelta(minutes=10),
            ends_at=start + timedelta(minutes=40),
        ),
    ]
    arm()
    return sp, race(targets)


def _overlapping_pairs(sp) -> int:
    slots = list(InterviewSlot.objects.filter(spokesperson=sp).order_by("starts_at"))
    return sum(1 for a, b in zip(slots, slots[1:], strict=False) if b.starts_at < a.ends_at)


def test_moving_a_slot_races_a_new_one_one_refused(widened):
    sp, outcomes = _move_race(widened)
    assert sorted(kind for kind, _v in outcomes) == ["error", "ok"], outcomes
    [error] = [v for kind, v in outcomes if kind == "error"]
    assert getattr(error, "code", None) == "spokesperson_busy"
    assert _overlapping_pairs(sp) == 0


def test_control_moving_without_the_spokesperson_lock_double_books(widened, monkeypatch):
    monkeypatch.setattr(services, "_lock_spokesperson", lambda pk: Spokesperson.objects.get(pk=pk))
    sp, outcomes = _move_race(widened)
    assert [kind for kind, _v in outcomes] == ["ok", "ok"], outcomes
    assert _overlapping_pairs(sp) == 1
