"""A parallel burst of password guesses at one account: django-axes checks the lockout before
the password and records the failure after it, so requests sent together could all be checked.
The attempts cap (an atomic cache counter: Redis INCR with CACHE_URL) admits at most its share.

A gate in front of the password check holds every request that got that far until all have
arrived (or a short timeout), so the burst really overlaps; the control without the cap lets all
of them through to the password check."""

import threading

import pytest
from django.db import connection
from django.test import Client

from accounts import login_limits
from accounts.models import User
from tests.accounts.conftest import LOGIN, Addresses, unique_email
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BURST = 12
FAILURE_LIMIT = 2


def burst(monkeypatch) -> int:
    """Send BURST wrong passwords for one account at once (each from its own address, so only
    the per-account rules apply); return how many reached the password check."""
    user = UserFactory(email=unique_email("burst"))
    addresses = Addresses()
    checked = []
    all_there = threading.Event()
    lock = threading.Lock()
    check_password = User.check_password

    def gated_check_password(self, raw_password):
        with lock:
            checked.append(1)
            if len(checked) == BURST:
                all_there.set()
        all_there.wait(timeout=2)
        return check_password(self, raw_password)

    monkeypatch.setattr(User, "check_password", gated_check_password)
    start = threading.Barrier(BURST)
    statuses = []

    def guess(n: int) -> None:
        try:
            start.wait()
            response = Client().post(
                LOGIN,
                {"username": user.email, "password": f"guess-{n}"},
                REMOTE_ADDR=addresses.ipv4(n),
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == BURST and set(statuses) <= {200, 429}, statuses
    return len(checked)


def test_a_parallel_burst_is_capped(settings, monkeypatch):
    settings.AXES_FAILURE_LIMIT = FAILURE_LIMIT
    cap = login_limits.ACCOUNT_ATTEMPTS_FACTOR * FAILURE_LIMIT
    assert cap < BURST
    assert burst(monkeypatch) <= cap


def test_control_without_the_cap_the_whole_burst_is_checked(settings, monkeypatch):
    settings.AXES_FAILURE_LIMIT = FAILURE_LIMIT
    monkeypatch.setattr(login_limits, "ACCOUNT_ATTEMPTS_FACTOR", 1000)
    assert burst(monkeypatch) == BURST
