"""Ticket PDFs rendered in bulk and stored per content; the mail attaches the stored bytes."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.files.storage import default_storage

from communications import documents
from communications.renderers import pdf
from communications.renderers.attachments import render_attachment
from participants.services import _ticket_confirmed_mail
from tests.factories import EventFactory, RegistrationFactory, TicketFactory

from .helpers import decode_qr_codes, pdf_pages, pdf_text

pytestmark = pytest.mark.django_db
AMS = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def tickets():
    event = EventFactory(
        title="Congres Gezond Werk",
        starts_at=datetime(2030, 11, 12, 9, 30, tzinfo=AMS),
        ends_at=datetime(2030, 11, 12, 16, 0, tzinfo=AMS),
        venue_name="Jaarbeurs",
    )
    registration = RegistrationFactory(event=event)
    names = [("Fatima el Amrani", "nl"), ("John Smith", "en"), ("Kees de Boer", "nl")]
    return [
        TicketFactory(
            registration=registration, person__name=name, person__preferred_language=language
        )
        for name, language in names
    ]


def _no_single_render(monkeypatch):
    def fail(doc):
        raise AssertionError("the ticket PDF was rendered again instead of read from storage")

    monkeypatch.setattr(pdf, "render_ticket_pdf", fail)


def test_bulk_render_stores_one_correct_pdf_per_ticket(tickets, monkeypatch):
    single = pdf.render_ticket_pdf(documents.ticket_doc(tickets[0]))
    assert documents.ticket_pdfs_prepare(ticket_ids=[t.pk for t in tickets]) == 3
    _no_single_render(monkeypatch)
    # Each stored PDF carries only its own ticket (not the whole batch's images and pages).
    assert len(documents.ticket_pdf_bytes(tickets[0])) < 1.5 * len(single)
    for ticket in tickets:
        _name, content, _mimetype = render_attachment(
            {"type": "ticket_pdf", "ticket_id": ticket.pk}
        )
        assert len(pdf_pages(content)) == 1
        text = pdf_text(content)
        assert ticket.person.name in text and ticket.registration.code in text
        assert "09:30" in text
        others = [t.person.name for t in tickets if t.pk != ticket.pk]
        assert not any(other in text for other in others)
        assert decode_qr_codes(content) == [ticket.secret]
    # Each ticket in its attendee's language.
    english = pdf_text(documents.ticket_pdf_bytes(tickets[1]))
    dutch = pdf_text(documents.ticket_pdf_bytes(tickets[0]))
    assert "Attendee" in english and "Tuesday 12 November 2030" in english
    assert "Deelnemer" in dutch and "dinsdag 12 november 2030" in dutch


def test_bulk_render_is_idempotent(tickets):
    ids = [t.pk for t in tickets]
    assert documents.ticket_pdfs_prepare(ticket_ids=ids) == 3
    names = sorted(default_storage.listdir(documents.TICKET_PDF_DIR)[0])
    assert documents.ticket_pdfs_prepare(ticket_ids=ids + [999999]) == 0
    assert sorted(default_storage.listdir(documents.TICKET_PDF_DIR)[0]) == names


def test_missing_pdf_is_rendered_once_then_read_from_storage(tickets, monkeypatch):
    ticket = tickets[0]
    first = documents.ticket_pdf_bytes(ticket)
    assert "Fatima el Amrani" in pdf_text(first)
    _no_single_render(monkeypatch)
    assert documents.ticket_pdf_bytes(ticket) == first


def test_changed_ticket_gets_a_new_pdf_not_the_stored_one(tickets):
    ticket = tickets[0]
    documents.ticket_pdfs_prepare(ticket_ids=[ticket.pk])
    ticket.person.name = "Fatima Bakker"
    ticket.person.save()
    event = ticket.event
    event.venue_name = "Beatrixgebouw"
    event.save()
    ticket.refresh_from_db()
    text = pdf_text(documents.ticket_pdf_bytes(ticket))
    assert "Fatima Bakker" in text and "Beatrixgebouw" in text
    assert "Fatima el Amrani" not in text


def test_queue_renders_after_commit(tickets, django_capture_on_commit_callbacks):
    ids = [t.pk for t in tickets]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        documents.ticket_pdfs_queue(ticket_ids=ids)
    assert len(callbacks) == 1  # one task per chunk of TICKET_CHUNK_SIZE
    for ticket in tickets:
        name = documents.ticket_pdf_name(documents.ticket_doc(ticket))
        assert default_storage.exists(name)


def test_confirmation_mail_attaches_stored_pdf_and_reads_its_ticket_once(
    tickets, monkeypatch, mailoutbox
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from communications.models import OutboxMail
    from communications.sending import mail_send

    ticket = tickets[0]
    documents.ticket_pdfs_prepare(ticket_ids=[ticket.pk])
    mail = OutboxMail.objects.create(
        **_ticket_confirmed_mail(ticket, event=ticket.event, key=f"test:{ticket.pk}")
    )
    _no_single_render(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        assert mail_send(mail_id=mail.pk).status == OutboxMail.Status.SENT
    ticket_reads = [q for q in queries if 'FROM "participants_ticket"' in q["sql"]]
    assert len(ticket_reads) == 1  # the body's context; the attachments reuse that row
    (message,) = mailoutbox
    names = [name for name, _content, _mimetype in message.attachments]
    assert names[0].endswith(".pdf") and names[1].endswith(".ics")
    assert decode_qr_codes(message.attachments[0][1]) == [ticket.secret]
