"""Fixtures for the payment tests: a fake Stripe on loopback, signed webhooks, bookings."""

import json
import threading
import time
from datetime import timedelta

import pytest
import stripe
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from participants.services import AttendeeInput, registration_create
from payments import stripe_gateway
from tests.factories import EventFactory, OrganisationFactory, TicketTypeFactory

from .fake_stripe import FakeStripe

WEBHOOK_SECRET = "whsec_test_secret_for_werkstress"


@pytest.fixture
def fake_stripe(settings):
    fake = FakeStripe().start()
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_SECRET_KEY = "sk_test_werkstress"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    stripe_gateway._client.cache_clear()
    yield fake
    fake.stop()
    stripe_gateway._client.cache_clear()


def sign(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A Stripe-Signature header made with Stripe's real scheme (HMAC-SHA256 of t.payload)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload}", secret)
    return f"t={timestamp},v1={signature}"


def post_event(client, event: dict, **sign_kwargs):
    payload = json.dumps(event)
    return client.post(
        reverse("payments:stripe_webhook"),
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, **sign_kwargs),
    )


@pytest.fixture
def paid_event(db):
    return EventFactory(
        capacity=10,
        payment_hold_minutes=20,
        cancellation_deadline=timezone.now() + timedelta(days=20),
    )


@pytest.fixture
def paid_type(paid_event):
    # € 121,00 incl. 21% VAT = € 100,00 + € 21,00: easy to check on the invoice.
    return TicketTypeFactory(event=paid_event, name="Congres", price_cents=12100)


def book(event, ticket_type, n=0, count=1, **kwargs):
    return registration_create(
        event=event,
        booker_name=kwargs.pop("booker_name", f"Boeker {n}"),
        booker_email=kwargs.pop("booker_email", f"boeker{n}@example.nl"),
        attendees=[
            AttendeeInput(
                name=f"Deelnemer {n}-{i}",
                email=f"deelnemer{n}-{i}@example.nl",
                ticket_type_id=ticket_type.pk,
            )
            for i in range(count)
        ],
        **kwargs,
    )


def book_by_invoice(event, ticket_type, n=0, count=1, organisation=None):
    organisation = organisation or OrganisationFactory(vat_number=f"NL{n:09d}B01")
    return book(event, ticket_type, n, count, organisation=organisation, payment_method="invoice")


def start_checkout(registration):
    from payments.services import checkout_start

    return checkout_start(
        registration=registration,
        success_url="http://testserver/done?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://testserver/cancel",
    )


def run_threads(n: int, target) -> list:
    """Run target(i) in n threads released together; each closes its own DB connection."""
    barrier = threading.Barrier(n)
    outcomes: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
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
    """Keep outbox rows but do not render/send them after commit: eager Celery would render
    PDFs inside the test threads; delivery itself is tested by communications."""
    monkeypatch.setattr("communications.services._queue_send", lambda mail_id: None)
