"""Payment rules: Stripe Checkout, webhook events, refunds, invoices and hold expiry.

Lock order everywhere: the StripeEvent insert (webhooks only), then the event row
(events.locking.lock_event), then payment / refund / invoice-counter rows. Stripe is never
called while a lock is held, except by the refund task, whose Idempotency-Key makes a repeat
harmless.
"""

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from common.errors import RuleViolation
from common.money import format_euros
from communications.services import mail_enqueue
from events.models import Event
from participants.models import Registration, Ticket

from . import selectors, stripe_gateway
from .models import Invoice, InvoiceCounter, InvoiceLine, Payment, Refund, StripeEvent
from .vat import vat_split

logger = logging.getLogger(__name__)

# Stripe refuses a Checkout Session that expires sooner than 30 minutes from now.
STRIPE_MIN_SESSION_SECONDS = 30 * 60
# A session this close to its end is not handed out again: the booker would not make it.
SESSION_REUSE_MARGIN = timedelta(minutes=2)
# Attempts tried when Stripe refuses an attempt's Idempotency-Key (see checkout_start).
CHECKOUT_KEY_TRIES = 3


def _lock_event(event_id: int):
    # Imported here: events.locking is the one capacity lock (docs/contracts.md).
    from events.locking import lock_event

    return lock_event(event_id)


def _registration_confirm(*, registration: Registration) -> None:
    from participants.services import registration_confirm

    registration_confirm(registration=registration)


def _registration_expire(*, registration: Registration, provider_failed: bool = False) -> None:
    from participants.services import registration_expire

    registration_expire(registration=registration, provider_failed=provider_failed)


def _booking_url(registration: Registration) -> str:
    from participants.links import booking_manage_url

    return booking_manage_url(registration)


# --- Checkout -----------------------------------------------------------------------------


def checkout_start(*, registration: Registration, success_url: str, cancel_url: str) -> Payment:
    """An open Stripe Checkout Session for a booking awaiting payment; reuses a live one.

    The session expires at the end of the hold, but never sooner than Stripe's minimum of
    30 minutes: with a shorter hold the places are released at hold_expires_at anyway (the
    expiry job also expires the session), and a payment that still completes in between is
    handled as a late payment (confirmed if places are free, refunded otherwise).

    Raises RuleViolation ``online_payment_unavailable`` when no Stripe account is configured
    (nothing is called), and ``provider_unavailable`` when Stripe cannot be reached or fails
    (5xx, timeout, refusal): that attempt is kept with status provider_error, the hold stays
    and holds_expire extends it once instead of releasing the places.
    """
    registration = Registration.objects.select_related("event", "booker").get(pk=registration.pk)
    now = timezone.now()
    if not selectors.online_payment_configured():
        # The embedded default has no Stripe account: no waiting will change that.
        raise RuleViolation(
            _(
                "Paying online is not available at the moment. Please contact the organiser "
                "at %(email)s about paying this booking."
            )
            % {"email": settings.ORGANISER_EMAIL},
            code="online_payment_unavailable",
        )
    if registration.status != Registration.Status.AWAITING_PAYMENT:
        raise RuleViolation(_("This booking does not need to be paid."), code="not_payable")
    if registration.hold_expires_at and registration.hold_expires_at <= now:
        raise RuleViolation(
            _("The time to pay for this booking has passed; the places were released."),
            code="offer_expired",
        )
    live = (
        registration.payments.filter(
            status=Payment.Status.OPEN, expires_at__gt=now + SESSION_REUSE_MARGIN
        )
        .exclude(checkout_url="")
        .order_by("-attempt")
        .first()
    )
    if live:
        return live
    lines = selectors.registration_ticket_lines(
        registration=registration, statuses=[Ticket.Status.RESERVED]
    )
    amount = sum(line.gross_cents for line in lines)
    if amount <= 0:
        raise RuleViolation(_("This booking does not need to be paid."), code="not_payable")
    attempt = (registration.payments.aggregate(m=Max("attempt"))["m"] or 0) + 1
    hold_end = registration.hold_expires_at or now
    # Whole minutes: a double click, a second tab or a retry within the same minute sends
    # the same parameters under the same key, so Stripe replays the first session.
    expires_at = _minute_ceil(
        max(hold_end, now + timedelta(seconds=STRIPE_MIN_SESSION_SECONDS + 60))
    )
    failure = ""
    for _try in range(CHECKOUT_KEY_TRIES):
        params = _checkout_params(
            registration=registration,
            lines=lines,
            attempt=attempt,
            expires_at=expires_at,
            success_url=success_url,
            cancel_url=cancel_url,
        )
        try:
            # Derived from booking and attempt: two tabs or a retry get the same session back.
            session = stripe_gateway.checkout_session_create(
                params=params, idempotency_key=f"checkout-{registration.pk}-{attempt}"
            )
        except stripe.IdempotencyError as exc:
            # Stripe made a session for this key with other parameters (a later minute)
            # that we never stored: the answer got lost, or another request for the same
            # attempt is storing it now. The key stays refused for 24 hours, so take the
            # next attempt. A lost session's address never reached a browser; if two tabs
            # both pay, the second payment is refunded as a duplicate.
            logger.info("checkout key of booking %s attempt %s was used", registration.pk, attempt)
            failure = f"{type(exc).__name__}: {exc}"
            attempt += 1
            continue
        except stripe.StripeError as exc:
            # Unreachable, 5xx or timeout (after the SDK's own retries), or a refusal: in
            # every case the booker could not pay through no doing of theirs.
            logger.warning("checkout for booking %s failed: %s", registration.pk, exc)
            failure = f"{type(exc).__name__}: {exc}"
            break
        return _session_payment_store(
            registration=registration, attempt=attempt, session=session, amount=amount
        )
    _provider_failure_record(
        registration=registration, attempt=attempt, amount=amount, error=failure
    )
    raise RuleViolation(
        _(
            "Our payment provider cannot be reached at the moment, so paying online is not "
            "possible right now. Nothing has been charged."
        ),
        code="provider_unavailable",
    )


