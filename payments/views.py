"""Payment pages, the Stripe webhook and the organiser's payment pages. Thin: parse, one
service call, render."""

import logging
import secrets

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from common.errors import RuleViolation
from common.permissions import CAMPAIGN_MANAGER, organiser_required
from participants.links import booking_from_token
from participants.models import Registration

from . import selectors, services
from .forms import RefundForm
from .models import Invoice, Payment
from .renderers import render_invoice_pdf

logger = logging.getLogger(__name__)


def _booking_or_invalid(request: HttpRequest, token: str):
    try:
        return booking_from_token(token), None
    except RuleViolation:
        return None, render(request, "payments/invalid_link.html", status=404)


@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what will be paid; POST starts (or resumes) Stripe Checkout."""
    registration, invalid = _booking_or_invalid(request, token)
    if invalid:
        return invalid
    error = error_code = None
    if request.method == "POST":
        # SITE_URL, not the request's Host header: these addresses leave our hands.
        base = settings.SITE_URL
        try:
            payment = services.checkout_start(
                registration=registration,
                success_url=base
                + reverse("payments:checkout_return", kwargs={"token": token})
                + "?session_id={CHECKOUT_SESSION_ID}",
                cancel_url=base + reverse("payments:checkout", kwargs={"token": token}),
            )
        except RuleViolation as exc:
            error, error_code = exc.message, exc.code
        else:
            # 303: the browser follows with a GET to Stripe's page.
            response = HttpResponseRedirect(payment.checkout_url)
            response.status_code = 303
            return response
    context = {
        "registration": registration,
        "event": registration.event,
        "token": token,
        "lines": selectors.registration_ticket_lines(registration=registration),
        "amount_cents": selectors.registration_amount_due(registration=registration),
        "payable": registration.status == Registration.Status.AWAITING_PAYMENT,
        "online_available": selectors.online_payment_configured(),
        "error": error,
        "provider_down": error_code == "provider_unavailable",
    }
    # 503 when the provider is down: a temporary outage of the service, not of the request.
    status = 503 if error_code == "provider_unavailable" else 409 if error else 200
    response = render(request, "payments/checkout.html", context, status=status)
    if status == 503:
        response["Retry-After"] = "60"
    return response


def checkout_return(request: HttpRequest, token: str) -> HttpResponse:
    """Where Stripe sends the booker back. Never confirms anything itself: only the verified
    webhook does; until then the page says the payment is being processed."""
    registration, invalid = _booking_or_invalid(request, token)
    if invalid:
        return invalid
    return render(
        request,
        "payments/checkout_return.html",
        {
            "registration": registration,
            "event": registration.event,
            "token": token,
            "confirmed": registration.status == Registration.Status.CONFIRMED,
            "payable": registration.status == Registration.Status.AWAITING_PAYMENT,
        },
    )


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    try:
        services.webhook_receive(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except RuleViolation as exc:
        logger.warning("rejected Stripe webhook: %s", exc.code)
        return HttpResponseBadRequest(exc.code)
    return HttpResponse("ok")


def booking_invoice_pdf(request: HttpRequest, token: str, invoice_id: int) -> HttpResponse:
    """The booker downloads an invoice of their own booking through their signed link."""
    registration, invalid = _booking_or_invalid(request, token)
    if invalid:
        return invalid
    invoice = get_object_or_404(Invoice, pk=invoice_id, registration=registration)
    return _pdf_response(invoice)


def _pdf_response(invoice: Invoice) -> HttpResponse:
    response = HttpResponse(render_invoice_pdf(invoice.pk), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{invoice.number}.pdf"'
    return response


# --- organiser pages ----------------------------------------------------------------------------
# Organiser administrators: every event; campaign managers: the events of their campaigns, and
# that includes refunds and marking invoices paid (docs/permissions.md); check-in staff and
# everyone else: 403. Objects are looked up through the scoped querysets of
# payments.selectors, so another campaign's event, payment or invoice is a 404.

organiser_payments_required = organiser_required(role=CAMPAIGN_MANAGER)


@organiser_payments_required
def event_payments(request: HttpRequest, event_id: int) -> HttpResponse:
    event = get_object_or_404(selectors.scoped_events(request.user), pk=event_id)
    payments = list(selectors.payment_list(event_id=event.pk))
    for payment in payments:
        payment.refundable_cents = payment.amount_cents - payment.amount_refunded_cents
    return render(
        request,
        "payments/event_payments.html",
        {
            "event": event,
            "payments": payments,
            "refunds": selectors.refund_list(event_id=event.pk),
            "invoices": selectors.invoice_list(event_id=event.pk),
            "totals": selectors.event_payment_totals(event_id=event.pk),
            "request_key": secrets.token_urlsafe(16),
            "refundable": (Payment.Status.PAID, Payment.Status.PARTIALLY_REFUNDED),
            # Overdue invoices are marked with their reminder count: the organiser sees who
            # was chased and for how long before calling the buyer.
            "today": timezone.localdate(),
        },
    )


@organiser_payments_required
@require_http_methods(["GET", "POST"])
def payment_refund(request: HttpRequest, payment_id: int) -> HttpResponse:
    payment = get_object_or_404(selectors.scoped_payments(request.user), pk=payment_id)
    event = payment.registration.event
    form = RefundForm(
        request.POST or None,
        initial={
            "amount": (payment.amount_cents - payment.amount_refunded_cents) / 100,
            "request_key": secrets.token_urlsafe(16),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.refund_by_organiser(
                payment=payment,
                amount_cents=form.amount_cents(),
                request_key=form.cleaned_data["request_key"],
                actor=request.user,
                request=request,
            )
        except RuleViolation as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            messages.success(request, _("The refund was started."))
            return redirect("payments:event_payments", event_id=event.pk)
    return render(
        request,
        "payments/refund_form.html",
        {"payment": payment, "event": event, "form": form},
        status=400 if form.errors else 200,
    )


@organiser_payments_required
@require_POST
def invoice_mark_paid(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = get_object_or_404(selectors.scoped_invoices(request.user), pk=invoice_id)
    try:
        services.invoice_mark_paid(invoice=invoice, actor=request.user, request=request)
    except RuleViolation as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("Invoice %(number)s is marked as paid.") % {"number": invoice.number}
        )
    return redirect("payments:event_payments", event_id=invoice.registration.event_id)


@organiser_payments_required
def invoice_pdf(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = get_object_or_404(selectors.scoped_invoices(request.user), pk=invoice_id)
    return _pdf_response(invoice)
