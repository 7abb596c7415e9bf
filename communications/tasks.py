"""Celery tasks: take ids, load rows, call a renderer or sender, set status. No business rules.

Routing (settings.CELERY_TASK_ROUTES): `send_*` go to the `mail` queue, `render_*` to
`documents`, the rest to `default`, so a certificate run never delays a confirmation.
"""

import logging

from celery import shared_task
from celery.signals import worker_process_shutdown

from . import sending, services

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_mail_task(mail_id: int) -> str:
    """Deliver one outbox row. Idempotent; failures are retried by the sweeper, not by Celery
    ETA tasks (see communications.sending)."""
    return sending.mail_send(mail_id=mail_id).status


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_mails_task(mail_ids: list[int]) -> int:
    """Deliver a batch of outbox rows over one SMTP connection (communications.sending
    .mails_send); returns how many were sent. Idempotent per row, like send_mail_task: a
    redelivered batch only sends what is still due."""
    outcomes = sending.mails_send(mail_ids=mail_ids)
    return sum(1 for outcome in outcomes.values() if outcome.status == "sent")


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def render_ticket_pdfs_task(ticket_ids: list[int]) -> int:
    """Render and store the ticket PDFs of a batch of confirmed bookings (documents queue).
    Idempotent: PDFs already stored are skipped."""
    from .documents import ticket_pdfs_prepare

    return ticket_pdfs_prepare(ticket_ids=ticket_ids)


@shared_task(ignore_result=True)
def sweep_outbox_task() -> int:
    """Periodic (beat: every 15 s): queue outbox rows whose task message was lost, whose
    back-off is over, or whose sending worker died (its claim lease ran out)."""
    return services.outbox_sweep()


@shared_task(ignore_result=True)
def queue_event_reminders_task() -> int:
    """Periodic (hourly): the day-before reminder for every valid ticket."""
    return services.event_reminders_queue()


@worker_process_shutdown.connect
def _close_smtp(**_kwargs) -> None:
    # Say QUIT to the SMTP server instead of leaving a half-open connection behind.
    sending.close_connections()
