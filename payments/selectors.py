"""Reads of payments shared by pages, admin, services and the invoice renderer."""

from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from common.money import format_euros
from common.permissions import events_for, scope_events
from events.models import Event
from participants.models import Registration, Ticket

from .models import Invoice, Payment, Refund
from .vat import vat_split


@dataclass(frozen=True)
class TicketLine:
    """Tickets of one type on a booking, priced incl. VAT."""

    ticket_type_id: int
    name: str
    quantity: int
    unit_price_cents: int
    vat_rate: Decimal

    @property
    def gross_cents(self) -> int:
        return self.quantity * self.unit_price_cents


def ticket_lines(*, tickets, amounts: dict[int, int] | None = None) -> list[TicketLine]:
    """Group tickets by ticket type (paid types only), in ticket-type order.

    With `amounts` (ticket id -> cents) a line's unit price is that amount instead of the
    ticket price (a partial refund): tickets of one type with different amounts get a line
    each, and tickets with nothing to credit are left out.
    """
    grouped: OrderedDict[tuple[int, int], list] = OrderedDict()
    for ticket in sorted(
        tickets, key=lambda t: (t.ticket_type.position, t.ticket_type.name, t.ticket_type_id)
    ):
        if ticket.ticket_type.price_cents <= 0:
            continue
        unit = ticket.ticket_type.price_cents if amounts is None else amounts.get(ticket.pk, 0)
        if unit <= 0:
            continue
        grouped.setdefault((ticket.ticket_type_id, unit), []).append(ticket)
    return [
        TicketLine(
            ticket_type_id=type_id,
            name=group[0].ticket_type.name,
            quantity=len(group),
            unit_price_cents=unit,
            vat_rate=group[0].ticket_type.vat_rate,
        )
        for (type_id, unit), group in grouped.items()
    ]


# --- Payment methods: the one place that says what a booking can be paid with now -----------

ONLINE = Registration.PaymentMethod.ONLINE
INVOICE = Registration.PaymentMethod.INVOICE


def online_payment_configured() -> bool:
    """Whether this deployment can take payments online: a Stripe account is configured.

    Without one (the embedded default) iDEAL and card are never offered. An outage of a
    configured provider does not take the method away: it is temporary, so the pay page says
    so and the hold is kept (services.checkout_start, services.holds_expire)."""
    return bool(settings.STRIPE_SECRET_KEY)


def payment_methods_available(*, for_organisation: bool) -> list[str]:
    """The methods a booking with paid tickets can be paid with now, in the order offered.

    online (iDEAL, card): only when online_payment_configured(). invoice: only for a booking
    made for an organisation (the invoice needs a buyer; the database holds the same rule).
    The public booking form asks with ``for_organisation=True`` to show the choice and again
    with what was typed; the API books for its token's organisation; the pages of a booking
    awaiting payment offer "Pay now" only when online is in the list."""
    methods = []
    if online_payment_configured():
        methods.append(ONLINE)
    if for_organisation:
        methods.append(INVOICE)
    return methods


def payment_method_refusal(*, method: str, for_organisation: bool) -> str | None:
    """Why a booking with paid tickets cannot be paid with ``method`` now (a translated
    message for the payment_method field), or None when it can."""
    available = payment_methods_available(for_organisation=for_organisation)
    if method in available:
        return None
    if method == ONLINE:
        if INVOICE in available:
            return _("Paying online is not available at the moment. Choose payment by invoice.")
        return _(
            "Paying online is not available at the moment. Paid tickets can only be booked on "
            "invoice to an organisation: fill in its name and KvK number."
        )
    if method == INVOICE:
        return _("Paying by invoice is only possible when booking for an organisation.")
    return _("Choose a payment method.")


def booking_payable_online(*, registration: Registration) -> bool:
    """Whether the pages of this booking offer "Pay now" (Stripe Checkout)."""
    return (
        registration.status == Registration.Status.AWAITING_PAYMENT
        and ONLINE in payment_methods_available(for_organisation=False)
    )


