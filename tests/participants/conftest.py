"""Fixtures for the registration tests: events, ticket types and short-hands for booking."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from participants.services import AttendeeInput
from tests.factories import EventFactory, QuestionFactory, TicketTypeFactory


@pytest.fixture
def event(db):
    return EventFactory(capacity=10, cancellation_deadline=timezone.now() + timedelta(days=20))


@pytest.fixture
def free_type(event):
    return TicketTypeFactory(event=event, name="Gratis", price_cents=0)


@pytest.fixture
def paid_type(event):
    return TicketTypeFactory(event=event, name="Betaald", price_cents=12500)


def attendee(tt, n: int | str = 0, **kw) -> AttendeeInput:
    return AttendeeInput(
        name=kw.pop("name", f"Deelnemer {n}"),
        email=kw.pop("email", f"deelnemer{n}@example.nl"),
        ticket_type_id=tt.pk,
        **kw,
    )


def book(event, tt, n: int | str = 0, count: int = 1, **kw):
    from participants.services import registration_create

    return registration_create(
        event=event,
        booker_name=kw.pop("booker_name", "Boeker"),
        booker_email=kw.pop("booker_email", f"boeker{n}@example.nl"),
        attendees=kw.pop("attendees", None) or [attendee(tt, f"{n}-{i}") for i in range(count)],
        **kw,
    )


def run_threads(n: int, target, *, max_connections: int = 16) -> list:
    """Run ``target(i)`` in ``n`` threads released together by a barrier; return the outcomes.

    Each thread uses its own database connection and closes it when done (the test database
    can then be dropped). ``max_connections`` caps how many threads talk to the database at
    once: PostgreSQL allows 100 clients and other test runs share the server, so 200 open
    connections at once would fail with "too many clients" rather than test our locking.
    """
    barrier = threading.Barrier(n)
    gate = threading.BoundedSemaphore(max_connections)
    outcomes: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        with gate:
            try:
                outcomes[i] = ("ok", target(i))
            except Exception as exc:  # noqa: BLE001 - every outcome is asserted by the test
                outcomes[i] = ("error", exc)
            finally:
                connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


@pytest.fixture
def no_mail_delivery(monkeypatch):
    """Keep outbox rows but do not render/send them after commit (eager Celery would render
    PDFs inside the booking threads; delivery is tested by communications)."""
    monkeypatch.setattr("communications.services._queue_send", lambda mail_id: None)


@pytest.fixture
def questions(event):
    return {
        "text": QuestionFactory(event=event, label="Dieetwensen", kind="text", required=False),
        "choice": QuestionFactory(
            event=event, label="Workshop", kind="choice", choices="A\nB", required=True
        ),
        "yes_no": QuestionFactory(event=event, label="Lunch?", kind="yes_no", required=True),
    }
