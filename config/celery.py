import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("werkstress")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _prepare_worker_process(**_kwargs) -> None:
    # Each prefork child, once it has the application: see common.runtime.
    from common.runtime import prepare_server_process

    prepare_server_process()
