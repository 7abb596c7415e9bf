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


def test_ics_spec_for_the_recipient_is_a_personal_invite_to_the_mails_addressee():
    """Schools, ambassadors and journalists get an iTIP REQUEST (CANCEL when withdrawn) with
    themselves as ATTENDEE, taken from the mail, so the stored spec holds no address."""
    from communications.renderers.data import CalendarAttendee

    event = TicketFactory().event
    who = CalendarAttendee(name="Lyceum, De Eik", email="contact@eik.example.nl", language="nl")
    for method, status in (("REQUEST", "CONFIRMED"), ("CANCEL", "CANCELLED")):
        spec = {"type": "ics", "event_id": event.pk, "method": method, "attendee": "recipient"}
        _name, content, mimetype = render_attachment(spec, None, who)
        cal = Calendar.from_ical(content)
        assert str(cal["METHOD"]) == method and mimetype.endswith(f"method={method}")
        (vevent,) = cal.walk("VEVENT")
        assert str(vevent["ATTENDEE"]) == "mailto:contact@eik.example.nl"
        assert str(vevent["STATUS"]) == status
        assert str(vevent["UID"]).startswith(f"event-{event.pk}@")
        # Rendered without a mail (no addressee known): the plain PUBLISH as before.
        _name, content, mimetype = render_attachment(spec)
        assert Calendar.from_ical(content)["METHOD"] == "PUBLISH"