def _provider_failure_record(
    *, registration: Registration, attempt: int, amount: int, error: str
) -> None:
    """Keep the attempt that failed at the provider: holds_expire reads it (the last attempt
    failed there: extend the hold once, and never blame the booker), and the organiser sees it
    among the payments. A concurrent request that stored a session for the same attempt wins."""
    with transaction.atomic():
        Payment.objects.get_or_create(
            registration=registration,
            attempt=attempt,
            defaults={
                "amount_cents": amount,
                "status": Payment.Status.PROVIDER_ERROR,
                "provider_error": error[:2000],
            },
        )


def _session_payment_store(
    *, registration: Registration, attempt: int, session: dict, amount: int
) -> Payment:
    """The payment row of a session Stripe made, created or found.

    The attempt may already be on file as failed at the provider: its request reached Stripe
    but the answer did not reach us (timeout), or a second tab failed while this one got
    through. That row then becomes this session's, so an attempt is one row either way.
    """
    values = {
        "amount_cents": session.get("amount_total") or amount,
        "currency": session.get("currency") or "eur",
        "checkout_url": session.get("url") or "",
        "expires_at": datetime.fromtimestamp(session["expires_at"], tz=UTC)
        if session.get("expires_at")
        else None,
    }
    for _round in range(2):
        with transaction.atomic():
            payment = Payment.objects.filter(stripe_session_id=session["id"]).first()
            if payment is not None:
                return payment
            failed = (
                Payment.objects.select_for_update()
                .filter(
                    registration=registration,
                    attempt=attempt,
                    stripe_session_id__isnull=True,
                )
                .first()
            )
            if failed is not None:
                for name, value in values.items():
                    setattr(failed, name, value)
                failed.stripe_session_id = session["id"]
                failed.status = Payment.Status.OPEN
                failed.save()
                return failed
            try:
                with transaction.atomic():
                    return Payment.objects.create(
                        stripe_session_id=session["id"],
                        registration=registration,
                        attempt=attempt,
                        **values,
                    )
            except IntegrityError:
                # Another request stored this session, or a failure of this attempt, just
                # now: the next round finds either.
                continue
    return Payment.objects.get(stripe_session_id=session["id"])


def _minute_ceil(moment: datetime) -> datetime:
    rounded = moment.replace(second=0, microsecond=0)
    return rounded if rounded == moment else rounded + timedelta(minutes=1)


def _checkout_params(*, registration, lines, attempt, expires_at, success_url, cancel_url):
    language = registration.language if registration.language in ("nl", "en") else "nl"
    with translation.override(language):
        line_items = []
        for line in lines:
            net, vat = vat_split(gross_cents=line.unit_price_cents, rate=line.vat_rate)
            line_items.append(
                {
                    "quantity": line.quantity,
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": line.unit_price_cents,
                        "product_data": {
                            "name": f"{registration.event.title}: {line.name}",
                            "description": _("Price incl. %(rate)s%% VAT (%(vat)s VAT per ticket)")
                            % {"rate": _rate_text(line.vat_rate), "vat": format_euros(vat)},
                        },
                    },
                }
            )
    metadata = {"registration_id": str(registration.pk), "attempt": str(attempt)}
    return {
        "mode": "payment",
        # iDEAL first: the Dutch default; card for attendees from abroad.
        "payment_method_types": ["ideal", "card"],
        "currency": "eur",
        "line_items": line_items,
        "customer_email": registration.booker.email,
        "client_reference_id": registration.code,
        "locale": language,
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "expires_at": int(expires_at.timestamp()),
        "success_url": success_url,
        "cancel_url": cancel_url,
    }


def _rate_text(rate: Decimal) -> str:
    return f"{rate.normalize():f}".replace(".", ",") if rate % 1 else str(int(rate))


# --- Webhooks -----------------------------------------------------------------------------


def webhook_receive(*, payload: bytes, signature: str) -> bool:
    """Verify a Stripe webhook and process it once. Returns False for a repeat delivery."""
    try:
        event = stripe_gateway.webhook_event_construct(payload=payload, signature=signature)
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise RuleViolation(
            "Invalid Stripe signature or payload.", code="invalid_signature", conflict=False
        ) from exc
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        raise RuleViolation("Not a Stripe event.", code="invalid_payload", conflict=False)
    return stripe_event_process(event=event)


def stripe_event_process(*, event: dict) -> bool:
    """Apply one Stripe event at most once.

    The StripeEvent row is inserted in the same transaction as the change the event causes:
    a repeat (even a concurrent one, which waits on the unique index) finds the row and does
    nothing; a failure rolls both back so Stripe's retry processes the event afresh.
    """
    handler = _HANDLERS.get(event.get("type", ""))
    obj = event.get("data", {}).get("object", {})
    method = _payment_method_fetch(obj) if handler in _PAID_HANDLERS else ""
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = StripeEvent.objects.create(event_id=event["id"], type=event["type"])
        except IntegrityError:
            return False
        if handler is not None:
            handler(obj, method=method)
        record.processed_at = timezone.now()
        record.save(update_fields=["processed_at"])
    return True


