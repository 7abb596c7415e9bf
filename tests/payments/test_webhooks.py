"""Signed Stripe webhooks: verification, at-most-once processing, ordering, late payments."""

import json
import time

import pytest
from django.urls import reverse

from communications.models import OutboxMail
from participants.models import Registration, Ticket
from payments.models import Invoice, Payment, Refund, StripeEvent

from .conftest import book, post_event, sign, start_checkout

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(fake_stripe, paid_event, paid_type, django_capture_on_commit_callbacks):
    """A booking awaiting payment with an open Checkout Session at the fake Stripe."""
    registration = book(paid_event, paid_type, count=2)
    payment = start_checkout(registration)
    return registration, payment


def completed(fake_stripe, payment, **kwargs):
    obj = fake_stripe.complete_session(payment.stripe_session_id, **kwargs)
    return fake_stripe.event("checkout.session.completed", obj)


def test_valid_signature_confirms_booking_and_issues_paid_invoice(
    client, fake_stripe, session, django_capture_on_commit_callbacks
):
    registration, payment = session
    response = post_event(client, completed(fake_stripe, payment))
    assert response.status_code == 200

    registration.refresh_from_db()
    payment.refresh_from_db()
    assert registration.status == Registration.Status.CONFIRMED
    assert set(registration.tickets.values_list("status", flat=True)) == {Ticket.Status.VALID}
    assert payment.status == Payment.Status.PAID
    assert payment.method == "ideal"  # read from the payment intent's charge
    invoice = Invoice.objects.get(registration=registration)
    assert invoice.status == Invoice.Status.PAID
    assert (invoice.total_net_cents, invoice.total_vat_cents) == (20000, 4200)
    mail = OutboxMail.objects.get(key=f"payment_received:{payment.pk}")
    assert mail.attachments == [{"type": "invoice_pdf", "invoice_id": invoice.pk}]


def test_bad_signature_is_400_and_changes_nothing(client, fake_stripe, session):
    registration, payment = session
    event = completed(fake_stripe, payment)
    response = post_event(client, event, secret="whsec_someone_else")
    assert response.status_code == 400
    # Tampered body with a signature of the original body.
    payload = json.dumps(event)
    header = sign(payload)
    tampered = payload.replace('"paid"', '"unpaid"', 1)
    response = client.post(
        reverse("payments:stripe_webhook"),
        data=tampered,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header,
    )
    assert response.status_code == 400
    no_header = client.post(
        reverse("payments:stripe_webhook"), data=payload, content_type="application/json"
    )
    assert no_header.status_code == 400
    registration.refresh_from_db()
    assert registration.status == Registration.Status.AWAITING_PAYMENT
    assert not StripeEvent.objects.exists()


def test_stale_timestamp_is_400(client, fake_stripe, session):
    registration, payment = session
    event = completed(fake_stripe, payment)
    response = post_event(client, event, timestamp=int(time.time()) - 301)
    assert response.status_code == 400
    registration.refresh_from_db()
    assert registration.status == Registration.Status.AWAITING_PAYMENT
    # Inside the tolerance it is accepted.
    assert post_event(client, event, timestamp=int(time.time()) - 200).status_code == 200


def test_the_same_event_three_times_is_processed_once(client, fake_stripe, session):
    registration, payment = session
    event = completed(fake_stripe, payment)
    for _ in range(3):
        assert post_event(client, event).status_code == 200
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1
    assert OutboxMail.objects.filter(key=f"booking_confirmed:{registration.pk}").count() == 1
    assert OutboxMail.objects.filter(template="payment_received").count() == 1
    assert Invoice.objects.count() == 1


def test_delayed_method_waits_for_async_success(client, fake_stripe, session):
    registration, payment = session
    obj = fake_stripe.complete_session(payment.stripe_session_id, method="sepa_debit", paid=False)
    assert (
        post_event(client, fake_stripe.event("checkout.session.completed", obj)).status_code == 200
    )
    registration.refresh_from_db()
    payment.refresh_from_db()
    assert registration.status == Registration.Status.AWAITING_PAYMENT
    assert payment.status == Payment.Status.OPEN
    assert payment.stripe_payment_intent_id == obj["payment_intent"]

    obj["payment_status"] = "paid"
    event = fake_stripe.event("checkout.session.async_payment_succeeded", obj)
    assert post_event(client, event).status_code == 200
    registration.refresh_from_db()
    assert registration.status == Registration.Status.CONFIRMED


