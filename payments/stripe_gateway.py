"""The only module that talks to the Stripe API.

Every call that changes something at Stripe (session create and expire, refund create)
carries an Idempotency-Key derived from our rows, so a retried request (by the SDK after a
network error, by a Celery retry, or by a double click) never makes a second session or refund.
`settings.STRIPE_API_BASE` points the SDK at another server (tests: a fake Stripe on loopback).
"""

import json
from functools import lru_cache

import stripe
from django.conf import settings


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str, timeout: float) -> stripe.StripeClient:
    base_addresses = {"api": api_base} if api_base else None
    # STRIPE_TIMEOUT_SECONDS (20 s) instead of the SDK's 80 s: a booker waits on the checkout
    # call, and a webhook must answer Stripe in time; the retries reuse the Idempotency-Key.
    return stripe.StripeClient(
        api_key,
        base_addresses=base_addresses,
        max_network_retries=2,
        http_client=stripe.new_default_http_client(timeout=timeout),
    )


def client() -> stripe.StripeClient:
    return _client(
        settings.STRIPE_SECRET_KEY or "sk_test_unset",
        settings.STRIPE_API_BASE,
        settings.STRIPE_TIMEOUT_SECONDS,
    )


# Every function returns plain JSON data (dicts and lists), never SDK objects, so services
# read Stripe data the same way whether it came from an API response or a webhook.


def checkout_session_create(*, params: dict, idempotency_key: str) -> dict:
    return (
        client()
        .v1.checkout.sessions.create(params=params, options={"idempotency_key": idempotency_key})
        .to_dict()
    )


def checkout_session_retrieve(*, session_id: str) -> dict:
    return client().v1.checkout.sessions.retrieve(session_id).to_dict()


def checkout_session_expire(*, session_id: str) -> dict:
    # Our own key rather than the SDK's random one: the hold-expiry job may run again (or on
    # two workers) for the same session, and repeats are then one call at Stripe.
    return (
        client()
        .v1.checkout.sessions.expire(
            session_id, options={"idempotency_key": f"expire-{session_id}"}
        )
        .to_dict()
    )


def payment_intent_retrieve(*, payment_intent_id: str) -> dict:
    return (
        client()
        .v1.payment_intents.retrieve(payment_intent_id, params={"expand": ["latest_charge"]})
        .to_dict()
    )


def refund_create(
    *, payment_intent_id: str, amount_cents: int, idempotency_key: str, metadata
) -> dict:
    return (
        client()
        .v1.refunds.create(
            params={
                "payment_intent": payment_intent_id,
                "amount": amount_cents,
                "metadata": metadata,
            },
            options={"idempotency_key": idempotency_key},
        )
        .to_dict()
    )


def webhook_event_construct(*, payload: bytes, signature: str) -> dict:
    """Verify the Stripe-Signature header (HMAC + timestamp within 5 minutes) and parse.

    Returns the event as plain JSON data: services read dicts, not SDK objects."""
    stripe.Webhook.construct_event(
        payload, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance=300
    )
    return json.loads(payload)