def _payment_method_fetch(session: dict) -> str:
    """The method actually used (ideal, card...), read before any lock is taken."""
    intent_id = session.get("payment_intent")
    if not intent_id or session.get("payment_status") == "unpaid":
        return ""
    try:
        intent = stripe_gateway.payment_intent_retrieve(payment_intent_id=intent_id)
        charge = intent.get("latest_charge")
        if isinstance(charge, dict):
            details = charge.get("payment_method_details") or {}
            if details.get("type"):
                return details["type"]
        types = intent.get("payment_method_types") or []
        return types[0] if len(types) == 1 else ""
    except stripe.StripeError:
        # Only a label for the organiser: never fail a payment over it.
        logger.warning("could not read payment intent %s", intent_id, exc_info=True)
        return ""


def _payment_for_session(session: dict) -> Payment | None:
    """The payment row for a session, locked, with the event locked first."""
    payment = (
        Payment.objects.filter(stripe_session_id=session["id"])
        .select_related("registration")
        .first()
    )
    if payment is None:
        # The session was created but our insert was lost (crash between the two):
        # rebuild the row from the metadata we put on the session.
        metadata = session.get("metadata") or {}
        registration = Registration.objects.filter(pk=metadata.get("registration_id")).first()
        if registration is None:
            logger.warning("Stripe session %s matches no booking", session["id"])
            return None
        _lock_event(registration.event_id)
        payment = _session_payment_store(
            registration=registration,
            attempt=int(metadata.get("attempt") or 0)
            or (registration.payments.aggregate(m=Max("attempt"))["m"] or 0) + 1,
            session=session,
            amount=0,
        )
    else:
        _lock_event(payment.registration.event_id)
    return Payment.objects.select_for_update().select_related("registration").get(pk=payment.pk)


def _on_session_completed(session: dict, *, method: str) -> None:
    payment = _payment_for_session(session)
    if payment is None:
        return
    if session.get("payment_intent") and not payment.stripe_payment_intent_id:
        payment.stripe_payment_intent_id = session["payment_intent"]
        payment.save(update_fields=["stripe_payment_intent_id", "updated_at"])
    # Delayed methods complete the session unpaid; async_payment_succeeded follows.
    if session.get("payment_status") in ("paid", "no_payment_required"):
        _payment_received(payment=payment, method=method)


def _on_async_succeeded(session: dict, *, method: str) -> None:
    payment = _payment_for_session(session)
    if payment is None:
        return
    if session.get("payment_intent") and not payment.stripe_payment_intent_id:
        payment.stripe_payment_intent_id = session["payment_intent"]
    _payment_received(payment=payment, method=method)


def _on_async_failed(session: dict, *, method: str) -> None:
    payment = _payment_for_session(session)
    if payment is None or payment.status != Payment.Status.OPEN:
        return
    payment.status = Payment.Status.FAILED
    payment.save(update_fields=["status", "updated_at"])
    registration = Registration.objects.select_related("booker").get(pk=payment.registration_id)
    if registration.status == Registration.Status.AWAITING_PAYMENT:
        mail_enqueue(
            key=f"payment_failed:{payment.pk}",
            template="payment_failed",
            to_email=registration.booker.email,
            to_name=registration.booker.name,
            language=registration.language,
            context={"registration_id": registration.pk, "payment_id": payment.pk},
            event_id=registration.event_id,
        )


def _on_session_expired(session: dict, *, method: str) -> None:
    payment = _payment_for_session(session)
    if payment is None:
        return
    if payment.status == Payment.Status.OPEN:
        payment.status = Payment.Status.EXPIRED
        payment.save(update_fields=["status", "updated_at"])
    # Completed (paid) sessions never go back: an out-of-order "expired" changes nothing.
    registration = Registration.objects.get(pk=payment.registration_id)
    if registration.status != Registration.Status.AWAITING_PAYMENT:
        return
    others = registration.payments.exclude(pk=payment.pk)
    if others.filter(status__in=(Payment.Status.OPEN, *Payment.RECEIVED)).exists():
        return  # a newer attempt is still running or paid
    if (
        registration.hold_expires_at
        and registration.hold_expires_at > timezone.now()
        and registration.payments.filter(hold_extended_until__isnull=False).exists()
    ):
        # The hold was extended after a provider failure, past this older session's end:
        # the places stay held as promised; holds_expire releases them when it ends.
        return
    _registration_expire(
        registration=registration,
        provider_failed=selectors.last_attempt_failed_at_provider(registration=registration),
    )


def _on_charge_refunded(charge: dict, *, method: str) -> None:
    intent_id = charge.get("payment_intent")
    if not intent_id:
        return
    payment = Payment.objects.filter(stripe_payment_intent_id=intent_id).first()
    if payment is None:
        return
    _lock_event(payment.registration.event_id)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    for data in (charge.get("refunds") or {}).get("data") or []:
        if data.get("status") == "succeeded":
            Refund.objects.filter(stripe_refund_id=data.get("id")).update(
                status=Refund.Status.SUCCEEDED, updated_at=timezone.now()
            )
    _payment_refund_totals(payment=payment, stripe_refunded=charge.get("amount_refunded"))


_HANDLERS = {
    "checkout.session.completed": _on_session_completed,
    "checkout.session.async_payment_succeeded": _on_async_succeeded,
    "checkout.session.async_payment_failed": _on_async_failed,
    "checkout.session.expired": _on_session_expired,
    "charge.refunded": _on_charge_refunded,
}
_PAID_HANDLERS = (_on_session_completed, _on_async_succeeded)


