"""A large export end to end: real PostgreSQL, real Redis broker, real Celery worker on the
documents queue; the page shows the job, the worker writes the file, the download serves it."""

import csv
import io

import pytest
from django.urls import reverse

from backoffice.models import ExportJob
from tests.factories import RegistrationFactory, TicketFactory, TicketTypeFactory
from tests.mail.conftest import wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_large_export_runs_on_a_real_worker(
    client, staff, dataset, settings, export_root, redis_broker, start_worker, monkeypatch
):
    settings.BACKOFFICE_EXPORT_SYNC_MAX_ROWS = 10
    monkeypatch.setenv("EXPORT_ROOT", str(export_root))  # the worker writes where we read
    ticket_type = TicketTypeFactory(event=dataset.congress, capacity=None)
    registration = RegistrationFactory(event=dataset.congress)
    for i in range(20):
        TicketFactory(registration=registration, ticket_type=ticket_type, person__name=f"P{i:02d}")
    start_worker(broker_url=redis_broker, concurrency=1)
    client.force_login(staff)
    response = client.post(
        reverse("backoffice:export"),
        {"kind": "attendees", "format": "csv", "event": dataset.congress.pk, "language": "nl"},
    )
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert job.rows_total == 25  # counted when the job was made

    def done():
        job.refresh_from_db()
        return job.status in ("done", "failed")

    wait_for(done, timeout=90, what="export job finished")
    assert (job.status, job.rows_done) == ("done", 25), job.error
    body = b"".join(
        client.get(reverse("backoffice:export_download", args=[job.pk])).streaming_content
    ).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert len(rows) == 26
    assert sum(1 for r in rows if r[4].startswith("P")) == 20
