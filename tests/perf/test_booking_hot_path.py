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
