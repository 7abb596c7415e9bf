"""A checked-in ticket is attendance that happened: no cancel path may cancel (or refund) it.

The database allows a check-in only on a valid ticket (ticket_checkin_only_when_valid), so a
cancel that swept checked-in tickets along raised IntegrityError: a 500 on every entry point,
and a booking holding one checked-in ticket could not be cancelled at all. The rule
(participants.services, like pretix): a booking cancel cancels the tickets that were not
checked in and keeps the others valid (the booker is told which); a cancel of a checked-in
ticket itself is refused with a clear message (code checked_in) and changes nothing; a booking
whose every ticket is checked in is refused the same way.

Swept over every way to cancel: the booker's and the attendee's signed links, the organisation
portal, the API, the organiser (service actor, no deadline) and an event cancellation first.
Tickets are checked in by the real check-in service; paid tickets are booked on invoice, so a
refund shows as a credit note for exactly the cancelled tickets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from common.errors import RuleViolation
from communications.models import OutboxMail
from events.services import event_cancel
from participants import links, services
from participants.checkin import ticket_check_in
from participants.models import Registration, Ticket
from payments.models import Invoice
from tests.api.conftest import make_token_client
from tests.factories import (
    EventFactory,
    MembershipFactory,
    OrganisationFactory,
    TicketTypeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PRICE = 12100


@dataclass
class Booking:
    registration: Registration
    checked_in: list[Ticket]
    open: list[Ticket]


def make_booking(*, checked_in: int = 1, open_: int = 2, organisation=None) -> Booking:
    """A paid booking on invoice for an event starting within the hour (check-in is open, the
    booker's cancellation deadline, the start, is not yet past), with `checked_in` of its
    tickets checked in at the door."""
    event = EventFactory(
        starts_at=timezone.now() + timedelta(minutes=50),
        ends_at=timezone.now() + timedelta(hours=5),
        cancellation_deadline=None,
        capacity=20,
    )
    ticket_type = TicketTypeFactory(event=event, name="Congres", price_cents=PRICE)
    organisation = organisation or OrganisationFactory()
    registration = services.registration_create(
        event=event,
        booker_name="Bea Boeker",
        booker_email="bea@example.nl",
        attendees=[
            services.AttendeeInput(
                name=f"Deelnemer {i}",
                email=f"deelnemer{i}@example.nl",
                ticket_type_id=ticket_type.pk,
            )
            for i in range(checked_in + open_)
        ],
        organisation=organisation,
        payment_method="invoice",
    )
    assert registration.status == Registration.Status.CONFIRMED
    tickets = list(registration.tickets.order_by("pk"))
    door = UserFactory(is_staff=True, is_superuser=True)
    for ticket in tickets[:checked_in]:
        ticket_check_in(secret=ticket.secret, event=event, user=door)
    return Booking(
        registration,
        [Ticket.objects.get(pk=t.pk) for t in tickets[:checked_in]],
        tickets[checked_in:],
    )


def state(booking: Booking) -> dict:
    """What a cancel may change: ticket statuses and check-ins, the booking, credit notes,
    cancellation mails."""
    reg = Registration.objects.get(pk=booking.registration.pk)
    return {
        "booking": reg.status,
        "tickets": {t.pk: (t.status, t.checked_in_at) for t in reg.tickets.order_by("pk")},
        "credited": sum(
            i.total_gross_cents
            for i in Invoice.objects.filter(registration=reg, kind=Invoice.Kind.CREDIT_NOTE)
        ),
        "mails": sorted(
            OutboxMail.objects.filter(template="ticket_cancelled").values_list(
                "to_email", flat=True
            )
        ),
    }


def assert_kept_and_cancelled(booking: Booking, before: dict) -> None:
    after = state(booking)
    for ticket in booking.checked_in:
        assert after["tickets"][ticket.pk] == before["tickets"][ticket.pk]
        assert after["tickets"][ticket.pk][0] == Ticket.Status.VALID
    for ticket in booking.open:
        assert after["tickets"][ticket.pk][0] == Ticket.Status.CANCELLED
    # Refunded (credited) exactly the cancelled tickets, never the attended ones.
    assert after["credited"] == before["credited"] - PRICE * len(booking.open)
    # The booking stays open for the tickets it still holds.
    assert after["booking"] == Registration.Status.CONFIRMED
    assert len(after["mails"]) == len(before["mails"]) + len(booking.open)


def dutch(call):
    with translation.override("nl"):
        return call()


# --- The booking as a whole: the checked-in tickets stay, the rest is cancelled --------------


def cancel_booking_by_link(booking: Booking) -> str:
    client = Client()
    token = links.booking_token(booking.registration)
    url = reverse("participants:booking_cancel", kwargs={"token": token})
    page = client.get(url)
    assert page.status_code == 200
    # The confirmation page says which tickets stay before the booker confirms.
    kept = page.content.decode().split('id="kept-tickets"')[1]
    for ticket in booking.checked_in:
        assert ticket.person.name in kept
    response = client.post(url)
    assert response.status_code == 302
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def cancel_booking_as_organiser(booking: Booking) -> str:
    services.registration_cancel(registration=booking.registration, actor="organiser")
    return ""


def cancel_booking_after_event_cancel(booking: Booking) -> str:
    event_cancel(event=booking.registration.event)
    services.registration_cancel(registration=booking.registration, actor="organiser")
    return ""


def cancel_booking_as_booker_service(booking: Booking) -> str:
    services.registration_cancel(registration=booking.registration, actor="booker")
    return ""


BOOKING_CANCELS = {
    "booker link": cancel_booking_by_link,
    "booker service": cancel_booking_as_booker_service,
    "organiser": cancel_booking_as_organiser,
    "event cancelled first": cancel_booking_after_event_cancel,
}


@pytest.mark.parametrize("checked_in", [1, 2])
@pytest.mark.parametrize("how", list(BOOKING_CANCELS))
def test_booking_cancel_keeps_checked_in_tickets_and_cancels_the_rest(how, checked_in):
    booking = make_booking(checked_in=checked_in, open_=2)
    before = state(booking)
    message = dutch(lambda: BOOKING_CANCELS[how](booking))
    assert_kept_and_cancelled(booking, before)
    if how == "booker link":
        assert "behalve de tickets die al zijn ingecheckt" in message
        for ticket in booking.checked_in:
            assert ticket.person.name in message
    # Cancelling again: only checked-in tickets hold a place, so nothing is left to cancel.
    again = state(booking)
    with pytest.raises(RuleViolation) as refused:
        services.registration_cancel(registration=booking.registration, actor="organiser")
    assert refused.value.code == "checked_in"
    assert state(booking) == again


@pytest.mark.parametrize("actor", ["booker", "organiser"])
def test_a_booking_whose_every_ticket_is_checked_in_is_refused_and_unchanged(actor):
    booking = make_booking(checked_in=2, open_=0)
    before = state(booking)
    with pytest.raises(RuleViolation) as refused:
        dutch(lambda: services.registration_cancel(registration=booking.registration, actor=actor))
    assert refused.value.code == "checked_in"
    assert "ingecheckt" in dutch(lambda: str(refused.value.message))
    assert state(booking) == before


def test_the_booker_link_refuses_a_fully_checked_in_booking_with_a_message():
    booking = make_booking(checked_in=1, open_=0)
    before = state(booking)
    url = reverse(
        "participants:booking_cancel", kwargs={"token": links.booking_token(booking.registration)}
    )
    client = Client()
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="nl")
    assert page.status_code == 200 and b"Ja, annuleren" not in page.content
    response = client.post(url)
    assert response.status_code == 302
    text = dutch(lambda: " ".join(str(m) for m in get_messages(response.wsgi_request)))
    assert "ingecheckt" in text
    assert state(booking) == before


# --- One checked-in ticket: refused everywhere, nothing changes -------------------------------


def by_booker_link(ticket: Ticket):
    token = links.booking_token(ticket.registration)
    url = reverse(
        "participants:booking_ticket_cancel", kwargs={"token": token, "ticket_id": ticket.pk}
    )
    response = Client().post(url)
    assert response.status_code == 302
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def by_attendee_link(ticket: Ticket):
    url = reverse("participants:ticket_cancel", kwargs={"token": links.ticket_token(ticket)})
    response = Client().post(url)
    assert response.status_code == 302
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def by_portal(ticket: Ticket):
    organisation = ticket.registration.organisation
    member = MembershipFactory(organisation=organisation).user
    client = Client()
    client.force_login(member)
    url = reverse(
        "organisations:ticket_cancel",
        kwargs={"organisation_id": organisation.pk, "ticket_id": ticket.pk},
    )
    response = client.post(url, HTTP_ACCEPT_LANGUAGE="nl")
    assert response.status_code == 409
    return response.content.decode()


def by_api(ticket: Ticket):
    client = make_token_client(organisation=ticket.registration.organisation)
    response = client.post(
        f"/api/v1/tickets/{ticket.pk}/cancel/", HTTP_ACCEPT_LANGUAGE="nl", format="json"
    )
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "checked_in"
    return body["detail"]


def by_service(actor: str):
    def cancel(ticket: Ticket):
        with pytest.raises(RuleViolation) as refused:
            services.ticket_cancel(ticket=ticket, actor=actor)
        assert refused.value.code == "checked_in"
        return str(refused.value.message)

    return cancel


TICKET_CANCELS = {
    "booker link": by_booker_link,
    "attendee link": by_attendee_link,
    "organisation portal": by_portal,
    "api": by_api,
    **{f"service as {actor}": by_service(actor) for actor in services.ACTORS},
}


@pytest.mark.parametrize("how", list(TICKET_CANCELS))
def test_cancelling_a_checked_in_ticket_is_refused_in_dutch_and_changes_nothing(how):
    booking = make_booking(checked_in=1, open_=1)
    before = state(booking)
    message = dutch(lambda: TICKET_CANCELS[how](booking.checked_in[0]))
    assert "is ingecheckt" in message, message
    assert state(booking) == before


@pytest.mark.parametrize("how", ["booker link", "attendee link", "api", "service as organiser"])
def test_the_other_tickets_of_the_booking_can_still_be_cancelled(how):
    """Control for the refusal above: the same paths cancel a ticket that was not checked in."""
    booking = make_booking(checked_in=1, open_=1)
    before = state(booking)
    ticket = booking.open[0]
    if how == "booker link":
        token = links.booking_token(ticket.registration)
        Client().post(
            reverse(
                "participants:booking_ticket_cancel",
                kwargs={"token": token, "ticket_id": ticket.pk},
            )
        )
    elif how == "attendee link":
        Client().post(
            reverse("participants:ticket_cancel", kwargs={"token": links.ticket_token(ticket)})
        )
    elif how == "api":
        client = make_token_client(organisation=ticket.registration.organisation)
        assert client.post(f"/api/v1/tickets/{ticket.pk}/cancel/").status_code == 200
    else:
        services.ticket_cancel(ticket=ticket, actor="organiser")
    assert_kept_and_cancelled(booking, before)


def test_the_confirmation_pages_of_a_checked_in_ticket_offer_no_cancel_button():
    booking = make_booking(checked_in=1, open_=1)
    ticket = booking.checked_in[0]
    client = Client(HTTP_ACCEPT_LANGUAGE="nl")
    for url in (
        reverse(
            "participants:booking_ticket_cancel",
            kwargs={"token": links.booking_token(ticket.registration), "ticket_id": ticket.pk},
        ),
        reverse("participants:ticket_cancel", kwargs={"token": links.ticket_token(ticket)}),
    ):
        page = client.get(url)
        assert page.status_code == 200
        assert b'id="kept-tickets"' in page.content and b"Ja, annuleren" not in page.content
