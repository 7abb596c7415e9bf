"""Payments under real concurrency (PostgreSQL, threads with their own connections).

Controls show the invoice-number test bites when the counter lock is removed; the webhook
tests rely on the unique StripeEvent insert and the event lock, the hold test on the status
re-check under that lock.
"""

import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from communications.models import OutboxMail
from participants.models import Registration, Ticket
from payments import services
from payments.models import Invoice, InvoiceCounter, Payment, StripeEvent
from tests.factories import EventFactory, OrganisationFactory, TicketTypeFactory

from .conftest import book, book_by_invoice, run_threads, sign, start_checkout

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def post(event: dict):
    payload = json.dumps(event)
    return (
        Client()
        .post(
            reverse("payments:stripe_webhook"),
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=sign(payload),
        )
        .status_code
    )


@pytest.fixture
def open_session(fake_stripe, no_mail_delivery):
    event = EventFactory(capacity=10)
    ticket_type = TicketTypeFactory(event=event, price_cents=12100)
    registration = book(event, ticket_type, count=2)
    return registration, start_checkout(registration)


def test_the_same_event_delivered_concurrently_is_processed_once(fake_stripe, open_session):
    registration, payment = open_session
    obj = fake_stripe.complete_session(payment.stripe_session_id)
    event = fake_stripe.event("checkout.session.completed", obj)

    outcomes = run_threads(6, lambda i: post(event))

    assert outcomes == [("ok", 200)] * 6
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1
    assert OutboxMail.objects.filter(template="payment_received").count() == 1
    assert Invoice.objects.count() == 1


def test_two_events_for_one_session_concurrently_give_one_payment_and_one_confirmation(
    fake_stripe, open_session
):
    registration, payment = open_session
    obj = fake_stripe.complete_session(payment.stripe_session_id)
    events = [
        fake_stripe.event("checkout.session.completed", obj),
        fake_stripe.event("checkout.session.async_payment_succeeded", obj),
    ] * 3  # six deliveries: three of each, all at once

    outcomes = run_threads(len(events), lambda i: post(events[i]))

    assert outcomes == [("ok", 200)] * len(events)
    assert StripeEvent.objects.count() == 2
    registration.refresh_from_db()
    assert registration.status == Registration.Status.CONFIRMED
    assert Payment.objects.get().status == Payment.Status.PAID
    assert OutboxMail.objects.filter(key=f"booking_confirmed:{registration.pk}").count() == 1
    assert OutboxMail.objects.filter(template="payment_received").count() == 1
    assert Ticket.objects.filter(event=registration.event, status=Ticket.Status.VALID).count() == 2
    assert Invoice.objects.count() == 1


def test_hold_expiry_releases_each_booking_once_under_concurrent_runs(
    fake_stripe, no_mail_delivery
):
    event = EventFactory(capacity=10)
    ticket_type = TicketTypeFactory(event=event, price_cents=5000)
    bookings = [book(event, ticket_type, n=i, count=2) for i in range(5)]  # event full
    for registration in bookings[:3]:
        start_checkout(registration)
    Registration.objects.filter(pk__in=[r.pk for r in bookings]).update(
        hold_expires_at=timezone.now() - timedelta(minutes=1)
    )

    outcomes = run_threads(4, lambda i: services.holds_expire())

    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    assert sum(value for _, value in outcomes) == 5  # each booking expired by exactly one run
    assert set(Registration.objects.values_list("status", flat=True)) == {"expired"}
    assert not Ticket.objects.filter(event=event, status__in=Ticket.HOLDS_PLACE).exists()
    assert OutboxMail.objects.filter(template="booking_expired").count() == 5
    assert {s["status"] for s in fake_stripe.sessions.values()} == {"expired"}
    assert set(Payment.objects.values_list("status", flat=True)) == {"expired"}
    # The released places can be booked again.
    assert book(event, ticket_type, n=99, count=10).status == Registration.Status.AWAITING_PAYMENT


