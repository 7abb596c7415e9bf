"""Celery tasks for mailings: take ids, call a service. No business rules.

Routed to the `default` queue (settings.CELERY_TASK_ROUTES sends only communications' send_*
tasks to `mail`): the job only writes outbox rows; their delivery goes through the mail queue.
"""

from celery import shared_task

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_mailing_task(mailing_id: int) -> str:
    """Queue a mailing's outbox mails in batches (services.mailing_send_run). Idempotent: a
    redelivered or repeated task resumes and adds nothing twice. A failure is not retried
    here; the sweeper (resume_mailings_task) queues a stale mailing again."""
    return services.mailing_send_run(mailing_id=mailing_id).status


@shared_task(ignore_result=True)
def resume_mailings_task() -> int:
    """Periodic: queue the send job again for mailings whose task was lost."""
    return services.mailings_resume()
