"""The one locking helper for capacity: every change to places taken goes through here."""

from django.db import connection

from common.prepared import PreparedQuery

from .models import Event

# Every booking, cancellation and offer runs this: compiled once (common.prepared).
# FOR NO KEY UPDATE: writers of the same event exclude each other, but a booking that has
# already inserted its tickets (whose foreign key takes KEY SHARE on the event row) is not
# blocked by, and does not block, the lock; FOR UPDATE would make two such bookings deadlock.
_locked_event = PreparedQuery(lambda pk: Event.objects.select_for_update(no_key=True).filter(pk=pk))


def lock_event(event_id: int) -> Event:
    """Lock the event row and return it, fresh from the database.

    Precondition: the caller is inside ``transaction.atomic()``; the lock is held until that
    transaction ends. Every service that creates, reactivates or cancels tickets or waiting-list
    offers for an event calls this before it counts places, so "count places, then commit"
    never interleaves with another writer for the same event. (A new booking inserts its rows
    first and counts them with the others under the lock; see registration_create.)

    PostgreSQL: ``SELECT ... FOR NO KEY UPDATE``. SQLite ignores FOR UPDATE, but the settings
    open every transaction with ``BEGIN IMMEDIATE``, which takes the database write lock up
    front, so writers serialise there too.
    """
    if not connection.in_atomic_block:
        # Without a transaction FOR UPDATE would lock nothing past this statement.
        raise RuntimeError("lock_event() must be called inside transaction.atomic()")
    event = _locked_event.first(event_id)
    if event is None:
        raise Event.DoesNotExist(f"Event {event_id} does not exist")
    return event
