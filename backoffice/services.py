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
from privacy.services import audit_record

from .exports import export_prepare, export_specs, write_csv, write_xlsx
from .models import ExportJob
from .permissions import is_organiser, may_see_campaign
from .storage import export_storage

logger = logging.getLogger(__name__)

# A job still "running" after this long lost its worker (killed, redeployed); a redelivered
# task message (or export_jobs_resume) may take it over.
STALE_AFTER = timedelta(minutes=15)
# A job still "queued" after this long lost its task message (broker down when it was sent):
# export_jobs_resume publishes it again.
QUEUED_STALE_AFTER = timedelta(minutes=5)


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
    request=None,
) -> ExportJob:
    """Record the job and queue the worker once the row is committed."""
    export_filters_check(user=user, kind=kind, fmt=fmt, campaign_id=campaign_id, event_id=event_id)
    with transaction.atomic():
        job = ExportJob.objects.create(
            kind=kind,
            format=fmt,
            filters={"campaign": campaign_id, "event": event_id, "language": language},
            rows_total=rows_total,
            requested_by=user,
        )
        _audit_export(user=user, action="export.request", obj=job, request=request, rows=rows_total)
        transaction.on_commit(lambda: _queue_job(job.pk))
    return job


def _queue_job(job_id: int) -> None:
    """Publish the render task. Never raises: the job row is committed as queued, the organiser
    sees its page, and export_jobs_resume publishes it again once it is stale."""
    from .tasks import render_export_task

    try:
        render_export_task.delay(job_id)
    except Exception:  # noqa: BLE001
        logger.warning(
            "could not queue export job %s; the sweeper will retry", job_id, exc_info=True
        )


def export_jobs_resume(*, now=None) -> int:
    """Publish the render task again for jobs whose task was lost: queued for longer than
    QUEUED_STALE_AFTER, or running without finishing for longer than STALE_AFTER (the worker
    died; export_job_run takes such a job over). Returns how many. Safe to run as often as
    wanted: export_job_run claims a job atomically, so a doubled message writes it once."""
    now = now or timezone.now()
    stale = ExportJob.objects.filter(
        Q(status=ExportJob.Status.QUEUED, created_at__lt=now - QUEUED_STALE_AFTER)
        | Q(status=ExportJob.Status.RUNNING, started_at__lt=now - STALE_AFTER)
    )
    ids = list(stale.values_list("pk", flat=True))
    for pk in ids:
        _queue_job(pk)
    return len(ids)


def _audit_export(*, user, action: str, obj=None, request=None, **details) -> None:
    """Exports copy personal data out of the system: who took which rows is audited (ids and
    codes only, like every audit entry)."""
    if isinstance(obj, ExportJob):
        filters = obj.filters or {}
        details = {
            "kind": obj.kind,
            "format": obj.format,
            "campaign_id": filters.get("campaign"),
            "event_id": filters.get("event"),
            **details,
        }
    audit_record(actor=user, action=action, obj=obj, request=request, **details)


def export_job_download_record(*, user, job: ExportJob, request=None) -> None:
    """Record that `user` downloaded the job's file (the view serves it)."""
    with transaction.atomic():
        _audit_export(
            user=user, action="export.download", obj=job, request=request, rows=job.rows_done
        )


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


def export_keep_days() -> int:
    """Days a finished export's file is kept (settings.BACKOFFICE_EXPORT_KEEP_DAYS, default 7)."""
    return int(getattr(settings, "BACKOFFICE_EXPORT_KEEP_DAYS", 7))


def export_files_delete(*, finished_before=None) -> int:
    """Delete the files of finished export jobs (all of them, or those finished before the
    given time); returns how many. An export file is a copy of personal data outside the
    tables, which retention and erasure cannot reach row by row: the files go, the job rows
    stay without a file (who exported what stays in the audit log). An organiser makes the
    export again when it is needed. Idempotent."""
    jobs = ExportJob.objects.filter(status=ExportJob.Status.DONE).exclude(file="")
    if finished_before is not None:
        jobs = jobs.filter(finished_at__lt=finished_before)
    count = 0
    for job in jobs.only("pk", "file"):
        job.file.delete(save=False)  # no error when the file is gone already
        ExportJob.objects.filter(pk=job.pk).update(file="")
        count += 1
    return count


def export_files_expire(*, now=None) -> int:
    """The periodic clean-up: files older than export_keep_days()."""
    now = now or timezone.now()
    return export_files_delete(finished_before=now - timedelta(days=export_keep_days()))


def export_request(
    *,
    user,
    kind: str,
    fmt: str,
    campaign_id: int | None = None,
    event_id: int | None = None,
    language: str = "nl",
    request=None,
):
    """A small export comes back prepared for streaming in the request (PreparedExport);
    above the threshold an ExportJob is queued instead and returned. Either way the audit log
    records it (a streamed export as "export.download", a job as "export.request")."""
    export_filters_check(user=user, kind=kind, fmt=fmt, campaign_id=campaign_id, event_id=event_id)
    prepared = export_prepare(
        kind=kind, user=user, campaign_id=campaign_id, event_id=event_id, language=language
    )
    total = prepared.count()
    if total <= export_sync_max_rows():
        with transaction.atomic():
            _audit_export(
                user=user,
                action="export.download",
                request=request,
                kind=kind,
                format=fmt,
                campaign_id=campaign_id,
                event_id=event_id,
                rows=total,
            )
        return prepared
    return export_job_create(
        user=user,
        kind=kind,
        fmt=fmt,
        campaign_id=campaign_id,
        event_id=event_id,
        language=language,
        rows_total=total,
        request=request,
    )
