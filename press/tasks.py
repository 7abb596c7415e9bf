from celery import shared_task

from . import services


@shared_task
def send_press_reminders_task() -> int:
    """Hourly (beat). Idempotent: each reminder has its own outbox key."""
    return services.press_reminders_send()
