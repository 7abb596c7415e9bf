"""render_attachment: the contract the outbox sender relies on (docs/contracts.md, Outbox)."""

import io

import pytest
from icalendar import Calendar
from pypdf import PdfReader

from communications.renderers.attachments import AttachmentUnavailable, render_attachment
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_ticket_pdf_spec():
    ticket = TicketFactory(person__name="Anna de Vries")
    name, content, mimetype = render_attachment({"type": "ticket_pdf", "ticket_id": ticket.pk})
    assert mimetype == "application/pdf"
    assert name.endswith(".pdf") and ticket.registration.code in name
    text = PdfReader(io.BytesIO(content)).pages[0].extract_text()
    assert "Anna de Vries" in text


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_ics_spec(method):
    ticket = TicketFactory()
    name, content, mimetype = render_attachment(
        {"type": "ics", "event_id": ticket.event_id, "method": method, "ticket_id": ticket.pk}
    )
    assert name.endswith(".ics")
    assert mimetype == f"text/calendar; charset=utf-8; method={method}"
    assert Calendar.from_ical(content)["METHOD"] == method


def test_ics_spec_rejects_ticket_of_other_event():
    ticket = TicketFactory()
    other = TicketFactory()
    with pytest.raises(ValueError):
        render_attachment(
            {"type": "ics", "event_id": other.event_id, "method": "REQUEST", "ticket_id": ticket.pk}
        )


def test_unknown_spec_and_missing_rows():
    with pytest.raises(ValueError):
        render_attachment({"type": "nope"})
    with pytest.raises(ValueError):
        render_attachment({"type": "ticket_pdf"})
    with pytest.raises(AttachmentUnavailable):
        render_attachment({"type": "ticket_pdf", "ticket_id": 999999})
    with pytest.raises(AttachmentUnavailable):
        render_attachment({"type": "certificate_pdf", "certificate_id": 999999})


def test_ics_spec_without_ticket_is_a_publish():
    ticket = TicketFactory()
    for requested, status in (("REQUEST", "CONFIRMED"), ("CANCEL", "CANCELLED")):
        _name, content, mimetype = render_attachment(
            {"type": "ics", "event_id": ticket.event_id, "method": requested}
        )
        cal = Calendar.from_ical(content)
        assert cal["METHOD"] == "PUBLISH" and mimetype.endswith("method=PUBLISH")
        (vevent,) = cal.walk("VEVENT")
        assert "ATTENDEE" not in vevent and str(vevent["STATUS"]) == status