def _payment_received(*, payment: Payment, method: str) -> None:
    """Money arrived for a session. Precondition: event and payment rows locked."""
    if payment.status in Payment.RECEIVED:
        return  # the second of completed / async_payment_succeeded
    payment.status = Payment.Status.PAID
    payment.paid_at = timezone.now()
    payment.method = method or payment.method
    payment.save()
    registration = Registration.objects.select_related("event", "booker").get(
        pk=payment.registration_id
    )
    status = registration.status
    if status in (Registration.Status.AWAITING_PAYMENT, Registration.Status.PENDING_APPROVAL):
        _booking_paid(registration=registration, payment=payment)
    elif status == Registration.Status.CONFIRMED:
        already = registration.payments.filter(status__in=Payment.RECEIVED).exclude(pk=payment.pk)
        if already.exists():
            # Paid in two tabs: keep the first payment, return the second.
            refund_create(
                payment=payment,
                amount_cents=payment.amount_cents,
                reason=Refund.Reason.DUPLICATE,
                idempotency_key=f"refund-{payment.pk}-duplicate",
            )
        else:
            _booking_paid(registration=registration, payment=payment, confirm=False)
    elif status == Registration.Status.EXPIRED and _booking_reactivate(registration=registration):
        _booking_paid(registration=registration, payment=payment, confirm=False)
    else:
        # Expired with the places gone, cancelled or rejected: the money goes back.
        refund = refund_create(
            payment=payment,
            amount_cents=payment.amount_cents,
            reason=Refund.Reason.LATE_PAYMENT,
            idempotency_key=f"refund-{payment.pk}-late",
        )
        logger.info("late payment %s refunded (refund %s)", payment.pk, refund.pk)


def _booking_reactivate(*, registration: Registration) -> bool:
    """Confirm an expired booking whose payment arrived late, if its places are still free.

    registration_confirm re-checks capacity under the event lock and raises sold_out /
    ticket_type_sold_out when the places went to someone else; its savepoint is then rolled
    back and the caller refunds.
    """
    try:
        _registration_confirm(registration=registration)
    except RuleViolation as exc:
        logger.info("late payment for booking %s cannot be placed: %s", registration.pk, exc.code)
        return False
    return True


def _booking_paid(*, registration: Registration, payment: Payment, confirm: bool = True) -> None:
    if confirm:
        _registration_confirm(registration=registration)
    invoice = invoice_issue(
        registration=registration,
        payment_method=Invoice.PaymentMethod.ONLINE,
        paid_at=payment.paid_at,
    )
    mail_enqueue(
        key=f"payment_received:{payment.pk}",
        template="payment_received",
        to_email=registration.booker.email,
        to_name=registration.booker.name,
        language=registration.language,
        context={
            "registration_id": registration.pk,
            "payment_id": payment.pk,
            "invoice_id": invoice.pk,
        },
        attachments=[{"type": "invoice_pdf", "invoice_id": invoice.pk}],
        event_id=registration.event_id,
    )


# --- Hold expiry ----------------------------------------------------------------------------


def holds_expire(*, now: datetime | None = None) -> int:
    """Expire bookings whose payment hold has passed; returns how many were expired.

    A booking whose last checkout attempt failed at the payment provider is not the
    booker's doing: its hold is extended once by the event's hold period (and the booker is
    told, with the pay link) instead. If it runs out again, the places are released with a
    mail that names the provider failure instead of a missed payment.

    Open Stripe sessions are expired first (outside any lock) so the booker cannot pay for
    places that are about to be offered to someone else; a payment that completed anyway
    arrives as a late payment.
    """
    now = now or timezone.now()
    ids = list(
        Registration.objects.filter(
            status=Registration.Status.AWAITING_PAYMENT, hold_expires_at__lte=now
        ).values_list("pk", flat=True)
    )
    expired = 0
    for registration_id in ids:
        if not _hold_extension_due(registration_id=registration_id):
            for payment in Payment.objects.filter(
                registration_id=registration_id, status=Payment.Status.OPEN
            ):
                try:
                    stripe_gateway.checkout_session_expire(session_id=payment.stripe_session_id)
                except stripe.StripeError as exc:
                    # Already completed or expired at Stripe: the webhook tells us which.
                    logger.info("could not expire session %s: %s", payment.stripe_session_id, exc)
        if _hold_end_one(registration_id=registration_id, now=now) == "expired":
            expired += 1
    return expired


def _hold_extension_due(*, registration_id: int) -> bool:
    """The last checkout attempt failed at the provider and the hold was not extended yet."""
    payments = Payment.objects.filter(registration_id=registration_id)
    last = payments.order_by("-attempt", "-pk").only("status").first()
    return (
        last is not None
        and last.status == Payment.Status.PROVIDER_ERROR
        and not payments.filter(hold_extended_until__isnull=False).exists()
    )


def _hold_end_one(*, registration_id: int, now: datetime) -> str:
    """End one overdue hold under the event lock: "extended", "expired" or "" (nothing to do:
    paid, expired or extended by a concurrent run in the meantime)."""
    with transaction.atomic():
        registration = Registration.objects.filter(pk=registration_id).first()
        if registration is None:
            return ""
        event = _lock_event(registration.event_id)
        registration = Registration.objects.select_related("booker").get(pk=registration_id)
        if (
            registration.status != Registration.Status.AWAITING_PAYMENT
            or registration.hold_expires_at is None
            or registration.hold_expires_at > now
        ):
            return ""
        if _hold_extension_due(registration_id=registration_id):
            _hold_extend(registration=registration, event=event, now=now)
            return "extended"
        Payment.objects.filter(registration=registration, status=Payment.Status.OPEN).update(
            status=Payment.Status.EXPIRED, updated_at=timezone.now()
        )
        _registration_expire(
            registration=registration,
            provider_failed=selectors.last_attempt_failed_at_provider(registration=registration),
        )
        return "expired"


