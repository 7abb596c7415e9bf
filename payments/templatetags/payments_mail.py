"""Read-only lookups for the payment mails, whose outbox context holds only ids."""

from django import template
from django.conf import settings
from django.urls import reverse

from payments.models import Invoice, Payment, Refund

register = template.Library()


@register.simple_tag
def invoice_get(invoice_id):
    return Invoice.objects.filter(pk=invoice_id).first() if invoice_id else None


@register.simple_tag
def refund_get(refund_id):
    return Refund.objects.filter(pk=refund_id).first() if refund_id else None


@register.simple_tag
def payment_get(payment_id):
    return Payment.objects.filter(pk=payment_id).first() if payment_id else None


@register.simple_tag
def checkout_url(registration):
    """Absolute link to the payment page of a booking (signed booking token)."""
    from participants.links import booking_token

    token = booking_token(registration)
    return settings.SITE_URL + reverse("payments:checkout", kwargs={"token": token})
