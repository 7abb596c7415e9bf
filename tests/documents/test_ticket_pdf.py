"""Ticket PDFs: parsed with pypdf, QR decoded from the rendered page with zxing-cpp."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from communications.documents import ticket_doc
from communications.renderers.pdf import render_ticket_pdf
from tests.factories import EventFactory, RegistrationFactory, TicketFactory

from .helpers import decode_qr_codes, pdf_pages, pdf_text

pytestmark = pytest.mark.django_db
AMS = ZoneInfo("Europe/Amsterdam")


def _ticket(**person):
    event = EventFactory(
        title="Congres Gezond Werk",
        # 09:30 in Amsterdam is 08:30 UTC in winter: the PDF must show local time.
        starts_at=datetime(2030, 11, 12, 9, 30, tzinfo=AMS),
        ends_at=datetime(2030, 11, 12, 16, 0, tzinfo=AMS),
        venue_name="Jaarbeurs",
        venue_address="Jaarbeursplein 6, Utrecht",
    )
    registration = RegistrationFactory(event=event)
    return TicketFactory(registration=registration, person__name="Fatima el Amrani", **person)


def test_ticket_pdf_contains_attendee_event_code_and_local_time():
    ticket = _ticket()
    content = render_ticket_pdf(ticket_doc(ticket))
    pages = pdf_pages(content)
    assert len(pages) == 1
    text = pdf_text(content)
    assert "Fatima el Amrani" in text
    assert "Congres Gezond Werk" in text
    assert ticket.registration.code in text
    assert ticket.ticket_type.name in text
    assert "Jaarbeurs" in text
    assert "09:30" in text and "16:00" in text
    assert "08:30" not in text  # not UTC
    # The text fallback of the code, for staff to type when a scan fails.
    assert ticket.secret in text.replace(" ", "")


def test_ticket_pdf_language_follows_attendee():
    dutch = pdf_text(render_ticket_pdf(ticket_doc(_ticket(person__preferred_language="nl"))))
    english = pdf_text(render_ticket_pdf(ticket_doc(_ticket(person__preferred_language="en"))))
    assert "Deelnemer" in dutch and "dinsdag 12 november 2030" in dutch
    assert "Attendee" in english and "Tuesday 12 November 2030" in english


def test_ticket_qr_decodes_to_the_ticket_secret():
    ticket = _ticket()
    codes = decode_qr_codes(render_ticket_pdf(ticket_doc(ticket)))
    assert codes == [ticket.secret]


def test_online_event_shows_link():
    ticket = _ticket()
    event = ticket.event
    event.venue_name = ""
    event.online_url = "https://meet.example.nl/werkstress"
    event.save()
    text = pdf_text(render_ticket_pdf(ticket_doc(ticket)))
    assert "https://meet.example.nl/werkstress" in text
