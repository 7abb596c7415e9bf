"""Celery tasks: ids in, one service call, idempotent. No business rules here."""

from celery import shared_task
from stripe import APIConnectionError, APIError, RateLimitError

from . import services


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(APIConnectionError, APIError, RateLimitError),
    retry_backoff=30,
    max_retries=10,
)
def send_refund_task(self, refund_id: int) -> str:
    return services.refund_send(refund_id=refund_id)


@shared_task(acks_late=True)
def expire_holds_task() -> int:
    return services.holds_expire()


@shared_task(acks_late=True)
def remind_invoices_task() -> int:
    return services.invoice_reminders_send()


@shared_task(acks_late=True)
def retry_refunds_task() -> int:
    return services.refunds_retry_pending()