def _hold_extend(*, registration: Registration, event: Event, now: datetime) -> None:
    """Keep the places one more hold period after our provider failed the booker, and say so.
    Precondition: the event lock is held. Once per booking: the places cannot be kept from
    others for as long as an outage lasts."""
    until = max(registration.hold_expires_at, now) + timedelta(minutes=event.payment_hold_minutes)
    Registration.objects.filter(pk=registration.pk).update(hold_expires_at=until, updated_at=now)
    last = registration.payments.order_by("-attempt", "-pk").first()
    last.hold_extended_until = until
    last.save(update_fields=["hold_extended_until", "updated_at"])
    logger.info(
        "hold of booking %s extended to %s after a provider failure", registration.pk, until
    )
    mail_enqueue(
        key=f"payment_hold_extended:{registration.pk}",
        template="payment_hold_extended",
        to_email=registration.booker.email,
        to_name=registration.booker.name,
        language=registration.language,
        context={"registration_id": registration.pk, "payment_id": last.pk},
        event_id=registration.event_id,
    )


# --- Refunds --------------------------------------------------------------------------------


def refund_create(
    *,
    payment: Payment,
    amount_cents: int,
    reason: str,
    idempotency_key: str,
    tickets=(),
    ticket_amounts: dict[int, int] | None = None,
) -> Refund:
    """Record a refund and send it to Stripe after commit. The same key is the same refund.

    Issues a credit note when the booking has an invoice: for `tickets`, one line per ticket
    type at the ticket price, or at the part refunded when `ticket_amounts` (ticket id ->
    cents, adding up to amount_cents) says so. Call inside a transaction.
    """
    with transaction.atomic():
        existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
        if existing:
            return existing
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status not in (Payment.Status.PAID, Payment.Status.PARTIALLY_REFUNDED):
            raise RuleViolation(
                _("Only a paid payment can be refunded."), code="not_refundable", field="amount"
            )
        left = _refundable_cents(payment)
        if amount_cents <= 0 or amount_cents > left:
            raise RuleViolation(
                _("The amount must be between %(min)s and %(max)s.")
                % {"min": format_euros(1), "max": format_euros(left)},
                code="invalid_amount",
                field="amount",
                conflict=False,
            )
        try:
            with transaction.atomic():
                refund = Refund.objects.create(
                    payment=payment,
                    amount_cents=amount_cents,
                    reason=reason,
                    idempotency_key=idempotency_key,
                )
        except IntegrityError:
            return Refund.objects.get(idempotency_key=idempotency_key)
        if tickets:
            refund.tickets.set(tickets)
        registration = Registration.objects.select_related("booker").get(pk=payment.registration_id)
        original = registration.invoices.filter(kind=Invoice.Kind.INVOICE).first()
        credit_note = None
        if original is not None:
            credit_note = credit_note_issue(
                original=original,
                tickets=list(tickets),
                amount_cents=amount_cents,
                key=f"credit:refund:{refund.pk}",
                refund=refund,
                ticket_amounts=ticket_amounts,
            )
        mail_enqueue(
            key=f"payment_refunded:{refund.pk}",
            template="payment_refunded",
            to_email=registration.booker.email,
            to_name=registration.booker.name,
            language=registration.language,
            context={
                "registration_id": registration.pk,
                "refund_id": refund.pk,
                "invoice_id": credit_note.pk if credit_note else None,
            },
            attachments=(
                [{"type": "invoice_pdf", "invoice_id": credit_note.pk}] if credit_note else []
            ),
            event_id=registration.event_id,
        )
        transaction.on_commit(lambda: _queue_refund_send(refund.pk))
    return refund


def _refundable_cents(payment: Payment) -> int:
    # One rule for services and the booker's pages (selectors.cancellation_refund_get).
    return selectors.payment_refundable_cents(payment)


def _queue_refund_send(refund_id: int) -> None:
    from .tasks import send_refund_task

    try:
        send_refund_task.delay(refund_id)
    except Exception:  # noqa: BLE001
        # The refund row is pending; the periodic sweep sends it once the broker is back.
        logger.warning("could not queue refund %s", refund_id, exc_info=True)


def refund_send(*, refund_id: int) -> str:
    """Create the refund at Stripe (task body). Idempotent: Stripe's Idempotency-Key plus
    our status check make a redelivered task a no-op. Connection errors propagate so the
    task is retried with the same key."""
    refund = Refund.objects.select_related("payment").filter(pk=refund_id).first()
    if refund is None or refund.stripe_refund_id or refund.status != Refund.Status.PENDING:
        return refund.status if refund else "missing"
    try:
        result = stripe_gateway.refund_create(
            payment_intent_id=refund.payment.stripe_payment_intent_id,
            amount_cents=refund.amount_cents,
            idempotency_key=refund.idempotency_key,
            metadata={"refund_id": str(refund.pk), "reason": refund.reason},
        )
    except (stripe.InvalidRequestError, stripe.CardError, stripe.PermissionError) as exc:
        Refund.objects.filter(pk=refund.pk).update(
            status=Refund.Status.FAILED, last_error=str(exc)[:2000], updated_at=timezone.now()
        )
        logger.error("refund %s refused by Stripe: %s", refund.pk, exc)
        return Refund.Status.FAILED
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        refund.stripe_refund_id = result["id"]
        if result["status"] == "succeeded":
            refund.status = Refund.Status.SUCCEEDED
        elif result["status"] in ("failed", "canceled"):
            refund.status = Refund.Status.FAILED
        refund.save()
        payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
        _payment_refund_totals(payment=payment)
    return refund.status


