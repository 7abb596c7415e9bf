"""A certificate run end to end: real Redis broker, real Celery worker on the documents queue,
real SMTP server; every attendee gets one mail with their own certificate attached."""

import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone
from pypdf import PdfReader

from communications.documents import certificate_run_start
from communications.models import Certificate, CertificateRun
from tests.factories import EventFactory, RegistrationFactory, TicketFactory

from ..mail.conftest import wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_run_on_a_real_worker_mails_each_attendee_their_certificate(
    redis_broker, smtp_server, start_worker, monkeypatch
):
    # The worker stores PDFs where this test reads them.
    monkeypatch.setenv("MEDIA_ROOT", str(settings.MEDIA_ROOT))
    # Ended yesterday: certificates are only issued after the end.
    event = EventFactory(
        title="Congres Echte Worker",
        starts_at=timezone.now() - timedelta(days=1, hours=7),
        ends_at=timezone.now() - timedelta(days=1),
    )
    registration = RegistrationFactory(event=event)
    tickets = [
        TicketFactory(
            registration=registration,
            person__name=f"Werker {i:02d}",
            person__email=f"werker{i}@example.nl",
            checked_in_at=event.starts_at,  # at the door
        )
        for i in range(12)
    ]
    start_worker(broker_url=redis_broker, concurrency=2)
    run = certificate_run_start(event=event, kind="attendee")
    assert run.lanes == 2

    def finished():
        run.refresh_from_db()
        return run.status in (CertificateRun.Status.DONE, CertificateRun.Status.FAILED)

    wait_for(finished, timeout=120, what="certificate run done")
    assert (run.status, run.done, run.total) == ("done", 12, 12)
    wait_for(lambda: smtp_server.count() >= 12, timeout=120, what="12 certificate mails")

    by_recipient = {}
    for message in smtp_server.messages:
        (attachment,) = [p for p in message.iter_attachments()]
        assert attachment.get_content_type() == "application/pdf"
        by_recipient[str(message["To"])] = attachment.get_content()
    assert len(smtp_server.messages) == 12
    for ticket in tickets:
        (recipient,) = [k for k in by_recipient if ticket.person.email in k]
        reader = PdfReader(io.BytesIO(by_recipient[recipient]))
        assert len(reader.pages) == 1
        assert ticket.person.name in reader.pages[0].extract_text()
        certificate = Certificate.objects.get(ticket=ticket)
        with default_storage.open(certificate.pdf.name, "rb") as handle:
            assert handle.read() == by_recipient[recipient]
