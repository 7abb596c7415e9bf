"""Large exports become jobs: queued on commit, written by the task with progress stored as it
goes, downloadable by the requester (and organiser administrators) only."""

import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from backoffice import services
from backoffice.models import ExportJob
from backoffice.tasks import render_export_task
from tests.factories import UserFactory

from .conftest import campaign_manager

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_threshold(settings):
    settings.BACKOFFICE_EXPORT_SYNC_MAX_ROWS = 2


def download(client, job):
    response = client.get(reverse("backoffice:export_download", args=[job.pk]))
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content)


def test_over_the_threshold_the_export_becomes_a_job(
    staff_client, staff, dataset, small_threshold, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = staff_client.post(
            reverse("backoffice:export"),
            {
                "kind": "attendees",
                "format": "csv",
                "campaign": dataset.campaign.pk,
                "language": "nl",
            },
        )
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:export_job", args=[job.pk])
    assert len(callbacks) == 1  # the task is queued only once the job row is committed
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.rows_total, job.requested_by) == ("done", 5, 5, staff)
    assert job.filters == {"campaign": dataset.campaign.pk, "event": None, "language": "nl"}
    body = download(staff_client, job).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert rows[0][0] == "Evenement" and len(rows) == 6
    page = staff_client.get(reverse("backoffice:export_job", args=[job.pk])).content.decode()
    assert reverse("backoffice:export_download", args=[job.pk]) in page
    assert 'value="100"' in page


def test_job_writes_xlsx_and_reports_progress_while_running(staff, dataset, monkeypatch):
    monkeypatch.setattr("backoffice.exports.CHUNK_SIZE", 2)
    seen = []
    real = services.write_xlsx

    def spy(path, headers, rows, progress):
        def reporting(done):
            progress(done)
            seen.append(ExportJob.objects.values_list("status", "rows_done", "rows_total").get())

        return real(path, headers, rows, reporting)

    monkeypatch.setattr(services, "write_xlsx", spy)
    job = ExportJob.objects.create(
        kind="attendees",
        format="xlsx",
        filters={"campaign": dataset.campaign.pk},
        requested_by=staff,
    )
    render_export_task(job.pk)
    # Progress was stored in the job row during the run, every CHUNK_SIZE rows.
    assert seen == [("running", 2, 5), ("running", 4, 5)]
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.percent) == ("done", 5, 100)
    assert job.finished_at is not None
    with job.file.open("rb") as handle:
        sheet = openpyxl.load_workbook(io.BytesIO(handle.read()), read_only=True).active
        rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Evenement" and len(rows) == 6


def test_the_task_is_idempotent(staff, dataset):
    job = ExportJob.objects.create(kind="organisations", format="csv", requested_by=staff)
    render_export_task(job.pk)
    job.refresh_from_db()
    first = (job.file.name, job.finished_at)
    render_export_task(job.pk)  # a redelivered message
    job.refresh_from_db()
    assert (job.file.name, job.finished_at) == first


def test_a_job_uses_the_requesters_rights_at_run_time(dataset):
    user = UserFactory(is_staff=True)
    job = ExportJob.objects.create(kind="attendees", format="csv", requested_by=user)
    user.is_staff = False
    user.save()
    render_export_task(job.pk)
    job.refresh_from_db()
    assert (job.status, job.rows_done) == ("done", 0)


def test_download_only_for_the_requester_or_an_organiser_admin(client, staff, dataset):
    job = ExportJob.objects.create(kind="organisations", format="csv", requested_by=staff)
    render_export_task(job.pk)
    url = reverse("backoffice:export_download", args=[job.pk])
    # A campaign manager of the same campaign is not the requester: no hint the job exists.
    colleague = campaign_manager(dataset.campaign)
    client.force_login(colleague)
    assert client.get(url).status_code == 404
    assert client.get(reverse("backoffice:export_job", args=[job.pk])).status_code == 404
    for admin in (UserFactory(is_staff=True, is_superuser=True), UserFactory(is_staff=True)):
        client.force_login(admin)  # a staff account without role rows is an administrator
        assert client.get(url).status_code == 200
    member = UserFactory(is_staff=False)
    client.force_login(member)
    assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302


