"""Starting Stripe Checkout against the fake Stripe server (real SDK, real HTTP)."""

import time
from datetime import timedelta

import pytest
import stripe
from django.urls import reverse

from participants.links import booking_token
from participants.models import Registration
from payments import stripe_gateway
from payments.models import Payment

from .conftest import book, start_checkout

pytestmark = pytest.mark.django_db


def test_checkout_session_carries_ideal_vat_lines_metadata_and_idempotency_key(
    fake_stripe, paid_event, paid_type
):
    registration = book(paid_event, paid_type, count=2)
    assert registration.status == Registration.Status.AWAITING_PAYMENT

    payment = start_checkout(registration)

    creates = [r for r in fake_stripe.requests if r["path"] == "/v1/checkout/sessions"]
    assert len(creates) == 1
    sent = creates[0]
    assert sent["idempotency_key"] == f"checkout-{registration.pk}-1"
    params = sent["params"]
    assert params["payment_method_types"] == ["ideal", "card"]
    assert params["mode"] == "payment"
    assert params["metadata"]["registration_id"] == str(registration.pk)
    (item,) = params["line_items"]
    assert item["quantity"] == "2"
    assert item["price_data"]["currency"] == "eur"
    assert item["price_data"]["unit_amount"] == "12100"
    # Dutch booking: the line says the price includes 21% BTW and how much that is.
    assert "21% btw" in item["price_data"]["product_data"]["description"].lower()
    assert "21,00" in item["price_data"]["product_data"]["description"]
    # The hold is 20 minutes; Stripe needs at least 30, so the session gets 30 (+ margin).
    expires_at = int(params["expires_at"])
    assert expires_at >= time.time() + 30 * 60
    assert expires_at > registration.hold_expires_at.timestamp()

    assert payment.amount_cents == 24200
    assert payment.status == Payment.Status.OPEN
    assert payment.checkout_url == fake_stripe.sessions[payment.stripe_session_id]["url"]


def test_second_checkout_reuses_the_open_session(fake_stripe, paid_event, paid_type):
    registration = book(paid_event, paid_type)
    first = start_checkout(registration)
    second = start_checkout(registration)
    assert first.pk == second.pk
    assert len(fake_stripe.sessions) == 1
    assert Payment.objects.count() == 1


def test_lost_response_is_retried_with_the_same_key_and_returns_the_same_session(
    fake_stripe, paid_event, paid_type
):
    registration = book(paid_event, paid_type)
    fake_stripe.lose_responses = 1  # Stripe made the session but the answer got lost

    payment = start_checkout(registration)

    creates = [r for r in fake_stripe.requests if r["path"] == "/v1/checkout/sessions"]
    assert len(creates) == 2  # the SDK retried
    assert {r["idempotency_key"] for r in creates} == {f"checkout-{registration.pk}-1"}
    assert len(fake_stripe.sessions) == 1
    assert payment.stripe_session_id in fake_stripe.sessions


def test_same_idempotency_key_replays_and_other_params_are_refused(fake_stripe):
    params = {
        "mode": "payment",
        "currency": "eur",
        "payment_method_types": ["ideal"],
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 500,
                    "product_data": {"name": "x"},
                },
            }
        ],
        "success_url": "http://testserver/ok",
        "expires_at": int(time.time()) + 3600,
    }
    one = stripe_gateway.checkout_session_create(params=params, idempotency_key="k-1")
    two = stripe_gateway.checkout_session_create(params=params, idempotency_key="k-1")
    assert one["id"] == two["id"]
    with pytest.raises(stripe.IdempotencyError):
        stripe_gateway.checkout_session_create(
            params={**params, "success_url": "http://testserver/other"}, idempotency_key="k-1"
        )


def test_checkout_page_redirects_to_stripe_and_return_page_never_confirms(
    client, fake_stripe, paid_event, paid_type
):
    registration = book(paid_event, paid_type)
    token = booking_token(registration)
    url = reverse("payments:checkout", kwargs={"token": token})

    page = client.get(url)
    assert page.status_code == 200
    assert "€\xa0121,00" in page.content.decode()

    response = client.post(url)
    assert response.status_code == 303
    payment = Payment.objects.get(registration=registration)
    assert response["Location"] == payment.checkout_url

    # The customer pays, comes back, but the webhook has not arrived yet.
    fake_stripe.complete_session(payment.stripe_session_id)
    back = client.get(reverse("payments:checkout_return", kwargs={"token": token}))
    assert back.status_code == 200
    assert "wordt verwerkt" in back.content.decode()  # "is being processed"
    registration.refresh_from_db()
    assert registration.status == Registration.Status.AWAITING_PAYMENT


def test_checkout_with_a_bad_token_is_404_and_stripe_down_is_a_clear_503(
    client, fake_stripe, paid_event, paid_type, settings
):
    assert client.get(reverse("payments:checkout", kwargs={"token": "nope"})).status_code == 404
    registration = book(paid_event, paid_type)
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    stripe_gateway._client.cache_clear()
    url = reverse("payments:checkout", kwargs={"token": booking_token(registration)})
    response = client.post(url)
    assert response.status_code == 503
    assert "niet bereikbaar" in response.content.decode()
    # No session; the failed attempt is kept (see test_payment_availability.py).
    assert not Payment.objects.exclude(status=Payment.Status.PROVIDER_ERROR).exists()


