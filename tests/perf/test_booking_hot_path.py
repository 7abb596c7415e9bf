"""The booking hot path's batching: what it changed must keep the guarantees it replaced."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from communications import services as mail_services
from communications.models import OutboxMail
from participants import services
from participants.models import Person, Ticket
from tests.factories import EventFactory, TicketTypeFactory

pytestmark = pytest.mark.django_db


def _mail(key: str, to: str = "a@example.nl") -> dict:
    return {"key": key, "template": "booking_confirmed", "to_email": to, "language": "en"}


def test_batch_inserts_new_keys_and_returns_existing_rows_unchanged(
    django_capture_on_commit_callbacks,
):
    existing = mail_services.mail_enqueue(
        key="k-old", template="ticket_confirmed", to_email="x@e.nl"
    )
    with django_capture_on_commit_callbacks() as queued:
        rows = mail_services.mail_enqueue_many(
            mails=[_mail("k-new-1"), _mail("k-old", "changed@e.nl"), _mail("k-new-2")]
        )
    assert [r.key for r in rows] == ["k-new-1", "k-old", "k-new-2"]
    assert rows[1].pk == existing.pk
    assert rows[1].to_email == "x@e.nl" and rows[1].template == "ticket_confirmed"
    assert OutboxMail.objects.get(key="k-old").to_email == "x@e.nl"
    assert rows[0].pk and rows[2].pk and rows[0].pk != rows[2].pk
    stored = OutboxMail.objects.get(pk=rows[0].pk)
    assert (stored.key, stored.language, stored.created_at) == ("k-new-1", "en", rows[0].created_at)
    # Only the two new rows are queued for sending; the existing one was queued when created.
    assert len(queued) == 2


def test_a_key_repeated_within_one_batch_is_one_row_queued_once(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as queued:
        rows = mail_services.mail_enqueue_many(mails=[_mail("dup"), _mail("dup", "b@e.nl")])
    assert rows[0].pk == rows[1].pk
    assert OutboxMail.objects.filter(key="dup").count() == 1
    assert len(queued) == 1


def test_booking_mails_are_one_insert_and_people_one_insert():
    """Three attendees: the people, the tickets and all four mails each take one INSERT."""
    event = EventFactory(capacity=10)
    tt = TicketTypeFactory(event=event)
    with CaptureQueriesContext(connection) as ctx:
        reg = services.registration_create(
            event=event,
            booker_name="Boeker",
            booker_email="boeker@example.nl",
            attendees=[
                services.AttendeeInput(
                    name=f"D {i}", email=f"d{i}@example.nl", ticket_type_id=tt.pk
                )
                for i in range(3)
            ],
        )
    inserts = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("INSERT")]
    tables = [sql.split('"')[1] for sql in inserts]
    assert sorted(tables) == sorted(
        [
            "participants_person",
            "participants_registration",
            "participants_ticket",
            "communications_outboxmail",
        ]
    )
    assert Person.objects.filter(email__startswith="d").count() == 3
    assert Ticket.objects.filter(registration=reg).count() == 3
    assert OutboxMail.objects.filter(event=event).count() == 4


def _api_booking(client, event, tt, n: int, key: str):
    return client.post(
        "/api/v1/bookings/",
        {
            "event": event.pk,
            "booker": {"name": "HR", "email": f"hr{n}@example.nl"},
            "attendees": [{"name": f"D {n}", "email": f"d{n}@example.nl", "ticket_type": tt.pk}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_api_booking_writes_first_locks_last_and_needs_no_savepoint():
    """The event lock is held only for the checks and the commit: every insert of the booking
    comes before it. The API owns the transaction, so no savepoint round trips either."""
    from tests.api.conftest import make_token_client

    client = make_token_client()
    event = EventFactory(capacity=10)
    tt = TicketTypeFactory(event=event)
    with CaptureQueriesContext(connection) as ctx:
        response = _api_booking(client, event, tt, 1, "k-1")
    assert response.status_code == 201, response.json()
    statements = [q["sql"] for q in ctx.captured_queries]
    # One transaction and nothing nested in it: the test's own transaction turns the
    # request's BEGIN into the one SAVEPOINT seen here.
    assert len([s for s in statements if s.upper().startswith("SAVEPOINT")]) == 1
    if connection.vendor == "postgresql":
        lock = next(i for i, s in enumerate(statements) if "FOR NO KEY UPDATE" in s)
        inserts = [i for i, s in enumerate(statements) if s.startswith("INSERT")]
        tables = {statements[i].split('"')[1] for i in inserts if i < lock}
        assert {
            "participants_person",
            "participants_registration",
            "participants_ticket",
            "communications_outboxmail",
        } <= tables
        # After the lock: the checks, then only the stored response (no more inserts).
        assert [i for i in inserts if i > lock] == []


def test_api_booking_refused_under_the_lock_leaves_nothing_and_the_key_free():
    from api.models import IdempotencyRecord
    from participants.models import Registration
    from tests.api.conftest import make_token_client

    client = make_token_client()
    event = EventFactory(capacity=1)
    tt = TicketTypeFactory(event=event)
    assert _api_booking(client, event, tt, 1, "first").status_code == 201
    before = (Person.objects.count(), OutboxMail.objects.count())
    refused = _api_booking(client, event, tt, 2, "second")
    assert refused.status_code == 409 and refused.json()["code"] == "sold_out"
    assert (Person.objects.count(), OutboxMail.objects.count()) == before
    assert Registration.objects.filter(event=event).count() == 1
    assert not IdempotencyRecord.objects.filter(key="second").exists()
    # A place frees up: the same key books now (the refusal stored nothing to replay).
    event.capacity = 2
    event.save()
    assert _api_booking(client, event, tt, 2, "second").status_code == 201


def test_a_booking_for_a_full_event_is_refused_before_anything_is_written():
    """When an event sells out most requests come after: they are refused on an early count,
    without writing rows that would be rolled back or waiting for the event lock."""
    event = EventFactory(capacity=1)
    tt = TicketTypeFactory(event=event)
    first = [services.AttendeeInput(name="A", email="a@example.nl", ticket_type_id=tt.pk)]
    services.registration_create(
        event=event, booker_name="B", booker_email="b@example.nl", attendees=first
    )
    late = [services.AttendeeInput(name="C", email="c@example.nl", ticket_type_id=tt.pk)]
    with CaptureQueriesContext(connection) as ctx, pytest.raises(services.RuleViolation) as err:
        services.registration_create(
            event=event, booker_name="D", booker_email="d@example.nl", attendees=late
        )
    assert err.value.code == "sold_out"
    statements = [q["sql"].upper() for q in ctx.captured_queries]
    assert not [s for s in statements if s.startswith("INSERT") or "FOR NO KEY UPDATE" in s]
