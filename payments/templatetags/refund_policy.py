"""The event's refund policy for pages and mails outside payments (event page, cancel page,
ticket_cancelled mail), so their views need no payments code."""

from django import template

from payments import selectors

register = template.Library()


@register.simple_tag
def refund_policy_text(event):
    """One sentence on what a cancelled ticket gets back; empty for a full refund."""
    return selectors.refund_policy_text(event)


@register.simple_tag
def event_has_paid_tickets(event):
    return event.ticket_types.filter(price_cents__gt=0).exists()


@register.simple_tag
def cancellation_refund(tickets):
    """What cancelling these active tickets refunds (CancellationRefund), or None."""
    return selectors.cancellation_refund_get(tickets=list(tickets))


@register.simple_tag
def cancelled_ticket_refund(ticket):
    """What the policy refunded for a cancelled ticket (CancellationRefund), or None."""
    return selectors.cancelled_ticket_refund_get(ticket=ticket) if ticket else None