def test_async_failure_marks_payment_failed_and_mails_a_retry_link(client, fake_stripe, session):
    registration, payment = session
    obj = fake_stripe.complete_session(payment.stripe_session_id, paid=False)
    event = fake_stripe.event("checkout.session.async_payment_failed", obj)
    assert post_event(client, event).status_code == 200
    payment.refresh_from_db()
    registration.refresh_from_db()
    assert payment.status == Payment.Status.FAILED
    assert registration.status == Registration.Status.AWAITING_PAYMENT
    assert OutboxMail.objects.filter(key=f"payment_failed:{payment.pk}").exists()
    # A new attempt makes a new session with a new idempotency key.
    again = start_checkout(registration)
    assert again.pk != payment.pk and again.attempt == 2


@pytest.mark.parametrize("order", ["completed_then_expired", "expired_then_completed"])
def test_out_of_order_events_end_in_one_state(client, fake_stripe, session, order):
    registration, payment = session
    completed_event = completed(fake_stripe, payment)
    expired_obj = dict(completed_event["data"]["object"], status="expired")
    expired_event = fake_stripe.event("checkout.session.expired", expired_obj)
    events = [completed_event, expired_event]
    if order == "expired_then_completed":
        events.reverse()
    for event in events:
        assert post_event(client, event).status_code == 200

    registration.refresh_from_db()
    payment.refresh_from_db()
    assert registration.status == Registration.Status.CONFIRMED
    assert payment.status == Payment.Status.PAID
    assert registration.tickets.filter(status=Ticket.Status.VALID).count() == 2
    assert not Refund.objects.exists()
    # Exactly one payment, one confirmation and one receipt; the event holds only these seats.
    assert Payment.objects.filter(registration=registration).count() == 1
    assert OutboxMail.objects.filter(key=f"booking_confirmed:{registration.pk}").count() == 1
    assert OutboxMail.objects.filter(template="payment_received").count() == 1
    held = Ticket.objects.filter(event=registration.event, status__in=Ticket.HOLDS_PLACE)
    assert held.count() == 2
    assert Invoice.objects.filter(registration=registration).count() == 1


def test_expired_session_releases_the_places(client, fake_stripe, session):
    registration, payment = session
    obj = dict(fake_stripe.sessions[payment.stripe_session_id], status="expired")
    assert post_event(client, fake_stripe.event("checkout.session.expired", obj)).status_code == 200
    registration.refresh_from_db()
    payment.refresh_from_db()
    assert registration.status == Registration.Status.EXPIRED
    assert payment.status == Payment.Status.EXPIRED
    assert not registration.tickets.filter(status__in=Ticket.HOLDS_PLACE).exists()


def test_late_payment_is_confirmed_when_places_are_still_free(client, fake_stripe, session):
    from participants.services import registration_expire

    registration, payment = session
    registration_expire(registration=registration)
    assert post_event(client, completed(fake_stripe, payment)).status_code == 200
    registration.refresh_from_db()
    assert registration.status == Registration.Status.CONFIRMED
    assert registration.tickets.filter(status=Ticket.Status.VALID).count() == 2
    assert not Refund.objects.exists()


def test_late_payment_is_refunded_when_the_places_are_gone(
    client, fake_stripe, session, paid_event, paid_type, django_capture_on_commit_callbacks
):
    from participants.services import registration_expire

    registration, payment = session
    registration_expire(registration=registration)
    book(paid_event, paid_type, n=9, count=9, payment_method="online")  # 9 of 10 places gone

    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(client, completed(fake_stripe, payment)).status_code == 200

    registration.refresh_from_db()
    payment.refresh_from_db()
    assert registration.status == Registration.Status.EXPIRED
    refund = Refund.objects.get(payment=payment)
    assert refund.reason == Refund.Reason.LATE_PAYMENT
    assert refund.amount_cents == 24200
    # The refund reached Stripe with our idempotency key and succeeded there.
    sent = [r for r in fake_stripe.requests if r["path"] == "/v1/refunds"]
    assert [r["idempotency_key"] for r in sent] == [refund.idempotency_key]
    assert refund.status == Refund.Status.SUCCEEDED
    assert payment.status == Payment.Status.REFUNDED
    assert not Invoice.objects.filter(registration=registration).exists()
    assert OutboxMail.objects.filter(key=f"payment_refunded:{refund.pk}").exists()

    # Stripe's charge.refunded afterwards changes nothing more.
    charge = fake_stripe.charge_for_session(payment.stripe_session_id)
    assert post_event(client, fake_stripe.event("charge.refunded", charge)).status_code == 200
    payment.refresh_from_db()
    assert (payment.status, payment.amount_refunded_cents) == (Payment.Status.REFUNDED, 24200)


def test_unknown_event_types_are_acknowledged(client, fake_stripe):
    event = fake_stripe.event("customer.created", {"id": "cus_1", "object": "customer"})
    assert post_event(client, event).status_code == 200
    assert StripeEvent.objects.filter(event_id=event["id"]).exists()