def test_confirmed_booking_has_nothing_to_pay(client, fake_stripe, paid_event, paid_type):
    from participants.services import registration_confirm

    registration = book(paid_event, paid_type)
    registration_confirm(registration=registration)
    url = reverse("payments:checkout", kwargs={"token": booking_token(registration)})
    assert client.post(url).status_code == 409
    assert not fake_stripe.sessions


def test_without_stripe_keys_checkout_says_so_without_calling_out(
    client, fake_stripe, paid_event, paid_type, settings
):
    settings.STRIPE_SECRET_KEY = ""
    registration = book(paid_event, paid_type)
    url = reverse("payments:checkout", kwargs={"token": booking_token(registration)})
    response = client.post(url)
    assert response.status_code == 409
    assert "niet mogelijk" in response.content.decode()
    assert not fake_stripe.requests


def test_stripe_is_sent_back_to_our_site_url(client, fake_stripe, paid_event, paid_type, settings):
    settings.SITE_URL = "https://events.werkstress.example.nl"
    registration = book(paid_event, paid_type)
    token = booking_token(registration)
    client.post(reverse("payments:checkout", kwargs={"token": token}), HTTP_HOST="127.0.0.1")
    (session,) = fake_stripe.sessions.values()
    assert session["success_url"].startswith(
        "https://events.werkstress.example.nl"
        + reverse("payments:checkout_return", kwargs={"token": token})
    )
    assert session["success_url"].endswith("?session_id={CHECKOUT_SESSION_ID}")


def _frozen_now(monkeypatch, moment):
    # django.utils.timezone.now, which payments.services calls; the fake Stripe keeps real time.
    monkeypatch.setattr("payments.services.timezone.now", lambda: moment)


def test_a_lost_session_insert_does_not_lock_the_booking_out_of_paying(
    fake_stripe, paid_event, paid_type, monkeypatch
):
    """Stripe made the session but our row was lost (the answer never arrived, or a crash
    before the insert). Paying again minutes later sends other parameters (the session's
    expiry moves with the clock) under the same key: Stripe refuses that key for 24 hours, so
    the next attempt must take a new key instead of telling the booker to try again later."""
    from django.utils import timezone

    registration = book(paid_event, paid_type)
    first = start_checkout(registration)
    Payment.objects.filter(pk=first.pk).delete()
    _frozen_now(monkeypatch, timezone.now() + timedelta(minutes=2))

    again = start_checkout(registration)

    assert again.status == Payment.Status.OPEN and again.checkout_url
    assert again.stripe_session_id != first.stripe_session_id
    assert again.attempt == 2
    keys = [r["idempotency_key"] for r in fake_stripe.requests if r["path"].endswith("/sessions")]
    pk = registration.pk
    assert keys == [f"checkout-{pk}-1", f"checkout-{pk}-1", f"checkout-{pk}-2"]
    assert len(fake_stripe.sessions) == 2


def test_a_double_click_within_the_minute_gets_the_same_session(
    fake_stripe, paid_event, paid_type, monkeypatch
):
    """Two requests for the same attempt a few seconds apart (double click, two tabs, our row
    not stored yet) send the same parameters, so Stripe replays the first session."""
    from django.utils import timezone

    registration = book(paid_event, paid_type)
    minute = timezone.now().replace(second=5, microsecond=0)
    _frozen_now(monkeypatch, minute)
    first = start_checkout(registration)
    Payment.objects.filter(pk=first.pk).delete()  # as if the other request had not stored it
    _frozen_now(monkeypatch, minute + timedelta(seconds=40))

    again = start_checkout(registration)

    assert again.stripe_session_id == first.stripe_session_id
    assert again.attempt == 1
    assert len(fake_stripe.sessions) == 1


def test_every_call_that_changes_something_at_stripe_carries_our_idempotency_key(
    client, fake_stripe, paid_event, paid_type, django_capture_on_commit_callbacks
):
    """Sessions, refunds and session expiry: every POST to Stripe carries an Idempotency-Key
    derived from our own rows, so a retry (by the SDK, a task or the sweeper) repeats the
    same call instead of making a second one."""
    from django.utils import timezone

    from participants.services import registration_cancel
    from payments import services

    from .conftest import post_event

    paid = book(paid_event, paid_type, n=1)
    payment = start_checkout(paid)
    obj = fake_stripe.complete_session(payment.stripe_session_id)
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, fake_stripe.event("checkout.session.completed", obj))
    with django_capture_on_commit_callbacks(execute=True):
        registration_cancel(registration=paid, actor="booker")  # refund through Stripe
    late = book(paid_event, paid_type, n=2)
    expiring = start_checkout(late)
    Registration.objects.filter(pk=late.pk).update(hold_expires_at=timezone.now())
    services.holds_expire()  # expires the open session at Stripe

    posts = [
        (r["path"], r["idempotency_key"]) for r in fake_stripe.requests if r["method"] == "POST"
    ]
    assert posts == [
        ("/v1/checkout/sessions", f"checkout-{paid.pk}-1"),
        ("/v1/refunds", paid.payments.get().refunds.get().idempotency_key),
        ("/v1/checkout/sessions", f"checkout-{late.pk}-1"),
        (
            f"/v1/checkout/sessions/{expiring.stripe_session_id}/expire",
            f"expire-{expiring.stripe_session_id}",
        ),
    ]
