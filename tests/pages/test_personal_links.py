"""The personal signed-link pages: booker and attendee changes, cancellation with a
confirmation step, the deadline, tampered tokens, and taking up a waiting-list offer."""

import pytest
from django.utils import timezone

from participants import links, services
from participants.models import Registration, Ticket, WaitingListEntry
from tests.factories import CampaignParticipationFactory

from .a11y import assert_accessible_basics

pytestmark = pytest.mark.django_db


def book(event, ticket_type, *names):
    return services.registration_create(
        event=event,
        booker_name="Bea Boeker",
        booker_email="bea@example.nl",
        attendees=[
            services.AttendeeInput(
                name=n, email=f"{n.lower()}@example.nl", ticket_type_id=ticket_type.pk
            )
            for n in names
        ],
    )


def path(url: str) -> str:
    """The path of an absolute personal link (SITE_URL differs per environment)."""
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


@pytest.fixture
def booking(congress, ticket_type):
    return book(congress, ticket_type, "Ans", "Bert")


@pytest.mark.parametrize(("language", "heading"), [("nl", "Uw boeking"), ("en", "Your booking")])
def test_booking_page_lists_attendees(client, booking, language, heading):
    token = links.booking_token(booking)
    response = client.get(f"/{language}/booking/{token}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{language}">' in html
    assert f"<h1>{heading}</h1>" in html
    assert "Ans" in html and "Bert" in html and booking.code in html
    assert_accessible_basics(html)


def test_booker_changes_an_attendee_name(client, booking):
    token = links.booking_token(booking)
    ticket = booking.tickets.get(person__name="Ans")
    response = client.post(
        f"/nl/booking/{token}/tickets/{ticket.pk}/name/", {f"t{ticket.pk}-name": "Anna"}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.person.name == "Anna"
    assert "De naam is gewijzigd." in client.get(response["Location"]).content.decode()


def test_empty_name_is_refused_next_to_the_field(client, booking):
    token = links.booking_token(booking)
    ticket = booking.tickets.get(person__name="Ans")
    response = client.post(
        f"/nl/booking/{token}/tickets/{ticket.pk}/name/", {f"t{ticket.pk}-name": ""}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_t{ticket.pk}-name_error"' in html
    assert_accessible_basics(html)
    ticket.refresh_from_db()
    assert ticket.person.name == "Ans"


def test_token_of_one_booking_cannot_touch_another_bookings_ticket(
    client, booking, congress, ticket_type
):
    other = book(congress, ticket_type, "Cor")
    foreign = other.tickets.get()
    token = links.booking_token(booking)
    response = client.post(f"/nl/booking/{token}/tickets/{foreign.pk}/cancel/")
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == Ticket.Status.VALID


def test_booker_cancels_one_ticket_after_confirming(client, booking):
    token = links.booking_token(booking)
    ticket = booking.tickets.get(person__name="Bert")
    confirm = client.get(f"/nl/booking/{token}/tickets/{ticket.pk}/cancel/")
    html = confirm.content.decode()
    assert "Dit ticket annuleren?" in html and "Ja, annuleren" in html
    assert_accessible_basics(html)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.VALID  # GET changes nothing
    response = client.post(f"/nl/booking/{token}/tickets/{ticket.pk}/cancel/")
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CANCELLED
    assert booking.tickets.get(person__name="Ans").status == Ticket.Status.VALID


def test_booker_cancels_whole_booking(client, booking):
    token = links.booking_token(booking)
    html = client.get(f"/nl/booking/{token}/cancel/").content.decode()
    assert "De hele boeking annuleren?" in html
    assert_accessible_basics(html)
    response = client.post(f"/nl/booking/{token}/cancel/")
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == Registration.Status.CANCELLED
    assert not booking.tickets.filter(status__in=Ticket.HOLDS_PLACE).exists()
    html = client.get(response["Location"]).content.decode()
    assert "Uw boeking is geannuleerd." in html
    assert "De hele boeking annuleren" not in html


def test_after_the_deadline_no_buttons_and_changes_refused(client, booking, congress):
    congress.cancellation_deadline = timezone.now() - timezone.timedelta(hours=1)
    congress.save()
    token = links.booking_token(booking)
    html = client.get(f"/nl/booking/{token}/").content.decode()
    assert "De termijn voor wijzigingen is verstreken." in html
    assert "De hele boeking annuleren" not in html
    assert "Naam wijzigen" not in html
    ticket = booking.tickets.first()
    # Even a hand-made POST is refused by the service and nothing changes.
    response = client.post(f"/nl/booking/{token}/cancel/", follow=True)
    booking.refresh_from_db()
    assert booking.status == Registration.Status.CONFIRMED
    assert "termijn" in response.content.decode()
    client.post(f"/nl/booking/{token}/tickets/{ticket.pk}/cancel/")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.VALID
    ticket_token = links.ticket_token(ticket)
    html = client.get(f"/nl/ticket/{ticket_token}/").content.decode()
    assert "De termijn voor wijzigingen is verstreken." in html
    assert "Mijn ticket annuleren" not in html
    response = client.post(f"/nl/ticket/{ticket_token}/", {"name": "Nieuwe naam"})
    ticket.refresh_from_db()
    assert ticket.person.name != "Nieuwe naam"
    confirm = client.get(f"/nl/ticket/{ticket_token}/cancel/").content.decode()
    assert "Ja, annuleren" not in confirm


@pytest.mark.parametrize(("language", "heading"), [("nl", "Uw ticket"), ("en", "Your ticket")])
def test_attendee_page(client, booking, language, heading):
    ticket = booking.tickets.get(person__name="Ans")
    html = client.get(f"/{language}/ticket/{links.ticket_token(ticket)}/").content.decode()
    assert f"<h1>{heading}</h1>" in html
    assert f'<html lang="{language}">' in html
    assert_accessible_basics(html)


def test_attendee_changes_name_and_cancels(client, booking):
    ticket = booking.tickets.get(person__name="Ans")
    token = links.ticket_token(ticket)
    response = client.post(f"/nl/ticket/{token}/", {"name": "Anna de Boer"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.person.name == "Anna de Boer"
    html = client.get(f"/nl/ticket/{token}/cancel/").content.decode()
    assert "Ja, annuleren" in html
    assert_accessible_basics(html)
    client.post(f"/nl/ticket/{token}/cancel/")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CANCELLED


@pytest.mark.parametrize(
    "page",
    [
        "booking/{t}/",
        "booking/{t}/cancel/",
        "booking/{t}/confirmation/",
        "ticket/{t}/",
        "ticket/{t}/cancel/",
        "waiting-list/{t}/",
        "sign-up/{t}/",
    ],
)
def test_tampered_token_shows_friendly_404(client, booking, page):
    token = links.booking_token(booking)
    tampered = token[:-2] + ("aa" if not token.endswith("aa") else "bb")
    response = client.get("/nl/" + page.format(t=tampered))
    assert response.status_code == 404
    html = response.content.decode()
    assert "Deze link is niet geldig" in html
    assert_accessible_basics(html)
    response = client.post("/nl/" + page.format(t=tampered))
    assert response.status_code in (404, 405)
    booking.refresh_from_db()
    assert booking.status == Registration.Status.CONFIRMED


def test_token_for_one_purpose_does_not_open_another(client, booking):
    ticket = booking.tickets.first()
    assert client.get(f"/nl/booking/{links.ticket_token(ticket)}/").status_code == 404


@pytest.fixture
def offer(congress, ticket_type):
    congress.capacity = 1
    congress.save()
    first = book(congress, ticket_type, "Ans")
    entry = services.waitlist_join(
        event=congress, ticket_type=ticket_type, name="Wim Wachter", email="wim@example.nl"
    )
    services.ticket_cancel(ticket=first.tickets.get(), actor="attendee")
    entry.refresh_from_db()
    assert entry.status == WaitingListEntry.Status.OFFERED
    return entry


def test_waiting_list_offer_accept(client, offer):
    token = links.waitlist_offer_token(offer)
    html = client.get(f"/nl/waiting-list/{token}/").content.decode()
    assert "Er is een plaats voor u vrijgekomen" in html
    assert_accessible_basics(html)
    response = client.post(f"/nl/waiting-list/{token}/")
    assert response.status_code == 302
    offer.refresh_from_db()
    assert offer.status == WaitingListEntry.Status.ACCEPTED
    registration = offer.registration
    assert registration.tickets.get().person.email == "wim@example.nl"
    html = client.get(response["Location"]).content.decode()
    assert registration.code in html
    html = client.get(f"/nl/waiting-list/{token}/").content.decode()
    assert "U hebt deze plaats al aangenomen." in html


def test_expired_offer_says_so(client, offer):
    WaitingListEntry.objects.filter(pk=offer.pk).update(
        offer_expires_at=timezone.now() - timezone.timedelta(minutes=1)
    )
    token = links.waitlist_offer_token(offer)
    html = client.get(f"/nl/waiting-list/{token}/").content.decode()
    assert "Dit aanbod is verlopen" in html
    assert "Plaats aannemen" not in html
    client.post(f"/nl/waiting-list/{token}/")
    assert not Registration.objects.filter(booker__email="wim@example.nl").exists()


@pytest.mark.parametrize("language", ["nl", "en"])
def test_participation_page(client, language):
    participation = CampaignParticipationFactory(activities=["workshop", "walk"])
    token = links.participation_token(participation)
    response = client.get(f"/{language}/sign-up/{token}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert participation.organisation.name in html
    assert "Wandeloverleg" in html or "Walking" in html or "wandel" in html.lower()
    assert_accessible_basics(html)


def test_attendee_downloads_ticket_pdf_and_calendar_file(client, booking, congress):
    import io

    import icalendar
    import pypdf

    ticket = booking.tickets.get(person__name="Ans")
    token = links.ticket_token(ticket)
    page = client.get(f"/nl/ticket/{token}/").content.decode()
    assert f"/nl/ticket/{token}/ticket.pdf" in page
    pdf = client.get(f"/nl/ticket/{token}/ticket.pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert "no-store" in pdf["Cache-Control"]
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Ans" in text
    ics = client.get(f"/nl/ticket/{token}/event.ics")
    assert ics.status_code == 200
    calendar = icalendar.Calendar.from_ical(ics.content)
    events = [c for c in calendar.walk("VEVENT")]
    assert len(events) == 1
    assert congress.title in str(events[0]["SUMMARY"])


def test_no_document_for_a_cancelled_ticket(client, booking):
    ticket = booking.tickets.get(person__name="Ans")
    token = links.ticket_token(ticket)
    services.ticket_cancel(ticket=ticket, actor="attendee")
    assert client.get(f"/nl/ticket/{token}/ticket.pdf").status_code == 404
    html = client.get(f"/nl/ticket/{token}/").content.decode()
    assert "ticket.pdf" not in html