def test_garbage_body_with_valid_signature_is_400(client, fake_stripe):
    payload = "not json"
    response = client.post(
        reverse("payments:stripe_webhook"),
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload),
    )
    assert response.status_code == 400


def test_hold_expiry_releases_the_places_to_the_waiting_list(
    fake_stripe, paid_event, paid_type, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from participants.models import WaitingListEntry
    from participants.services import waitlist_join
    from payments.services import holds_expire

    paid_event.capacity = 2
    paid_event.save()
    registration = book(paid_event, paid_type, count=2)  # the event is full
    payment = start_checkout(registration)
    entry = waitlist_join(
        event=paid_event, ticket_type=paid_type, name="Wachter", email="wachter@example.nl"
    )
    assert entry.status == WaitingListEntry.Status.WAITING
    Registration.objects.filter(pk=registration.pk).update(hold_expires_at=timezone.now())

    assert holds_expire() == 1

    registration.refresh_from_db()
    payment.refresh_from_db()
    entry.refresh_from_db()
    assert registration.status == Registration.Status.EXPIRED
    assert payment.status == Payment.Status.EXPIRED
    assert fake_stripe.sessions[payment.stripe_session_id]["status"] == "expired"
    assert entry.status == WaitingListEntry.Status.OFFERED
    assert holds_expire() == 0  # nothing left to expire


def test_second_paid_session_of_a_confirmed_booking_is_refunded_as_duplicate(
    client, fake_stripe, session, django_capture_on_commit_callbacks
):
    """Two tabs, two sessions, both paid: the booking is confirmed once, the second payment
    goes back in full."""
    registration, first = session
    Payment.objects.filter(pk=first.pk).update(expires_at=first.expires_at.replace(year=2000))
    second = start_checkout(registration)  # the first looks stale: a new attempt
    assert second.pk != first.pk
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(client, completed(fake_stripe, first)).status_code == 200
        assert post_event(client, completed(fake_stripe, second)).status_code == 200

    registration.refresh_from_db()
    assert registration.status == Registration.Status.CONFIRMED
    refund = Refund.objects.get()
    assert (refund.payment_id, refund.reason) == (second.pk, Refund.Reason.DUPLICATE)
    assert refund.amount_cents == second.amount_cents
    assert refund.status == Refund.Status.SUCCEEDED
    assert OutboxMail.objects.filter(key=f"booking_confirmed:{registration.pk}").count() == 1
    assert Invoice.objects.filter(registration=registration, kind=Invoice.Kind.INVOICE).count() == 1
    assert registration.tickets.filter(status=Ticket.Status.VALID).count() == 2


def test_refund_made_in_the_stripe_dashboard_is_recorded(
    client, fake_stripe, session, django_capture_on_commit_callbacks
):
    from payments import stripe_gateway

    registration, payment = session
    assert post_event(client, completed(fake_stripe, payment)).status_code == 200
    payment.refresh_from_db()
    # Someone refunds part of the charge at Stripe, outside this system.
    stripe_gateway.refund_create(
        payment_intent_id=payment.stripe_payment_intent_id,
        amount_cents=5000,
        idempotency_key="dashboard-1",
        metadata={},
    )
    charge = fake_stripe.charge_for_session(payment.stripe_session_id)
    assert post_event(client, fake_stripe.event("charge.refunded", charge)).status_code == 200

    payment.refresh_from_db()
    assert (payment.status, payment.amount_refunded_cents) == (
        Payment.Status.PARTIALLY_REFUNDED,
        5000,
    )

    # What is left to refund counts the dashboard refund: Stripe would refuse more.
    from common.errors import RuleViolation
    from payments.services import refund_create

    with pytest.raises(RuleViolation) as exc:
        refund_create(
            payment=payment, amount_cents=19201, reason=Refund.Reason.MANUAL, idempotency_key="m-0"
        )
    assert exc.value.code == "invalid_amount"
    assert not Refund.objects.exists() and not Invoice.objects.filter(kind="credit_note").exists()

    # Then the organiser refunds 10 euros here: the figure never drops below what Stripe
    # reported, and Stripe's next charge.refunded brings the full total.

    with django_capture_on_commit_callbacks(execute=True):
        refund_create(
            payment=payment, amount_cents=1000, reason=Refund.Reason.MANUAL, idempotency_key="m-1"
        )
    payment.refresh_from_db()
    assert payment.amount_refunded_cents == 5000
    charge = fake_stripe.charge_for_session(payment.stripe_session_id)
    assert post_event(client, fake_stripe.event("charge.refunded", charge)).status_code == 200
    payment.refresh_from_db()
    assert payment.amount_refunded_cents == 6000
