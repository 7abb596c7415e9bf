"""Queue routing and the beat schedule point at tasks that exist."""

from django.conf import settings

from config.celery import app


def _queue(task_name: str) -> str:
    route = app.amqp.router.route({}, task_name)
    return route["queue"].name


def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name


def test_mail_documents_and_default_queues_are_separate():
    app.loader.import_default_modules()
    assert _queue("communications.tasks.send_mail_task") == "mail"
    assert _queue("communications.tasks.sweep_outbox_task") == "default"
    assert _queue("participants.tasks.expire_waitlist_offers_task") == "default"
    render_tasks = [name for name in app.tasks if ".render_" in name and "communications" in name]
    assert render_tasks, "the certificate runs' render_* tasks exist"
    assert {_queue(name) for name in render_tasks} == {"documents"}