def test_hold_expiry_racing_a_payment_ends_confirmed_with_correct_seats(fake_stripe, open_session):
    registration, payment = open_session
    Registration.objects.filter(pk=registration.pk).update(
        hold_expires_at=timezone.now() - timedelta(seconds=1)
    )
    obj = fake_stripe.complete_session(payment.stripe_session_id)  # paid just in time
    event = fake_stripe.event("checkout.session.completed", obj)

    jobs = [lambda: services.holds_expire(), lambda: post(event)]
    outcomes = run_threads(2, lambda i: jobs[i]())

    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    registration.refresh_from_db()
    assert registration.status == Registration.Status.CONFIRMED
    assert Payment.objects.get().status == Payment.Status.PAID
    held = Ticket.objects.filter(event=registration.event, status__in=Ticket.HOLDS_PLACE)
    assert held.count() == 2 and set(held.values_list("status", flat=True)) == {"valid"}


def _invoice_bookings(n: int):
    # One event per booking so only the invoice counter is shared between the threads.
    pairs = []
    for _ in range(n):
        event = EventFactory(capacity=5)
        pairs.append((event, TicketTypeFactory(event=event, price_cents=2500)))
    organisation = OrganisationFactory(region=None)
    return run_threads(
        n,
        lambda i: book_by_invoice(*pairs[i], n=i, organisation=organisation),
    )


def test_invoice_numbers_are_gap_free_under_concurrent_bookings(no_mail_delivery):
    outcomes = _invoice_bookings(30)

    assert all(kind == "ok" for kind, _ in outcomes), [v for k, v in outcomes if k == "error"]
    year = timezone.localdate().year
    sequences = sorted(Invoice.objects.filter(year=year).values_list("sequence", flat=True))
    assert sequences == list(range(1, 31))
    assert InvoiceCounter.objects.get(year=year).last_number == 30


def test_control_without_the_counter_lock_numbers_collide(no_mail_delivery, monkeypatch):
    """The same load with the counter read without FOR UPDATE (and a little latency between
    read and write) hands out the same number twice: the lock is what keeps numbers unique."""

    def unlocked_allocate(*, year):
        counter, _ = InvoiceCounter.objects.get_or_create(year=year)
        time.sleep(0.02)
        InvoiceCounter.objects.filter(pk=year).update(last_number=counter.last_number + 1)
        return counter.last_number + 1

    monkeypatch.setattr(services, "_number_allocate", unlocked_allocate)
    outcomes = _invoice_bookings(30)

    failed = [v for kind, v in outcomes if kind == "error"]
    sequences = list(Invoice.objects.values_list("sequence", flat=True))
    # Collisions show up as failed bookings (unique year+sequence) or numbers != 1..30.
    assert failed or sorted(sequences) != list(range(1, 31))


def test_places_released_by_hold_expiry_are_sold_once_to_concurrent_bookers(
    fake_stripe, no_mail_delivery
):
    """Expiry runs and new bookings hit a full event at the same moment: every released place
    is sold at most once and every booking that succeeded holds a real place."""
    from common.errors import RuleViolation

    event = EventFactory(capacity=10)
    ticket_type = TicketTypeFactory(event=event, price_cents=5000)
    stale = [book(event, ticket_type, n=i, count=2) for i in range(5)]
    Registration.objects.filter(pk__in=[r.pk for r in stale]).update(
        hold_expires_at=timezone.now() - timedelta(minutes=1)
    )

    def job(i):
        if i < 3:
            return services.holds_expire()
        try:
            return book(event, ticket_type, n=100 + i).pk
        except RuleViolation as exc:
            assert exc.code == "sold_out"
            return None

    outcomes = run_threads(23, job)

    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    booked = [value for kind, value in outcomes[3:] if value]
    held = Ticket.objects.filter(event=event, status__in=Ticket.HOLDS_PLACE)
    assert held.count() == len(booked) <= 10
    assert set(held.values_list("registration_id", flat=True)) == set(booked)
    assert not Registration.objects.filter(
        pk__in=[r.pk for r in stale], status=Registration.Status.AWAITING_PAYMENT
    ).exists()