def _payment_refund_totals(*, payment: Payment, stripe_refunded: int | None = None) -> None:
    """Recompute refunded amount and status. Precondition: payment row locked.

    Stripe's charge total wins when it is higher (a refund made in the Stripe dashboard).
    Without a Stripe total (our own refund just succeeded) the figure never drops below the
    last one Stripe reported: dashboard refunds have no row here, and the charge.refunded
    that follows our refund brings the full total."""
    ours = (
        payment.refunds.filter(status=Refund.Status.SUCCEEDED).aggregate(s=Sum("amount_cents"))["s"]
        or 0
    )
    floor = payment.amount_refunded_cents if stripe_refunded is None else stripe_refunded
    refunded = min(max(ours, floor), payment.amount_cents)
    status = payment.status
    if status in Payment.RECEIVED and refunded:
        status = (
            Payment.Status.REFUNDED
            if refunded >= payment.amount_cents
            else Payment.Status.PARTIALLY_REFUNDED
        )
    if (refunded, status) == (payment.amount_refunded_cents, payment.status):
        return
    payment.amount_refunded_cents = refunded
    payment.status = status
    payment.save(update_fields=["amount_refunded_cents", "status", "updated_at"])


def refunds_retry_pending() -> int:
    """Queue pending refunds that never reached Stripe (broker outage); periodic."""
    cutoff = timezone.now() - timedelta(minutes=5)
    ids = list(
        Refund.objects.filter(
            status=Refund.Status.PENDING, stripe_refund_id__isnull=True, updated_at__lt=cutoff
        ).values_list("pk", flat=True)
    )
    for refund_id in ids:
        _queue_refund_send(refund_id)
    return len(ids)


def refund_by_organiser(
    *, payment: Payment, amount_cents: int, request_key: str, actor=None, request=None
) -> Refund:
    """A refund the organiser starts by hand; request_key comes from the form, so a double
    submit of the same form is one refund."""
    if not request_key or len(request_key) > 64:
        raise RuleViolation(_("Please reload the page and try again."), code="invalid_form")
    with transaction.atomic():
        refund = refund_create(
            payment=payment,
            amount_cents=amount_cents,
            reason=Refund.Reason.MANUAL,
            idempotency_key=f"refund-{payment.pk}-manual-{request_key}",
        )
        from privacy.services import audit_record

        audit_record(
            actor=actor,
            action="payment.refund",
            obj=refund,
            request=request,
            payment_id=payment.pk,
            amount_cents=amount_cents,
        )
        return refund


def tickets_cancelled(*, tickets, by_organiser: bool = False) -> None:
    """Refund cancelled paid tickets under their event's refund policy and credit them on the
    invoice. The cancellation deadline is checked by the registration services; the policy
    (events.Event.refund_percent / refund_fee_cents) sets how much of each ticket comes back:
    price x percent / 100 minus the fee, never below zero and never more than is left on the
    payment. A refund of nothing makes no Stripe call and issues no credit note.

    Precondition: called inside the cancelling transaction, event lock held.
    """
    by_registration: dict[int, list[Ticket]] = {}
    for ticket in tickets:
        by_registration.setdefault(ticket.registration_id, []).append(ticket)
    events: dict[int, Event] = {}
    for registration_id, group in by_registration.items():
        group = [t for t in group if t.ticket_type.price_cents > 0]
        if not group:
            continue
        amount = sum(t.ticket_type.price_cents for t in group)
        ticket_key = "-".join(str(t.pk) for t in sorted(group, key=lambda t: t.pk))
        payment = selectors.payment_to_refund_get(registration_id=registration_id)
        if payment is not None:
            if Refund.objects.filter(
                idempotency_key=f"refund-{payment.pk}-tickets-{ticket_key}"
            ).exists():
                continue  # a repeated hook: the refund (and its credit note) exists
            event_id = group[0].event_id
            if event_id not in events:
                events[event_id] = Event.objects.get(pk=event_id)
            amounts = selectors.cancellation_refund_amounts(
                tickets=group,
                event=events[event_id],
                cap=_refundable_cents(payment),
                by_organiser=by_organiser,
            )
            refund_cents = sum(amounts.values())
            if refund_cents > 0:
                refund_create(
                    payment=payment,
                    amount_cents=refund_cents,
                    reason=Refund.Reason.CANCELLED,
                    # The same key as before the policy existed: the same tickets are the
                    # same refund, whatever the policy says by the time a hook is repeated.
                    idempotency_key=f"refund-{payment.pk}-tickets-{ticket_key}",
                    tickets=group,
                    ticket_amounts=amounts,
                )
            continue
        original = Invoice.objects.filter(
            registration_id=registration_id, kind=Invoice.Kind.INVOICE
        ).first()
        if original is not None:
            # Pay-by-invoice booking: nothing was paid online, so the credit note lowers (or
            # returns) what is owed for the whole tickets; the refund policy is about money
            # that goes back.
            credit = credit_note_issue(
                original=original,
                tickets=group,
                amount_cents=amount,
                key=f"credit:tickets:{ticket_key}",
            )
            _credit_note_mail(credit_note=credit)


# --- Invoices -----------------------------------------------------------------------------


