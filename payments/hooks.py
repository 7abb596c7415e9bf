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


def on_tickets_cancelled(*, tickets) -> None:
    """Tickets were cancelled (by the attendee, booker, organisation or organiser): refund
    what was paid for them in full (the cancellation deadline, checked by the caller, is the
    policy) and issue a credit note; an unpaid invoice is credited instead."""
    from . import services

    services.tickets_cancelled(tickets=tickets)
