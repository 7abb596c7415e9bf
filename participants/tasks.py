"""Periodic registration jobs. Thin: the rules live in participants.services."""

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def expire_waitlist_offers_task() -> int:
    """Expire waiting-list offers whose time ran out and offer the places to the next people.

    Safe to run twice at once: each event is handled under its row lock and only offers that
    are still open and overdue are touched.
    """
    return services.waitlist_expire_offers()
