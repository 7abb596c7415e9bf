"""Periodic privacy jobs. Thin: the rules live in privacy.services."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def anonymise_expired_task() -> int:
    """Daily: anonymise personal data of events past their retention period. Idempotent (a
    second run finds nothing left), so a redelivered or doubled message is harmless."""
    return len(services.retention_run())
