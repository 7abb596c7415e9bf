"""Periodic privacy jobs. Thin: the rules live in privacy.services."""

from celery import shared_task
from django.apps import apps

from . import services


@shared_task(acks_late=True, ignore_result=True)
def anonymise_expired_task() -> int:
    """Daily: anonymise personal data of events past their retention period, and delete
    back-office export files past their keep period (copies of the same personal data).
    Idempotent (a second run finds nothing left), so a redelivered or doubled message is
    harmless."""
    anonymised = len(services.retention_run())
    if apps.is_installed("backoffice"):
        from backoffice.services import export_files_expire

        export_files_expire()
    return anonymised
