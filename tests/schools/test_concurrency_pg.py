"""Two organisers assign the same ambassador at the same moment (PostgreSQL, real threads).

The assign service locks the ambassador row and re-checks the conflict rules under the lock.
Each test widens the race window the same way: every thread waits at a barrier right after
its conflict check, so without the lock all threads have checked before any has written. The
control removes only the lock and shows that the same load then double-books.
"""

import contextlib
import threading
from datetime import time

import pytest
from django.db import connection

from common.errors import RuleViolation
from schools import selectors, services
from schools.models import Ambassador, SchoolSession

from .conftest import THURSDAY, TUESDAY, AmbassadorFactory, make_request

pytestmark = [
    pytest.mark.postgres,
    # Regions and work fields: the reference_data fixture (a flush removes migration data).
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _reference(reference_data):
    pass


@pytest.fixture(autouse=True)
def no_mail_delivery(monkeypatch):
    # Outbox rows are still written in the transaction; delivery is not what is tested here.
    monkeypatch.setattr("communications.services._queue_send", lambda mail_id: None)


def race(n: int, target) -> list:
    """Run target(i) in n threads released together; each waits again after its conflict
    check (widening the window between check and write), at most 1 s."""
    start = threading.Barrier(n)
    outcomes: list = [None] * n

    def run(i: int) -> None:
        start.wait()
        try:
            outcomes[i] = ("ok", target(i))
        except Exception as exc:  # noqa: BLE001 - every outcome is asserted
            outcomes[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


@pytest.fixture
def widened(monkeypatch):
    def install(parties: int):
        after_check = threading.Barrier(parties)
        real = selectors.ambassador_conflicts

        def checked_then_wait(**kwargs):
            conflicts = real(**kwargs)
            # With the lock the others are still queued: nobody comes, the wait times out.
            with contextlib.suppress(threading.BrokenBarrierError):
                after_check.wait(timeout=1)
            return conflicts

        monkeypatch.setattr(selectors, "ambassador_conflicts", checked_then_wait)

    return install


@pytest.fixture
def unlocked(monkeypatch):
    """The control: the ambassador lock becomes a plain read."""
    monkeypatch.setattr(
        services,
        "_lock_ambassador",
        lambda pk: Ambassador.objects.select_related("person").get(pk=pk),
    )


def overlapping_requests(n: int):
    # Each school proposes Tuesday at a slightly different time; all overlap 10:00-11:00.
    return [
        make_request(slots=[(TUESDAY, time(9, 45 + i), time(11)), (THURSDAY, time(8), time(9))])
        for i in range(n)
    ]


def assign_each(requests, ambassador):
    def target(i):
        request = requests[i]
        return services.school_session_assign(
            request=request, ambassador=ambassador, slot=request.slots.get(date=TUESDAY), user=None
        )

    return target


def test_two_organisers_same_ambassador_overlapping_exactly_one_wins(widened):
    ambassador = AmbassadorFactory()
    requests = overlapping_requests(2)
    widened(2)
    outcomes = race(2, assign_each(requests, ambassador))
    wins = [v for kind, v in outcomes if kind == "ok"]
    errors = [v for kind, v in outcomes if kind == "error"]
    assert len(wins) == 1
    assert len(errors) == 1 and isinstance(errors[0], RuleViolation), errors
    assert errors[0].code == "double_booking"
    assert SchoolSession.objects.filter(ambassador=ambassador).count() == 1
    # The loser's request is still open for another ambassador.
    statuses = sorted(
        r.status for r in type(requests[0]).objects.filter(pk__in=[r.pk for r in requests])
    )
    assert statuses == ["open", "planned"]


def test_control_without_the_lock_double_books(widened, unlocked):
    ambassador = AmbassadorFactory()
    requests = overlapping_requests(2)
    widened(2)
    outcomes = race(2, assign_each(requests, ambassador))
    assert [kind for kind, _v in outcomes] == ["ok", "ok"], outcomes
    assert SchoolSession.objects.filter(ambassador=ambassador).count() == 2


def test_many_organisers_monthly_maximum_holds(widened):
    # Eight schools on eight different days of the same month; the maximum is two.
    ambassador = AmbassadorFactory(max_sessions_per_month=2)
    requests = [
        make_request(
            slots=[
                (TUESDAY.replace(day=2 + 3 * i), time(10), time(11)),
                (THURSDAY, time(7), time(8)),
            ]
        )
        for i in range(8)
    ]

    def target(i):
        request = requests[i]
        return services.school_session_assign(
            request=request, ambassador=ambassador, slot=request.slots.first(), user=None
        )

    widened(8)
    outcomes = race(8, target)
    errors = [v for kind, v in outcomes if kind == "error"]
    assert sum(kind == "ok" for kind, _v in outcomes) == 2
    assert {getattr(e, "code", repr(e)) for e in errors} == {"monthly_maximum"}
    assert SchoolSession.objects.filter(ambassador=ambassador).count() == 2


def test_two_organisers_same_request_different_ambassadors_one_wins():
    request = make_request()
    first, second = AmbassadorFactory(), AmbassadorFactory()
    slot = request.slots.first()
    outcomes = race(
        2,
        lambda i: services.school_session_assign(
            request=request, ambassador=(first, second)[i], slot=slot, user=None
        ),
    )
    errors = [v for kind, v in outcomes if kind == "error"]
    assert len(errors) == 1 and errors[0].code == "not_open"
    assert SchoolSession.objects.filter(request=request).count() == 1
