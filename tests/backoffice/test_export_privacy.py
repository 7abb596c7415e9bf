"""Exports and privacy: who exported what is in the audit log (ids and codes only), export files
(copies of personal data outside the tables) are deleted after a keep period, and the back
office shows organisers the way to two-factor authentication."""

import os
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from backoffice import services
from backoffice.models import ExportJob
from backoffice.tasks import render_export_task
from privacy.models import AuditEntry

from .conftest import campaign_manager

pytestmark = pytest.mark.django_db


def export(client, campaign, fmt="csv"):
    return client.post(
        reverse("backoffice:export"),
        {"kind": "attendees", "format": fmt, "campaign": campaign.pk, "language": "nl"},
        REMOTE_ADDR="192.0.2.7",
    )


def test_a_streamed_export_is_audited_with_ids_and_codes(staff_client, staff, dataset):
    response = export(staff_client, dataset.campaign)
    assert response.status_code == 200
    b"".join(response.streaming_content)
    entry = AuditEntry.objects.get(action="export.download")
    assert (entry.actor_id, entry.ip_address) == (staff.pk, "192.0.2.7")
    assert entry.details == {
        "kind": "attendees",
        "format": "csv",
        "campaign_id": dataset.campaign.pk,
        "event_id": None,
        "rows": 5,
    }
    # No names or addresses of the exported people in the entry.
    assert "anna" not in str(entry.details).lower() and "@" not in str(entry.details)


def test_an_export_job_is_audited_when_requested_and_when_downloaded(
    staff_client, staff, dataset, settings, django_capture_on_commit_callbacks
):
    settings.BACKOFFICE_EXPORT_SYNC_MAX_ROWS = 2
    with django_capture_on_commit_callbacks(execute=True):
        assert export(staff_client, dataset.campaign).status_code == 302
    job = ExportJob.objects.get()
    requested = AuditEntry.objects.get(action="export.request")
    assert (requested.object_type, requested.object_id) == ("backoffice.exportjob", str(job.pk))
    assert requested.details["kind"] == "attendees" and requested.details["rows"] == 5
    assert not AuditEntry.objects.filter(action="export.download").exists()
    response = staff_client.get(reverse("backoffice:export_download", args=[job.pk]))
    assert response.status_code == 200
    b"".join(response.streaming_content)
    downloaded = AuditEntry.objects.get(action="export.download")
    assert (downloaded.actor_id, downloaded.object_id) == (staff.pk, str(job.pk))
    assert downloaded.details["campaign_id"] == dataset.campaign.pk


def test_a_refused_export_writes_no_audit_entry(client, dataset):
    client.force_login(campaign_manager(dataset.other_campaign))
    assert export(client, dataset.campaign).status_code == 400
    assert not AuditEntry.objects.exists()


def _finished_job(staff, *, days_ago: int) -> ExportJob:
    job = ExportJob.objects.create(kind="attendees", format="csv", requested_by=staff)
    render_export_task(job.pk)
    ExportJob.objects.filter(pk=job.pk).update(
        finished_at=timezone.now() - timedelta(days=days_ago)
    )
    job.refresh_from_db()
    assert job.file and "anna@example.nl" in job.file.read().decode("utf-8-sig")
    return job


def test_export_files_are_deleted_after_the_keep_period(staff, staff_client, dataset, settings):
    settings.BACKOFFICE_EXPORT_KEEP_DAYS = 7
    old, recent = _finished_job(staff, days_ago=8), _finished_job(staff, days_ago=1)
    old_path = old.file.path
    assert services.export_files_expire() == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert not old.file and recent.file
    assert not os.path.exists(old_path)
    assert services.export_files_expire() == 0  # idempotent
    # The job stays (status, rows) without a download; the page says why.
    assert (old.status, old.rows_done) == ("done", 6)  # every campaign: 5 + 1
    download = reverse("backoffice:export_download", args=[old.pk])
    assert staff_client.get(download).status_code == 404
    page = staff_client.get(reverse("backoffice:export_job", args=[old.pk])).content.decode()
    assert download not in page and "notice" in page
    listing = staff_client.get(reverse("backoffice:export")).content.decode()
    assert download not in listing
    assert reverse("backoffice:export_download", args=[recent.pk]) in listing


def test_a_file_gone_from_disk_is_a_404_not_an_error(staff, staff_client, dataset):
    job = _finished_job(staff, days_ago=0)
    job.file.storage.delete(job.file.name)
    response = staff_client.get(reverse("backoffice:export_download", args=[job.pk]))
    assert response.status_code == 404


def test_the_daily_privacy_job_deletes_expired_export_files(staff, dataset, settings):
    from privacy.tasks import anonymise_expired_task

    settings.BACKOFFICE_EXPORT_KEEP_DAYS = 7
    job = _finished_job(staff, days_ago=30)
    anonymise_expired_task()
    job.refresh_from_db()
    assert not job.file


def test_the_back_office_links_to_two_factor_setup_until_it_is_on(client, dataset):
    manager = campaign_manager(dataset.campaign)
    client.force_login(manager)
    setup = f'href="{reverse("accounts:otp_setup")}"'
    assert setup in client.get(reverse("backoffice:index")).content.decode()
    TOTPDevice.objects.create(user=manager, name="authenticator", confirmed=True)
    assert setup not in client.get(reverse("backoffice:index")).content.decode()
