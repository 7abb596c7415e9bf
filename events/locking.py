"""The one locking helper for capacity: every change to places taken goes through here."""

from django.db import connection

from .models import Event


def lock_event(event_id: int) -> Event:
    """Lock the event row and return it, fresh from the database.

    Precondition: the caller is inside ``transaction.atomic()``; the lock is held until that
    transaction ends. Every service that creates, reactivates or cancels tickets or waiting-list
    offers for an event calls this first, so "count places, then write" never interleaves with
    another writer for the same event.

    PostgreSQL: ``SELECT ... FOR UPDATE``. SQLite ignores FOR UPDATE, but the settings open every
    transaction with ``BEGIN IMMEDIATE``, which takes the database write lock up front, so
    writers serialise there too.
    """
    if not connection.in_atomic_block:
        # Without a transaction FOR UPDATE would lock nothing past this statement.
        raise RuntimeError("lock_event() must be called inside transaction.atomic()")
    return Event.objects.select_for_update().get(pk=event_id)