def test_unfinished_job_has_no_download(staff_client, staff):
    job = ExportJob.objects.create(kind="organisations", format="csv", requested_by=staff)
    assert staff_client.get(reverse("backoffice:export_download", args=[job.pk])).status_code == 404
    page = staff_client.get(reverse("backoffice:export_job", args=[job.pk])).content.decode()
    assert "0 van 0 rijen" in page


def test_export_files_are_not_under_media_root(staff, dataset, settings, export_root):
    job = ExportJob.objects.create(kind="organisations", format="csv", requested_by=staff)
    render_export_task(job.pk)
    job.refresh_from_db()
    path = job.file.path
    assert path.startswith(str(export_root))
    assert not path.startswith(str(settings.MEDIA_ROOT))


def test_entry_and_export_pages_list_the_users_jobs(staff_client, staff, dataset):
    mine = ExportJob.objects.create(kind="organisations", format="csv", requested_by=staff)
    render_export_task(mine.pk)
    theirs = ExportJob.objects.create(
        kind="attendees", format="csv", requested_by=UserFactory(is_staff=True)
    )
    manager = campaign_manager(dataset.campaign)
    own = ExportJob.objects.create(kind="attendees", format="xlsx", requested_by=manager)
    for name in ("backoffice:index", "backoffice:export"):
        html = staff_client.get(reverse(name)).content.decode()
        # An administrator sees every job; the finished one has its download link.
        assert reverse("backoffice:export_download", args=[mine.pk]) in html
        assert reverse("backoffice:export_job", args=[theirs.pk]) in html
    staff_client.force_login(manager)
    html = staff_client.get(reverse("backoffice:export")).content.decode()
    assert reverse("backoffice:export_job", args=[own.pk]) in html
    assert reverse("backoffice:export_job", args=[mine.pk]) not in html


def test_jobs_are_read_only_in_the_django_admin(organiser_client, staff, dataset):
    job = ExportJob.objects.create(kind="organisations", format="csv", requested_by=staff)
    render_export_task(job.pk)
    change = reverse("admin:backoffice_exportjob_change", args=[job.pk])
    response = organiser_client.get(change)
    assert response.status_code == 200
    assert b'name="status"' not in response.content  # nothing editable
    assert organiser_client.get(reverse("admin:backoffice_exportjob_add")).status_code == 403


def test_a_lost_task_message_leaves_the_job_queued_and_the_sweeper_publishes_it_again(
    staff_client, staff, dataset, small_threshold, monkeypatch, django_capture_on_commit_callbacks
):
    """The broker is down when the job is queued: the organiser still gets the job page (no
    error page), and export_jobs_resume publishes the task again once the job is stale."""
    from datetime import timedelta

    from django.utils import timezone

    from backoffice.tasks import resume_export_jobs_task

    real_delay = render_export_task.delay

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(render_export_task, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("backoffice:export"),
            {"kind": "attendees", "format": "csv", "language": "nl"},
        )
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:export_job", args=[job.pk])
    assert job.status == "queued"
    monkeypatch.setattr(render_export_task, "delay", real_delay)
    # A job queued a moment ago is left alone: its message may still be on its way.
    assert resume_export_jobs_task() == 0
    later = timezone.now() + services.QUEUED_STALE_AFTER + timedelta(seconds=1)
    assert services.export_jobs_resume(now=later) == 1
    job.refresh_from_db()
    assert (job.status, job.rows_done) == ("done", 6)
    assert services.export_jobs_resume(now=later) == 0


def test_the_sweeper_takes_over_a_job_whose_worker_died(staff, dataset):
    from datetime import timedelta

    from django.utils import timezone

    job = ExportJob.objects.create(kind="organisations", format="csv", requested_by=staff)
    started = timezone.now() - services.STALE_AFTER - timedelta(minutes=1)
    ExportJob.objects.filter(pk=job.pk).update(status="running", started_at=started)
    assert services.export_jobs_resume(now=started + timedelta(minutes=1)) == 0  # still busy
    assert services.export_jobs_resume() == 1
    job.refresh_from_db()
    assert job.status == "done" and job.file


def test_every_beat_entry_names_a_registered_task_and_the_export_sweeper_is_one(settings):
    """A sweeper that is not scheduled never runs: a lost export task would stay queued."""
    from config.celery import app

    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled <= set(app.tasks)
    assert "backoffice.tasks.resume_export_jobs_task" in scheduled
