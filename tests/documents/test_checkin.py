"""Check-in: the service's outcomes, the organiser page, the API, and the race on PostgreSQL."""

import contextlib
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from common.errors import RuleViolation
from participants import checkin
from participants.checkin import ticket_check_in
from participants.models import Registration, Ticket
from tests.factories import EventFactory, RegistrationFactory, TicketFactory, UserFactory


def _event_in_progress(**kwargs):
    # Started an hour ago: inside its check-in window (the window itself: test_checkin_window).
    return EventFactory(starts_at=timezone.now() - timedelta(hours=1), **kwargs)


@pytest.fixture
def ticket(db):
    return TicketFactory(person__name="Kees Bakker", registration__event=_event_in_progress())


def _refusal(**kwargs) -> RuleViolation:
    with pytest.raises(RuleViolation) as info:
        ticket_check_in(**kwargs)
    return info.value


@pytest.mark.django_db
def test_first_check_in_records_time(ticket, organiser):
    before = timezone.now()
    result = ticket_check_in(secret=f"  {ticket.secret}\n", event=ticket.event, user=organiser)
    ticket.refresh_from_db()
    assert result.pk == ticket.pk
    assert before <= ticket.checked_in_at <= timezone.now()


@pytest.mark.django_db
def test_second_check_in_refused_with_time_of_first(ticket, organiser):
    ticket_check_in(secret=ticket.secret, event=ticket.event, user=organiser)
    ticket.refresh_from_db()
    first = ticket.checked_in_at
    error = _refusal(secret=ticket.secret, event=ticket.event, user=organiser)
    assert error.code == "already_checked_in"
    assert timezone.localtime(first).strftime("%H:%M:%S") in str(error.message)
    ticket.refresh_from_db()
    assert ticket.checked_in_at == first


@pytest.mark.django_db
def test_refusals_have_distinct_codes(ticket, organiser):
    event = ticket.event
    assert _refusal(secret="", event=event, user=organiser).code == "ticket_code_missing"
    assert _refusal(secret="no-such-code", event=event, user=organiser).code == "ticket_unknown"

    other = TicketFactory()
    error = _refusal(secret=other.secret, event=event, user=organiser)
    assert error.code == "ticket_other_event"
    assert other.event.title in str(error.message)

    cancelled = TicketFactory(registration__event=event, status=Ticket.Status.CANCELLED)
    assert _refusal(secret=cancelled.secret, event=event, user=organiser).code == (
        "ticket_cancelled"
    )
    reserved = TicketFactory(
        registration=RegistrationFactory(event=event, status=Registration.Status.AWAITING_PAYMENT),
        status=Ticket.Status.RESERVED,
    )
    assert _refusal(secret=reserved.secret, event=event, user=organiser).code == (
        "ticket_not_valid"
    )
    # Nothing was checked in by any refusal.
    assert not Ticket.objects.filter(checked_in_at__isnull=False).exists()


@pytest.mark.django_db
def test_checkin_page_staff_only(client, ticket):
    url = f"/nl/events/{ticket.event_id}/checkin/"
    assert client.get(url).status_code == 302  # to login
    client.force_login(UserFactory())
    assert client.get(url).status_code == 403
    assert client.post(url, {"secret": ticket.secret}).status_code == 403
    ticket.refresh_from_db()
    assert ticket.checked_in_at is None


@pytest.mark.django_db
def test_checkin_page_shows_result(organiser_client, ticket):
    url = f"/nl/events/{ticket.event_id}/checkin/"
    page = organiser_client.get(url)
    assert page.status_code == 200
    assert b"autofocus" in page.content and b'for="id_secret"' in page.content
    assert "camera=(self)" in page["Permissions-Policy"]
    assert "microphone=()" in page["Permissions-Policy"]
    ok = organiser_client.post(url, {"secret": ticket.secret})
    assert ok.status_code == 200
    assert b'role="status"' in ok.content and "Kees Bakker" in ok.content.decode()
    again = organiser_client.post(url, {"secret": ticket.secret})
    assert again.status_code == 409
    assert b'role="alert"' in again.content
    unknown = organiser_client.post(url, {"secret": "nope"})
    assert unknown.status_code == 400
    assert 'aria-describedby="secret_help secret_error"' in unknown.content.decode()


@pytest.mark.django_db
def test_checkin_api(client, ticket, organiser):
    url = f"/api/v1/events/{ticket.event_id}/checkin/"
    assert client.post(url, {"secret": ticket.secret}).status_code == 403
    client.force_login(UserFactory())
    assert client.post(url, {"secret": ticket.secret}).status_code == 403
    client.force_login(organiser)
    response = client.post(url, {"secret": ticket.secret}, content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "checked_in"
    assert body["attendee"] == "Kees Bakker" and body["ticket_id"] == ticket.pk
    again = client.post(url, {"secret": ticket.secret}, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "already_checked_in"
    empty = client.post(url, {}, content_type="application/json")
    assert empty.status_code == 400 and "secret" in empty.json()["errors"]
    other_event = _event_in_progress()
    wrong = client.post(
        f"/api/v1/events/{other_event.pk}/checkin/",
        {"secret": ticket.secret},
        content_type="application/json",
    )
    assert wrong.status_code == 409 and wrong.json()["code"] == "ticket_other_event"
    assert client.post("/api/v1/events/999999/checkin/", {"secret": "x"}).status_code == 404
    huge = "9" * 30  # beyond bigint: not found, never a database error
    assert client.post(f"/api/v1/events/{huge}/checkin/", {"secret": "x"}).status_code in (
        400,
        404,
    )
    assert client.get(f"/nl/events/{huge}/checkin/").status_code == 404
    assert client.get(f"/nl/communications/events/{huge}/certificates/").status_code == 404
    assert client.get(f"/nl/communications/certificate-runs/{huge}/").status_code == 404


def _race(ticket, user) -> list[str]:
    """Two scanners read the same code at once; both reach the write before either commits
    unless the row lock makes the second wait."""
    barrier = threading.Barrier(2)

    class SlowClock:
        @staticmethod
        def now():
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=2)
            return timezone.now()

    outcomes: list[str] = []
    lock = threading.Lock()

    def scan():
        try:
            ticket_check_in(secret=ticket.secret, event=ticket.event, user=user)
            result = "ok"
        except RuleViolation as exc:
            result = exc.code
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    original = checkin.timezone
    checkin.timezone = SlowClock
    try:
        threads = [threading.Thread(target=scan) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        checkin.timezone = original
    return sorted(outcomes)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_double_check_in_exactly_one_succeeds():
    ticket = TicketFactory(registration__event=_event_in_progress())
    user = UserFactory(is_staff=True)
    assert _race(ticket, user) == ["already_checked_in", "ok"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_control_without_row_lock_both_succeed(monkeypatch):
    # Control: with the lock removed the same interleaving admits the ticket twice, so the
    # test above would fail if the service lost its SELECT ... FOR UPDATE.
    monkeypatch.setattr(QuerySet, "select_for_update", lambda self, **kwargs: self)
    ticket = TicketFactory(registration__event=_event_in_progress())
    user = UserFactory(is_staff=True)
    assert _race(ticket, user) == ["ok", "ok"]
