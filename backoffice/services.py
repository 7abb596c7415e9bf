"""Export jobs: created by a view, written by a worker on the documents queue."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import RuleViolation

from .exports import export_prepare, export_specs, write_csv, write_xlsx
from .models import ExportJob
from .permissions import is_organiser, may_see_campaign
from .storage import export_storage

logger = logging.getLogger(__name__)

# A job still "running" after this long lost its worker (killed, redeployed); a redelivered
# task message may take it over.
STALE_AFTER = timedelta(minutes=15)


def export_sync_max_rows() -> int:
    """Exports up to this many rows are streamed in the request; larger ones become jobs."""
    return getattr(settings, "BACKOFFICE_EXPORT_SYNC_MAX_ROWS", 5000)


def export_filters_check(
    *, user, kind: str, fmt: str, campaign_id: int | None, event_id: int | None
) -> None:
    """Raise RuleViolation unless `user` may export `kind` in `fmt` for this campaign/event."""
    errors: dict[str, list[str]] = {}
    if not is_organiser(user):
        raise RuleViolation(_("You may not export data."), code="not_allowed", conflict=True)
    if kind not in export_specs():
        errors["kind"] = [_("Choose a kind of export.")]
    if fmt not in ExportJob.Format.values:
        errors["format"] = [_("Choose CSV or Excel.")]
    if campaign_id is not None and not may_see_campaign(user, campaign_id):
        errors["campaign"] = [_("Choose one of your campaigns.")]
    if event_id is not None:
        from events.models import Event

        event = Event.objects.filter(pk=event_id).only("campaign_id").first()
        if event is None or not may_see_campaign(user, event.campaign_id):
            errors["event"] = [_("Choose an event of one of your campaigns.")]
    if errors:
        raise RuleViolation(
            _("Please correct the marked fields."), code="invalid", conflict=False, errors=errors
        )


def export_job_create(
    *,
    user,
    kind: str,
    fmt: str,
    campaign_id: int | None = None,
    event_id: int | None = None,
    language: str = "nl",
    rows_total: int = 0,
) -> ExportJob:
    """Record the job and queue the worker once the row is committed."""
    export_filters_check(user=user, kind=kind, fmt=fmt, campaign_id=campaign_id, event_id=event_id)
    from .tasks import render_export_task

    with transaction.atomic():
        job = ExportJob.objects.create(
            kind=kind,
            format=fmt,
            filters={"campaign": campaign_id, "event": event_id, "language": language},
            rows_total=rows_total,
            requested_by=user,
        )
        transaction.on_commit(lambda: render_export_task.delay(job.pk))
    return job


def export_job_run(*, job_id: int) -> ExportJob | None:
    """Write the job's file. Idempotent: a finished job, or one another worker is busy with,
    is left alone. The rows are those the requester may see at the time the job runs."""
    now = timezone.now()
    with transaction.atomic():
        claimed = (
            ExportJob.objects.filter(pk=job_id)
            .filter(
                Q(status=ExportJob.Status.QUEUED)
                | Q(status=ExportJob.Status.RUNNING, started_at__lt=now - STALE_AFTER)
            )
            .update(status=ExportJob.Status.RUNNING, started_at=now, rows_done=0, error="")
        )
    if not claimed:
        return None
    job = ExportJob.objects.select_related("requested_by").get(pk=job_id)
    filters = job.filters or {}
    try:
        prepared = export_prepare(
            kind=job.kind,
            user=job.requested_by,
            campaign_id=filters.get("campaign"),
            event_id=filters.get("event"),
            language=filters.get("language") or "nl",
        )
        total = prepared.count()
        ExportJob.objects.filter(pk=job.pk).update(rows_total=total)
        name = f"exports/{job.pk}-{prepared.slug}-{timezone.localdate():%Y%m%d}.{job.format}"
        path = Path(export_storage.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)

        def progress(done: int) -> None:
            ExportJob.objects.filter(pk=job.pk).update(rows_done=done)

        writer = write_csv if job.format == ExportJob.Format.CSV else write_xlsx
        written = writer(path, prepared.headers, prepared.rows(), progress)
    except Exception as exc:
        logger.exception("export job %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJob.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportJob.Status.DONE,
        rows_done=written,
        rows_total=written,
        file=name,
        finished_at=timezone.now(),
    )
    job.refresh_from_db()
    return job


def export_request(
    *,
    user,
    kind: str,
    fmt: str,
    campaign_id: int | None = None,
    event_id: int | None = None,
    language: str = "nl",
):
    """A small export comes back prepared for streaming in the request (PreparedExport);
    above the threshold an ExportJob is queued instead and returned."""
    export_filters_check(user=user, kind=kind, fmt=fmt, campaign_id=campaign_id, event_id=event_id)
    prepared = export_prepare(
        kind=kind, user=user, campaign_id=campaign_id, event_id=event_id, language=language
    )
    total = prepared.count()
    if total <= export_sync_max_rows():
        return prepared
    return export_job_create(
        user=user,
        kind=kind,
        fmt=fmt,
        campaign_id=campaign_id,
        event_id=event_id,
        language=language,
        rows_total=total,
    )
