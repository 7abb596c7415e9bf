"""Points where the registration services tell payments about a change.

Called by participants.services inside the business transaction (the caller holds the event
lock). The bodies live in payments.services; these stay the stable entry points.
"""


def on_registration_created(*, registration) -> None:
    """A booking with at least one paid ticket was created (status awaiting_payment, or
    confirmed when paying by invoice). Invoice bookings get their invoice issued and mailed
    here, with the confirmation; online bookings pay through payments:checkout."""
    from . import services

    services.registration_created(registration=registration)


def on_tickets_cancelled(*, tickets, by_organiser: bool = False) -> None:
    """Tickets were cancelled (by the attendee, booker, organisation or organiser): refund
    what was paid for them under the event's refund policy (percent of the price minus a
    fee per ticket; in full by default or when the event itself was cancelled) and issue a
    credit note for the refunded part; an unpaid invoice is credited in full instead. The
    caller has checked the cancellation deadline. ``by_organiser``: the organiser cancelled
    them, which refunds in full whatever the policy."""
    from . import services

    services.tickets_cancelled(tickets=tickets, by_organiser=by_organiser)