def _number_allocate(*, year: int) -> int:
    """Next invoice number for the year. Precondition: inside the transaction that inserts
    the invoice, so a rollback also returns the number (no gaps). The counter row lock
    serialises concurrent issuers."""
    InvoiceCounter.objects.get_or_create(year=year)
    counter = InvoiceCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def _seller() -> dict:
    return {
        "seller_name": settings.INVOICE_SELLER_NAME,
        "seller_address": settings.INVOICE_SELLER_ADDRESS,
        "seller_kvk": settings.INVOICE_SELLER_KVK,
        "seller_vat_number": settings.INVOICE_SELLER_VAT_NUMBER,
        "seller_iban": settings.INVOICE_SELLER_IBAN,
    }


def _buyer(registration: Registration) -> dict:
    booker = registration.booker
    organisation = registration.organisation
    if organisation is None:
        return {"buyer_name": booker.name, "buyer_email": booker.email}
    address = ", ".join(
        part
        for part in (organisation.street, f"{organisation.postcode} {organisation.city}".strip())
        if part
    )
    return {
        "buyer_name": organisation.name,
        "buyer_contact": booker.name,
        "buyer_address": address,
        "buyer_vat_number": organisation.vat_number,
        "buyer_email": booker.email,
    }


def _document_create(*, key: str, fields: dict, lines: list[dict]) -> Invoice:
    """Insert an invoice or credit note with a fresh number, once per key."""
    existing = Invoice.objects.filter(key=key).first()
    if existing:
        return existing
    issue_date = timezone.localdate()
    try:
        with transaction.atomic():
            # Number and insert share this savepoint: losing a race on the key rolls the
            # counter back too, so no number is skipped.
            sequence = _number_allocate(year=issue_date.year)
            invoice = Invoice.objects.create(
                key=key,
                year=issue_date.year,
                sequence=sequence,
                number=f"{issue_date.year}-{sequence:06d}",
                issue_date=issue_date,
                total_net_cents=sum(line["net_cents"] for line in lines),
                total_vat_cents=sum(line["vat_cents"] for line in lines),
                total_gross_cents=sum(line["gross_cents"] for line in lines),
                **_seller(),
                **{"due_date": issue_date, **fields},
            )
            InvoiceLine.objects.bulk_create(
                InvoiceLine(invoice=invoice, position=i, **line) for i, line in enumerate(lines)
            )
    except IntegrityError:
        return Invoice.objects.get(key=key)
    return invoice


def _line(*, description: str, quantity: int, unit_price_cents: int, rate: Decimal) -> dict:
    gross = quantity * unit_price_cents
    net, vat = vat_split(gross_cents=abs(gross), rate=rate)
    sign = -1 if gross < 0 else 1
    return {
        "description": description,
        "quantity": quantity,
        "unit_price_cents": unit_price_cents,
        "net_cents": sign * net,
        "vat_rate": rate,
        "vat_cents": sign * vat,
        "gross_cents": gross,
    }


def invoice_issue(
    *, registration: Registration, payment_method: str, paid_at: datetime | None = None
) -> Invoice:
    """The invoice for a booking's paid tickets (once per booking)."""
    registration = Registration.objects.select_related("event", "booker", "organisation").get(
        pk=registration.pk
    )
    language = registration.language if registration.language in ("nl", "en") else "nl"
    with translation.override(language):
        lines = [
            _line(
                description=_("%(event)s, ticket %(type)s (%(date)s)")
                % {
                    "event": registration.event.title,
                    "type": line.name,
                    "date": timezone.localtime(registration.event.starts_at).strftime("%d-%m-%Y"),
                },
                quantity=line.quantity,
                unit_price_cents=line.unit_price_cents,
                rate=line.vat_rate,
            )
            for line in selectors.registration_ticket_lines(registration=registration)
        ]
    today = timezone.localdate()
    paid = payment_method == Invoice.PaymentMethod.ONLINE
    fields = {
        "kind": Invoice.Kind.INVOICE,
        "registration": registration,
        "payment_method": payment_method,
        "status": Invoice.Status.PAID if paid else Invoice.Status.OPEN,
        "paid_at": paid_at if paid else None,
        "due_date": today if paid else today + timedelta(days=settings.INVOICE_PAYMENT_DAYS),
        "language": language,
        **_buyer(registration),
    }
    return _document_create(key=f"invoice:{registration.pk}", fields=fields, lines=lines)


