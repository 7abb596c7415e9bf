"""BookingOutput writes its fields out by hand (speed); it must equal DRF's own rendering of
the declared fields for bookings in every state, one by one and as a list."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.translation import override
from freezegun import freeze_time

from api import serializers as s
from api.selectors import booking_list_for_organisation
from participants.models import Registration, Ticket
from tests.api.conftest import make_token_client
from tests.factories import (
    EventFactory,
    OrganisationFactory,
    RegistrationFactory,
    TicketFactory,
    TicketTypeFactory,
)

pytestmark = pytest.mark.django_db


def _bookings():
    organisation = OrganisationFactory()
    event = EventFactory(title="Congres “Werkdruk” & zo")
    free, paid = TicketTypeFactory(event=event), TicketTypeFactory(event=event, price_cents=4950)
    confirmed = RegistrationFactory(event=event, organisation=organisation)
    TicketFactory(registration=confirmed, ticket_type=free)
    TicketFactory(
        registration=confirmed,
        ticket_type=paid,
        status=Ticket.Status.CANCELLED,
        cancelled_at=timezone.now() - timedelta(hours=1),
    )
    awaiting = RegistrationFactory(
        event=event,
        organisation=organisation,
        status=Registration.Status.AWAITING_PAYMENT,
        hold_expires_at=timezone.now() + timedelta(minutes=20),
    )
    TicketFactory(registration=awaiting, ticket_type=paid, status=Ticket.Status.RESERVED)
    empty = RegistrationFactory(
        event=event, organisation=organisation, status=Registration.Status.CANCELLED
    )
    return organisation, [confirmed, awaiting, empty]


@pytest.mark.parametrize("language", ["nl", "en"])
def test_written_out_output_equals_the_declared_fields(language):
    organisation, bookings = _bookings()
    serializer = s.BookingOutput()
    bookings_now = booking_list_for_organisation(organisation=organisation)
    # Frozen: the signed manage links carry the time they were signed.
    with override(language), freeze_time(timezone.now()):
        for booking in bookings_now:
            assert s.BookingOutput(booking).data == serializer.declared_representation(booking)
        listed = s.BookingOutput(bookings_now, many=True)
        assert listed.data == [serializer.declared_representation(b) for b in bookings_now]
    states = {b["status"]: b for b in listed.data}
    assert "payment_url" in states["awaiting_payment"] or s.payment_url(bookings[1]) is None
    assert "payment_url" not in states["confirmed"]
    assert states["confirmed"]["tickets"][1]["cancelled_at"] is not None


def test_api_create_answers_with_the_same_fields_as_a_later_read():
    client = make_token_client()
    event = EventFactory(capacity=5)
    tt = TicketTypeFactory(event=event)
    created = client.post(
        "/api/v1/bookings/",
        {
            "event": event.pk,
            "booker": {"name": "HR", "email": "hr@example.nl"},
            "attendees": [
                {"name": "A", "email": "a@example.nl", "ticket_type": tt.pk},
                {"name": "B", "email": "b@example.nl", "ticket_type": tt.pk},
            ],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    read = client.get(f"/api/v1/bookings/{created.json()['code']}/")
    assert read.status_code == 200
    assert created.json() == read.json()
