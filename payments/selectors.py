"""Reads of payments shared by pages, admin, services and the invoice renderer."""

from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from common.permissions import events_for, scope_events
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


def ticket_lines(*, tickets) -> list[TicketLine]:
    """Group tickets by ticket type (paid types only), in ticket-type order."""
    grouped: OrderedDict[int, list] = OrderedDict()
    for ticket in sorted(
        tickets, key=lambda t: (t.ticket_type.position, t.ticket_type.name, t.ticket_type_id)
    ):
        if ticket.ticket_type.price_cents <= 0:
            continue
        grouped.setdefault(ticket.ticket_type_id, []).append(ticket)
    return [
        TicketLine(
            ticket_type_id=type_id,
            name=group[0].ticket_type.name,
            quantity=len(group),
            unit_price_cents=group[0].ticket_type.price_cents,
            vat_rate=group[0].ticket_type.vat_rate,
        )
        for type_id, group in grouped.items()
    ]


def registration_ticket_lines(*, registration: Registration, statuses=None) -> list[TicketLine]:
    statuses = statuses or Ticket.HOLDS_PLACE
    tickets = registration.tickets.filter(status__in=statuses).select_related("ticket_type")
    return ticket_lines(tickets=list(tickets))


def registration_amount_due(*, registration: Registration) -> int:
    return sum(line.gross_cents for line in registration_ticket_lines(registration=registration))


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
