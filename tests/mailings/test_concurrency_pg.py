"""A double click on "send" from two requests at once, on real PostgreSQL.

Two layers keep it at one mail per person: the mailing row lock (the second request waits,
then sees "already sent") and the outbox key `mailing:{id}:{email}`. The control removes the
lock: both requests then pass the status check (two "mailing.send" audit entries), and the
outbox key alone still keeps it at one mail per address.
"""

import contextlib
import threading
from types import SimpleNamespace

import pytest
from django.db import connection

from communications.models import OutboxMail
from mailings import selectors, services
from mailings.models import Mailing
from privacy.models import AuditEntry
from tests.factories import EventFactory, UserFactory

from .helpers import attendee, attendees_mailing

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def no_mail_delivery(monkeypatch):
    monkeypatch.setattr("communications.services._queue_send", lambda mail_id: None)


@pytest.fixture
def widened(monkeypatch):
    """Hold each request after its status check until the other arrives (at most 1 s)."""
    barrier = threading.Barrier(2)
    original = selectors.mailing_recipients

    def slow(**kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=1)
        return original(**kwargs)

    monkeypatch.setattr(selectors, "mailing_recipients", slow)


def double_click(mailing, user) -> list:
    start = threading.Barrier(2)
    outcomes: list = [None, None]

    def run(i: int) -> None:
        start.wait()
        try:
            outcomes[i] = ("ok", services.mailing_send(mailing=mailing, user=user))
        except Exception as exc:  # noqa: BLE001 - every outcome is asserted
            outcomes[i] = ("error", getattr(exc, "code", repr(exc)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def setup_mailing():
    user = UserFactory(is_staff=True)
    event = EventFactory()
    for n in range(5):
        attendee(event, name=f"P{n}", email=f"p{n}@example.nl")
    return attendees_mailing(event, user), user


def test_two_concurrent_sends_queue_one_mail_per_person(widened):
    mailing, user = setup_mailing()
    outcomes = double_click(mailing, user)
    assert sorted(outcomes) == [("error", "already_sent"), ("ok", 5)]
    assert OutboxMail.objects.filter(template="mailing").count() == 5
    assert AuditEntry.objects.filter(action="mailing.send").count() == 1


def test_control_without_the_row_lock_both_pass_but_keys_hold(widened, monkeypatch):
    mailing, user = setup_mailing()
    unlocked = SimpleNamespace(
        objects=SimpleNamespace(select_for_update=lambda: Mailing.objects.all()),
        Status=Mailing.Status,
    )
    monkeypatch.setattr(services, "Mailing", unlocked)
    outcomes = double_click(mailing, user)
    # The race is real: both requests got past "already sent?"...
    assert outcomes == [("ok", 5), ("ok", 5)]
    assert AuditEntry.objects.filter(action="mailing.send").count() == 2
    # ...and the outbox key still allows one mail per address.
    assert OutboxMail.objects.filter(template="mailing").count() == 5
