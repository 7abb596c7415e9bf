from celery import shared_task

from .services import idempotency_records_purge


@shared_task
def purge_idempotency_records_task() -> int:
    """Periodic: forget Idempotency-Key responses older than 24 hours. Idempotent."""
    return idempotency_records_purge()
