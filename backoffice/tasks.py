from celery import shared_task

from . import services


# The documents queue: a big export must not delay ticket mails on the mail queue.
@shared_task(queue="documents", acks_late=True)
def render_export_task(job_id: int) -> None:
    services.export_job_run(job_id=job_id)
