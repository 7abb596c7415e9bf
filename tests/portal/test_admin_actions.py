"""Organiser actions in the back office: approve or reject bookings awaiting approval."""

import pytest
from django.urls import reverse

from communications.models import OutboxMail
from participants.models import Registration, Ticket
from participants.services import AttendeeInput, registration_create
from tests.factories import EventFactory, TicketTypeFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:participants_registration_changelist"


def _pending_booking(event, ticket_type, n):
    return registration_create(
        event=event,
        booker_name=f"Boeker {n}",
        booker_email=f"boeker{n}@example.nl",
        attendees=[AttendeeInput(f"Deelnemer {n}", f"deelnemer{n}@example.nl", ticket_type.pk)],
    )


@pytest.fixture
def pending():
    event = EventFactory(requires_approval=True)
    ticket_type = TicketTypeFactory(event=event)
    bookings = [_pending_booking(event, ticket_type, n) for n in range(3)]
    assert {b.status for b in bookings} == {Registration.Status.PENDING_APPROVAL}
    return bookings


def _run(client, action, bookings, **extra):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [b.pk for b in bookings], **extra},
        follow=True,
    )


def _reject(client, bookings, reason="De zaal is vol."):
    return _run(client, "reject_bookings", bookings, confirm_reject="1", reason=reason)


def test_approve_selected(organiser_client, pending):
    chosen = pending[:2]
    response = _run(organiser_client, "approve_bookings", chosen)
    assert response.status_code == 200
    assert "2 boekingen goedgekeurd." in response.content.decode()
    for booking in chosen:
        booking.refresh_from_db()
        assert booking.status == Registration.Status.CONFIRMED
        assert booking.tickets.get().status == Ticket.Status.VALID
        assert OutboxMail.objects.filter(key=f"booking_confirmed:{booking.pk}").exists()
        assert OutboxMail.objects.filter(
            key=f"ticket_confirmed:{booking.tickets.get().pk}"
        ).exists()
    pending[2].refresh_from_db()
    assert pending[2].status == Registration.Status.PENDING_APPROVAL


def test_reject_asks_for_a_reason_first(organiser_client, pending):
    page = _run(organiser_client, "reject_bookings", pending[:2])
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="reason"' in html
    assert pending[0].code in html and pending[1].code in html
    assert {b.status for b in Registration.objects.filter(pk__in=[p.pk for p in pending])} == {
        Registration.Status.PENDING_APPROVAL
    }
    assert not OutboxMail.objects.filter(template="booking_rejected").exists()


def test_reject_selected(organiser_client, pending):
    response = _reject(organiser_client, pending[:1])
    assert "1 boeking afgewezen." in response.content.decode()
    booking = pending[0]
    booking.refresh_from_db()
    assert booking.status == Registration.Status.REJECTED
    assert booking.tickets.get().status == Ticket.Status.CANCELLED
    mail = OutboxMail.objects.get(key=f"booking_rejected:{booking.pk}")
    assert mail.context.get("reason") == "De zaal is vol."


def test_bookings_not_awaiting_approval_are_left_alone(organiser_client, pending):
    _run(organiser_client, "approve_bookings", pending[:1])
    response = _reject(organiser_client, pending[:2])
    html = response.content.decode()
    assert "1 boeking afgewezen." in html
    assert "1 geselecteerde boeking wachtte niet op goedkeuring" in html
    pending[0].refresh_from_db()
    assert pending[0].status == Registration.Status.CONFIRMED
    assert not OutboxMail.objects.filter(key=f"booking_rejected:{pending[0].pk}").exists()


def test_staff_without_change_permission_do_not_get_the_actions(client, pending):
    from tests.factories import UserFactory

    viewer = UserFactory(is_staff=True, email="kijker@example.nl")
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_registration"))
    client.force_login(viewer)
    html = client.get(reverse(CHANGELIST)).content.decode()
    assert "approve_bookings" not in html
    _run(client, "approve_bookings", pending)
    assert {b.status for b in Registration.objects.filter(pk__in=[p.pk for p in pending])} == {
        Registration.Status.PENDING_APPROVAL
    }
