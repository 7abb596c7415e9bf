from celery import shared_task

from . import services


@shared_task(name="schools.tasks.complete_school_sessions_task")
def complete_school_sessions_task() -> int:
    """Periodic (hourly): sessions that ended become held and both sides get a feedback link.

    Idempotent: a held session is skipped and each feedback mail has a fixed outbox key.
    """
    return services.school_sessions_complete_due()
