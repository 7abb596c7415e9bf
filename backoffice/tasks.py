from celery import shared_task

from . import services


# The documents queue: a big export must not delay ticket mails on the mail queue.
@shared_task(queue="documents", acks_late=True)
def render_export_task(job_id: int) -> None:
    services.export_job_run(job_id=job_id)


@shared_task(ignore_result=True)
def resume_export_jobs_task() -> int:
    """Periodic: publish the render task again for export jobs whose task was lost."""
    return services.export_jobs_resume()