def last_attempt_failed_at_provider(*, registration: Registration) -> bool:
    """Whether our latest try to start paying this booking online failed at the payment
    provider (unreachable, 5xx, timeout): then running out of time is not the booker's doing."""
    last = registration.payments.order_by("-attempt", "-pk").only("status").first()
    return last is not None and last.status == Payment.Status.PROVIDER_ERROR


def registration_ticket_lines(*, registration: Registration, statuses=None) -> list[TicketLine]:
    statuses = statuses or Ticket.HOLDS_PLACE
    tickets = registration.tickets.filter(status__in=statuses).select_related("ticket_type")
    return ticket_lines(tickets=list(tickets))


def registration_amount_due(*, registration: Registration) -> int:
    return sum(line.gross_cents for line in registration_ticket_lines(registration=registration))


# --- Refund policy (events.Event.refund_percent / refund_fee_cents) --------------------------


def refund_cents_by_policy(*, price_cents: int, percent: int, fee_cents: int) -> int:
    """One cancelled ticket's refund: price x percent / 100, rounded down to whole cents (so
    never above the percentage), minus the fee, and never below zero."""
    return max(0, price_cents * percent // 100 - fee_cents)


def refund_amount_for_ticket(
    ticket: Ticket, *, event: Event | None = None, by_organiser: bool = False
) -> int:
    """What cancelling this ticket refunds under its event's policy (cents), before the cap
    of what is left on the payment. Free tickets refund nothing. A cancelled event, or a
    ticket the organiser cancels, refunds in full: the booker did not choose to cancel, so
    their cancellation policy does not apply."""
    price = ticket.ticket_type.price_cents
    if price <= 0:
        return 0
    event = event or ticket.event
    if by_organiser or event.status == Event.Status.CANCELLED:
        return price
    return refund_cents_by_policy(
        price_cents=price, percent=event.refund_percent, fee_cents=event.refund_fee_cents
    )


def cancellation_refund_amounts(
    *, tickets, event: Event, cap: int, by_organiser: bool = False
) -> dict[int, int]:
    """Per ticket (id -> cents) what cancelling refunds under the policy, the total never
    above `cap` (what is left to refund on the payment). Tickets are taken in id order and
    the last ones give way, so the same tickets always give the same split."""
    amounts: dict[int, int] = {}
    left = max(cap, 0)
    for ticket in sorted(tickets, key=lambda t: t.pk):
        amount = min(refund_amount_for_ticket(ticket, event=event, by_organiser=by_organiser), left)
        amounts[ticket.pk] = amount
        left -= amount
    return amounts


def payment_to_refund_get(*, registration_id: int) -> Payment | None:
    """The online payment that cancelled tickets of a booking are refunded from: the first
    one received and not yet refunded in full."""
    return (
        Payment.objects.filter(
            registration_id=registration_id,
            status__in=(Payment.Status.PAID, Payment.Status.PARTIALLY_REFUNDED),
        )
        .order_by("paid_at", "pk")
        .first()
    )


def payment_refundable_cents(payment: Payment) -> int:
    """What may still be refunded: the amount minus our refunds that did not fail, minus
    what Stripe reported refunded beyond our succeeded ones (refunds made in the Stripe
    dashboard have no row here; Stripe would refuse a refund above the rest)."""
    sums = payment.refunds.aggregate(
        open_or_done=Sum("amount_cents", filter=~Q(status=Refund.Status.FAILED), default=0),
        done=Sum("amount_cents", filter=Q(status=Refund.Status.SUCCEEDED), default=0),
    )
    outside = max(0, payment.amount_refunded_cents - sums["done"])
    return payment.amount_cents - sums["open_or_done"] - outside


@dataclass(frozen=True)
class CancellationRefund:
    """What cancelling paid tickets gives back, for the booker's pages and mails (cents)."""

    price_cents: int
    refund_cents: int
    policy_text: str

    @property
    def is_full(self) -> bool:
        return self.refund_cents >= self.price_cents


def cancellation_refund_get(*, tickets) -> CancellationRefund | None:
    """What cancelling these (still active) tickets would refund now, the way
    services.tickets_cancelled will work it out. None when none of them was paid online
    (free tickets, a booking paid by invoice or not paid yet): nothing goes back by iDEAL or
    card then."""
    tickets = [t for t in tickets if t.ticket_type.price_cents > 0]
    price = refund = 0
    event = None
    by_registration: dict[int, list[Ticket]] = {}
    for ticket in tickets:
        by_registration.setdefault(ticket.registration_id, []).append(ticket)
    for registration_id, group in by_registration.items():
        payment = payment_to_refund_get(registration_id=registration_id)
        if payment is None:
            continue
        event = event or Event.objects.get(pk=group[0].event_id)
        amounts = cancellation_refund_amounts(
            tickets=group, event=event, cap=payment_refundable_cents(payment)
        )
        price += sum(t.ticket_type.price_cents for t in group)
        refund += sum(amounts.values())
    if event is None:
        return None
    return CancellationRefund(
        price_cents=price, refund_cents=refund, policy_text=refund_policy_text(event)
    )


def cancelled_ticket_refund_get(*, ticket: Ticket) -> CancellationRefund | None:
    """What the policy refunded for a ticket that was cancelled (for its cancellation mail).
    None when the ticket is not cancelled (a handed-over ticket also gets that mail) or was
    not paid online."""
    if ticket.status != Ticket.Status.CANCELLED or ticket.ticket_type.price_cents <= 0:
        return None
    if not Payment.objects.filter(
        registration_id=ticket.registration_id, status__in=Payment.RECEIVED
    ).exists():
        return None
    event = Event.objects.get(pk=ticket.event_id)
    return CancellationRefund(
        price_cents=ticket.ticket_type.price_cents,
        refund_cents=refund_amount_for_ticket(ticket, event=event),
        policy_text=refund_policy_text(event),
    )


def refund_policy_text(event: Event) -> str:
    """The event's refund policy in one sentence, in the active language; empty for a full
    refund (the default, which needs no words)."""
    if event.refund_is_full:
        return ""
    if event.refund_percent <= 0:
        return _("Cancelled tickets are not refunded.")
    if event.refund_fee_cents <= 0:
        return _("If you cancel, %(percent)s%% of the ticket price is refunded.") % {
            "percent": event.refund_percent
        }
    if event.refund_percent >= 100:
        return _(
            "If you cancel, the ticket price is refunded minus a cancellation fee of %(fee)s "
            "per ticket."
        ) % {"fee": format_euros(event.refund_fee_cents)}
    return _(
        "If you cancel, %(percent)s%% of the ticket price is refunded, minus a cancellation "
        "fee of %(fee)s per ticket."
    ) % {"percent": event.refund_percent, "fee": format_euros(event.refund_fee_cents)}


def scoped_events(user) -> QuerySet:
    """Events whose payment pages the user may use: every event for an organiser
    administrator, their campaigns' events for a campaign manager, none otherwise."""
    return events_for(user, "manage")


def scoped_payments(user) -> QuerySet[Payment]:
    """Payments of the events in scoped_events(user) (the one scoping rule of this app)."""
    return scope_events(
        Payment.objects.select_related("registration__event"),
        user,
        field="registration__event",
    )


def scoped_invoices(user) -> QuerySet[Invoice]:
    """Invoices and credit notes of the events in scoped_events(user)."""
    return scope_events(
        Invoice.objects.select_related("registration"), user, field="registration__event"
    )


def payment_list(*, event_id: int) -> QuerySet[Payment]:
    return (
        Payment.objects.filter(registration__event_id=event_id)
        .select_related("registration", "registration__booker", "registration__organisation")
        .order_by("-created_at", "-id")
    )


def refund_list(*, event_id: int) -> QuerySet[Refund]:
    return (
        Refund.objects.filter(payment__registration__event_id=event_id)
        .select_related("payment", "payment__registration")
        .order_by("-created_at", "-id")
    )


def invoice_list(*, event_id: int | None = None, status: str | None = None) -> QuerySet[Invoice]:
    qs = Invoice.objects.select_related("registration", "original").order_by("-year", "-sequence")
    if event_id is not None:
        qs = qs.filter(registration__event_id=event_id)
    if status:
        qs = qs.filter(status=status)
    return qs


def invoice_overdue_list(*, today=None) -> QuerySet[Invoice]:
    today = today or timezone.localdate()
    return Invoice.objects.filter(
        kind=Invoice.Kind.INVOICE,
        payment_method=Invoice.PaymentMethod.INVOICE,
        status=Invoice.Status.OPEN,
        due_date__lt=today,
    )


def event_payment_totals(*, event_id: int) -> dict:
    """Money figures for the organiser page of one event (cents)."""
    payments = Payment.objects.filter(registration__event_id=event_id).aggregate(
        received=Sum("amount_cents", filter=Q(status__in=Payment.RECEIVED), default=0),
        refunded=Sum("amount_refunded_cents", default=0),
        open_count=Count("id", filter=Q(status=Payment.Status.OPEN)),
    )
    invoices = Invoice.objects.filter(registration__event_id=event_id).aggregate(
        invoiced=Sum("total_gross_cents", filter=Q(kind=Invoice.Kind.INVOICE), default=0),
        credited=Sum("total_gross_cents", filter=Q(kind=Invoice.Kind.CREDIT_NOTE), default=0),
        vat=Sum("total_vat_cents", default=0),
        unpaid=Sum(
            "total_gross_cents",
            filter=Q(kind=Invoice.Kind.INVOICE, status=Invoice.Status.OPEN),
            default=0,
        ),
    )
    return {
        **payments,
        **invoices,
        "net_received": payments["received"] - payments["refunded"],
    }


def _unit_net(line) -> int:
    sign = -1 if line.unit_price_cents < 0 else 1
    return sign * vat_split(gross_cents=abs(line.unit_price_cents), rate=line.vat_rate)[0]


def invoice_document_data(*, invoice: Invoice) -> dict:
    """Everything the invoice PDF shows, as plain values (the renderer reads nothing else)."""
    lines = [
        {
            "description": line.description,
            "quantity": line.quantity,
            "unit_price_cents": line.unit_price_cents,
            # Dutch invoice rules ask for the unit price excl. VAT; ticket prices are kept
            # incl. VAT, so it is derived the way the line's net amount is.
            "unit_net_cents": _unit_net(line),
            "net_cents": line.net_cents,
            "vat_rate": line.vat_rate,
            "vat_cents": line.vat_cents,
            "gross_cents": line.gross_cents,
        }
        for line in invoice.lines.all()
    ]
    vat_by_rate: OrderedDict[Decimal, dict] = OrderedDict()
    for line in lines:
        bucket = vat_by_rate.setdefault(line["vat_rate"], {"net_cents": 0, "vat_cents": 0})
        bucket["net_cents"] += line["net_cents"]
        bucket["vat_cents"] += line["vat_cents"]
    registration = invoice.registration
    return {
        "number": invoice.number,
        "kind": invoice.kind,
        "is_credit_note": invoice.is_credit_note,
        "original_number": invoice.original.number if invoice.original_id else "",
        "original_issue_date": invoice.original.issue_date if invoice.original_id else None,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "status": invoice.status,
        "payment_method": invoice.payment_method,
        "paid_at": invoice.paid_at,
        "seller": {
            "name": invoice.seller_name,
            "address": invoice.seller_address,
            "kvk": invoice.seller_kvk,
            "vat_number": invoice.seller_vat_number,
            "iban": invoice.seller_iban,
        },
        "buyer": {
            "name": invoice.buyer_name,
            "contact": invoice.buyer_contact,
            "address": invoice.buyer_address,
            "vat_number": invoice.buyer_vat_number,
            "email": invoice.buyer_email,
        },
        "booking_code": registration.code,
        "event_title": registration.event.title,
        "event_starts_at": registration.event.starts_at,
        "lines": lines,
        "vat_by_rate": [{"rate": rate, **amounts} for rate, amounts in vat_by_rate.items()],
        "total_net_cents": invoice.total_net_cents,
        "total_vat_cents": invoice.total_vat_cents,
        "total_gross_cents": invoice.total_gross_cents,
        "language": invoice.language,
    }
