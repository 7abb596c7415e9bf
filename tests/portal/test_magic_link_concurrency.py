"""One link, two clicks at the same moment: only one login. Needs PostgreSQL row locks."""

import threading
import time

import pytest
from django.db import connection, transaction

from accounts import services, tokens
from common.errors import RuleViolation
from tests.factories import UserFactory


def _wait_for_lock_waiter(deadline_seconds: float = 30.0) -> None:
    # Poll the server for a backend blocked on a row lock instead of sleeping a fixed time.
    end = time.monotonic() + deadline_seconds
    with connection.cursor() as cursor:
        while time.monotonic() < end:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the second redeem never waited for the row lock")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("locked", [True, False], ids=["row-lock", "control-without-lock"])
def test_a_link_clicked_twice_at_once_logs_in_once(locked, monkeypatch):
    user = UserFactory(email="tweeklik@example.nl")
    token = tokens.magic_link_token_make(user=user)
    if not locked:
        # Control: the same service without the row lock lets both clicks through.
        monkeypatch.setattr(
            services,
            "magic_link_user_from_token",
            lambda t, for_update=False: tokens.magic_link_user_from_token(t, for_update=False),
        )
    results: dict[str, str] = {}
    first_redeemed = threading.Event()
    release_first = threading.Event()

    def first():
        try:
            with transaction.atomic():
                services.magic_link_redeem(token=token)
                first_redeemed.set()
                # Keep the transaction open while the second click arrives.
                release_first.wait(30)
            results["first"] = "logged in"
        finally:
            connection.close()

    def second():
        first_redeemed.wait(30)
        try:
            services.magic_link_redeem(token=token)
            results["second"] = "logged in"
        except RuleViolation:
            results["second"] = "refused"
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    # With the lock the second click waits at SELECT ... FOR UPDATE and then sees the used link;
    # without it, it has already passed the check and only waits to write last_login.
    _wait_for_lock_waiter()
    release_first.set()
    for thread in threads:
        thread.join(30)

    if locked:
        assert results == {"first": "logged in", "second": "refused"}
    else:
        assert results == {"first": "logged in", "second": "logged in"}