def credit_note_issue(
    *,
    original: Invoice,
    tickets: list[Ticket],
    amount_cents: int,
    key: str,
    refund: Refund | None = None,
    ticket_amounts: dict[int, int] | None = None,
) -> Invoice:
    """A credit note against `original`: one negative line per ticket type, or (for a refund
    of a free amount) one line at the original's VAT rate.

    With `ticket_amounts` (a refund under the event's policy) each line credits the part of
    the ticket price that was refunded, VAT split at the ticket type's rate, so the credit
    note totals exactly the refund (Dutch rules: credit what was actually returned)."""
    language = original.language
    tickets = list(tickets)
    if ticket_amounts is not None and all(
        ticket_amounts.get(t.pk, 0) == t.ticket_type.price_cents
        for t in tickets
        if t.ticket_type.price_cents > 0
    ):
        ticket_amounts = None  # whole tickets: the usual lines
    with translation.override(language):
        if tickets:
            description = (
                _("Credit: %(event)s, ticket %(type)s")
                if ticket_amounts is None
                else _("Credit: %(event)s, ticket %(type)s (partial refund)")
            )
            title = original.registration.event.title
            lines = [
                _line(
                    description=description % {"event": title, "type": line.name},
                    quantity=-line.quantity,
                    unit_price_cents=line.unit_price_cents,
                    rate=line.vat_rate,
                )
                for line in selectors.ticket_lines(tickets=tickets, amounts=ticket_amounts)
            ]
        else:
            first = original.lines.first()
            rate = first.vat_rate if first else Decimal("21.00")
            lines = [
                _line(
                    description=_("Refund on invoice %(number)s") % {"number": original.number},
                    quantity=-1,
                    unit_price_cents=amount_cents,
                    rate=rate,
                )
            ]
    fields = {
        "kind": Invoice.Kind.CREDIT_NOTE,
        "original": original,
        "registration": original.registration,
        "refund": refund,
        "payment_method": original.payment_method,
        "status": Invoice.Status.PAID if refund else Invoice.Status.OPEN,
        "paid_at": None,
        "language": language,
        **{
            f: getattr(original, f)
            for f in (
                "buyer_name",
                "buyer_contact",
                "buyer_address",
                "buyer_vat_number",
                "buyer_email",
            )
        },
    }
    credit = _document_create(key=key, fields=fields, lines=lines)
    credited = -(original.credit_notes.aggregate(s=Sum("total_gross_cents"))["s"] or 0)
    if credited >= original.total_gross_cents and original.status == Invoice.Status.OPEN:
        # Nothing left to pay on a fully credited invoice.
        Invoice.objects.filter(pk=original.pk).update(status=Invoice.Status.CREDITED)
    return credit


def _credit_note_mail(*, credit_note: Invoice) -> None:
    mail_enqueue(
        key=f"invoice_credit_note:{credit_note.pk}",
        template="invoice_credit_note",
        to_email=credit_note.buyer_email,
        to_name=credit_note.buyer_contact or credit_note.buyer_name,
        language=credit_note.language,
        context={"invoice_id": credit_note.pk, "registration_id": credit_note.registration_id},
        attachments=[{"type": "invoice_pdf", "invoice_id": credit_note.pk}],
        event_id=credit_note.registration.event_id,
    )


def registration_created(*, registration: Registration) -> None:
    """Hook body: a booking paid by invoice is confirmed at once; issue and mail the invoice
    with the confirmation. Bookings awaiting payment need nothing until checkout."""
    if registration.status != Registration.Status.CONFIRMED:
        return
    if getattr(registration, "payment_method", "invoice") == "online":
        return
    invoice = invoice_issue(registration=registration, payment_method=Invoice.PaymentMethod.INVOICE)
    if invoice.total_gross_cents <= 0:
        return
    mail_enqueue(
        key=f"invoice_issued:{invoice.pk}",
        template="invoice_issued",
        to_email=invoice.buyer_email,
        to_name=invoice.buyer_contact or invoice.buyer_name,
        language=invoice.language,
        context={"invoice_id": invoice.pk, "registration_id": registration.pk},
        attachments=[{"type": "invoice_pdf", "invoice_id": invoice.pk}],
        event_id=registration.event_id,
    )


def invoice_mark_paid(
    *, invoice: Invoice, paid_at: datetime | None = None, actor=None, request=None
) -> Invoice:
    """The organiser saw the bank transfer. Marking a paid invoice again changes nothing (and
    is not audited again); the change itself is written to the audit log like a manual refund."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.kind != Invoice.Kind.INVOICE:
            raise RuleViolation(_("A credit note cannot be marked as paid."), code="not_allowed")
        if invoice.status == Invoice.Status.PAID:
            return invoice
        if invoice.status != Invoice.Status.OPEN:
            raise RuleViolation(
                _("This invoice was credited and cannot be marked as paid."), code="not_allowed"
            )
        invoice.status = Invoice.Status.PAID
        invoice.paid_at = paid_at or timezone.now()
        invoice.save(update_fields=["status", "paid_at"])
        from privacy.services import audit_record

        audit_record(
            actor=actor,
            action="invoice.mark_paid",
            obj=invoice,
            request=request,
            registration_id=invoice.registration_id,
            total_gross_cents=invoice.total_gross_cents,
        )
    return invoice


def invoice_reminders_send(*, now: datetime | None = None) -> int:
    """Remind buyers of overdue invoices, at most every REMINDER_INTERVAL_DAYS and
    INVOICE_MAX_REMINDERS times. Idempotent per reminder number."""
    now = now or timezone.now()
    interval = timedelta(days=settings.INVOICE_REMINDER_INTERVAL_DAYS)
    sent = 0
    for invoice_id in selectors.invoice_overdue_list(today=timezone.localdate(now)).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            invoice = (
                Invoice.objects.select_for_update(skip_locked=True)
                .filter(pk=invoice_id, status=Invoice.Status.OPEN)
                .first()
            )
            if invoice is None or invoice.reminders_sent >= settings.INVOICE_MAX_REMINDERS:
                continue
            if invoice.last_reminded_at and invoice.last_reminded_at > now - interval:
                continue
            invoice.reminders_sent += 1
            invoice.last_reminded_at = now
            invoice.save(update_fields=["reminders_sent", "last_reminded_at"])
            mail_enqueue(
                key=f"invoice_reminder:{invoice.pk}:{invoice.reminders_sent}",
                template="invoice_reminder",
                to_email=invoice.buyer_email,
                to_name=invoice.buyer_contact or invoice.buyer_name,
                language=invoice.language,
                context={"invoice_id": invoice.pk, "registration_id": invoice.registration_id},
                attachments=[{"type": "invoice_pdf", "invoice_id": invoice.pk}],
                event_id=invoice.registration.event_id,
            )
            sent += 1
    return sent
