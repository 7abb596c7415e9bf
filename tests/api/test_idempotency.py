"""Idempotency-Key: a retried create returns the first response and never books twice."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from api import views as api_views
from api.models import IdempotencyRecord
from api.services import IdempotentResult
from api.tasks import purge_idempotency_records_task
from participants import services as participant_services
from participants.models import CampaignParticipation, Registration
from tests.api.conftest import TokenClient, make_token_client
from tests.factories import CampaignWeekFactory, EventFactory, TicketTypeFactory


def booking_body(event, ticket_type, email="piet@example.nl"):
    return {
        "event": event.pk,
        "booker": {"name": "Hanna de Vries", "email": "hr@example.nl"},
        "attendees": [{"name": "Piet", "email": email, "ticket_type": ticket_type.pk}],
    }


def post_booking(client, body, key):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post("/api/v1/bookings/", body, format="json", **headers)


@pytest.fixture
def booking_setup(db):
    event = EventFactory(allow_duplicate_emails=True)
    return event, TicketTypeFactory(event=event)


@pytest.mark.django_db
def test_sequential_replay_returns_first_response_and_books_once(org_client, booking_setup):
    body = booking_body(*booking_setup)
    first = post_booking(org_client, body, "key-1")
    second = post_booking(org_client, body, "key-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert Registration.objects.count() == 1
    # A new key is a new booking.
    assert post_booking(org_client, body, "key-2").json()["code"] != first.json()["code"]
    assert Registration.objects.count() == 2


@pytest.mark.django_db
def test_same_key_with_a_different_body_is_422(org_client, booking_setup):
    event, ticket_type = booking_setup
    post_booking(org_client, booking_body(event, ticket_type), "key-1")
    response = post_booking(
        org_client, booking_body(event, ticket_type, "ander@example.nl"), "key-1"
    )
    assert response.status_code == 422
    data = response.json()
    assert data["code"] == "idempotency_key_reused"
    assert (
        data["detail"] == "Deze Idempotency-Key is al gebruikt voor een ander verzoek. "
        "Gebruik een nieuwe sleutel voor een nieuw verzoek."
    )
    assert "Idempotency-Key" in data["errors"]
    assert Registration.objects.count() == 1


@pytest.mark.django_db
def test_keys_are_per_organisation(org_client, other_org_client, booking_setup):
    body = booking_body(*booking_setup)
    a = post_booking(org_client, body, "shared-key")
    b = post_booking(other_org_client, body, "shared-key")
    assert a.status_code == b.status_code == 201
    assert a.json()["code"] != b.json()["code"]
    assert Registration.objects.count() == 2


@pytest.mark.django_db
def test_failed_request_is_not_recorded_so_a_retry_runs_again(org_client, booking_setup):
    event, ticket_type = booking_setup
    event.capacity = 0
    event.save()
    body = booking_body(event, ticket_type)
    assert post_booking(org_client, body, "key-1").status_code == 409
    assert not IdempotencyRecord.objects.exists()
    event.capacity = 10
    event.save()
    assert post_booking(org_client, body, "key-1").status_code == 201
    assert Registration.objects.count() == 1


@pytest.mark.django_db
def test_records_expire_after_24_hours(org_client, booking_setup):
    body = booking_body(*booking_setup)
    post_booking(org_client, body, "old-key")
    post_booking(org_client, body, "fresh-key")
    IdempotencyRecord.objects.filter(key="old-key").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert IdempotencyRecord.objects.get(key="fresh-key").expires_at > timezone.now() + timedelta(
        hours=23
    )
    assert purge_idempotency_records_task.delay().get() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh-key"]
    # After expiry the key protects nothing any more: it is a new request.
    assert post_booking(org_client, body, "old-key").status_code == 201
    assert Registration.objects.count() == 3


@pytest.mark.django_db
def test_sign_up_replay(org_client):
    week = CampaignWeekFactory()
    body = {
        "event": week.pk,
        "contact": {"name": "Anna", "email": "anna@example.nl"},
        "activities": ["workshop"],
        "employees_reached": 10,
    }
    url = "/api/v1/participations/"
    first = org_client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="s-1")
    second = org_client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="s-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert CampaignParticipation.objects.count() == 1
    # Without the key the retry is a second sign-up attempt, refused by the business rule.
    assert org_client.post(url, body, format="json").status_code == 409


# --- Concurrency (PostgreSQL) ----------------------------------------------------------------

THREADS = 8


@pytest.fixture
def slow_booking(monkeypatch):
    """Widen the race window: each booking takes a little longer, so all requests are in flight
    together. This changes timing only; the real service still does the work."""
    real = participant_services.registration_create

    def slow(**kwargs):
        time.sleep(0.2)
        return real(**kwargs)

    monkeypatch.setattr(participant_services, "registration_create", slow)


def fire_concurrently(raw_key, body, key):
    barrier = threading.Barrier(THREADS)
    results = []
    lock = threading.Lock()

    def worker():
        try:
            client = TokenClient(raw_key)
            barrier.wait()
            response = post_booking(client, body, key)
            with lock:
                results.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_requests_book_exactly_once(booking_setup, slow_booking):
    client = make_token_client()
    results = fire_concurrently(client.raw_key, booking_body(*booking_setup), "race-key")
    assert len(results) == THREADS
    assert {status for status, _ in results} == {201}
    assert len({body["code"] for _, body in results}) == 1
    assert Registration.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_control_without_a_key_the_same_requests_book_many_times(booking_setup, slow_booking):
    client = make_token_client()
    results = fire_concurrently(client.raw_key, booking_body(*booking_setup), None)
    assert {status for status, _ in results} == {201}
    assert Registration.objects.count() == THREADS


def naive_idempotent_call(*, organisation, key, fingerprint, action):
    """The protection removed: look the key up first, store the response afterwards. Nothing
    stops two requests that both look before either has stored."""
    found = IdempotencyRecord.objects.filter(organisation=organisation, key=key).first()
    if found:
        return IdempotentResult(found.response_status, found.response_body, replayed=True)
    with transaction.atomic():
        status, body = action()
    IdempotencyRecord.objects.get_or_create(
        organisation=organisation,
        key=key,
        defaults={
            "request_hash": fingerprint,
            "response_status": status,
            "response_body": body,
            "expires_at": timezone.now() + timedelta(days=1),
        },
    )
    return IdempotentResult(status, body, replayed=False)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_control_check_then_insert_lets_duplicates_through(
    booking_setup, slow_booking, monkeypatch
):
    monkeypatch.setattr(api_views, "idempotent_call", naive_idempotent_call)
    client = make_token_client()
    results = fire_concurrently(client.raw_key, booking_body(*booking_setup), "race-key")
    assert {status for status, _ in results} == {201}
    assert Registration.objects.count() > 1


@pytest.mark.django_db
def test_expired_key_not_yet_purged_starts_afresh(org_client, booking_setup):
    body = booking_body(*booking_setup)
    first = post_booking(org_client, body, "k")
    IdempotencyRecord.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    second = post_booking(org_client, body, "k")
    assert second.status_code == 201
    assert second.json()["code"] != first.json()["code"]
    assert IdempotencyRecord.objects.get().response_body["code"] == second.json()["code"]


def test_purge_runs_periodically():
    from django.conf import settings

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "api.tasks.purge_idempotency_records_task" in tasks


@pytest.mark.django_db
def test_overlong_key_is_a_field_error(org_client, booking_setup):
    response = post_booking(org_client, booking_body(*booking_setup), "k" * 256)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert not Registration.objects.exists()


@pytest.mark.django_db
def test_same_body_in_another_key_order_is_the_same_request(org_client, booking_setup):
    body = booking_body(*booking_setup)
    reordered = dict(reversed(list(body.items())))
    first = post_booking(org_client, body, "k")
    second = post_booking(org_client, reordered, "k")
    assert second.status_code == 201 and second.json() == first.json()
