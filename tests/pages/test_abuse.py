"""Abuse protection on the public forms: CSRF on every state change, rate limits, and
nothing public for drafts."""

import pytest
from django.test import Client

from participants import links, services
from participants.models import CampaignParticipation, Registration, Ticket
from tests.factories import EventFactory

from .test_signup import valid_data

pytestmark = pytest.mark.django_db


def test_state_changes_need_the_csrf_token(congress, ticket_type):
    registration = services.registration_create(
        event=congress,
        booker_name="Bea",
        booker_email="bea@example.nl",
        attendees=[
            services.AttendeeInput(
                name="Ans", email="ans@example.nl", ticket_type_id=ticket_type.pk
            )
        ],
    )
    ticket = registration.tickets.get()
    strict = Client(enforce_csrf_checks=True)
    token = links.booking_token(registration)
    assert strict.post(f"/nl/booking/{token}/cancel/").status_code == 403
    ticket_token = links.ticket_token(ticket)
    assert strict.post(f"/nl/ticket/{ticket_token}/cancel/").status_code == 403
    assert strict.post(f"/nl/ticket/{ticket_token}/", {"name": "X"}).status_code == 403
    assert strict.post(f"/nl/events/{congress.slug}/book/", {}).status_code == 403
    registration.refresh_from_db()
    ticket.refresh_from_db()
    assert registration.status == Registration.Status.CONFIRMED
    assert ticket.status == Ticket.Status.VALID and ticket.person.name == "Ans"


def test_sign_up_is_rate_limited_per_mailbox(client, campaign_week):
    url = f"/nl/events/{campaign_week.slug}/sign-up/"
    # Ten attempts with a bad KvK number are allowed (and change nothing)...
    for _ in range(10):
        assert client.post(url, valid_data(kvk_number="1")).status_code == 400
    # ...the eleventh for the same mailbox is refused before the service runs.
    response = client.post(url, valid_data())
    assert response.status_code == 429
    assert "Retry-After" in response
    assert "Te veel" in response.content.decode() or "te veel" in response.content.decode()
    assert CampaignParticipation.objects.count() == 0
    # Showing the form is never limited.
    assert client.get(url).status_code == 200


def test_draft_events_have_no_public_forms(client, campaign):
    draft = EventFactory(campaign=campaign, status="draft", slug="concept-event")
    for page in ("book", "waiting-list", "sign-up", "participants"):
        assert client.get(f"/nl/events/{draft.slug}/{page}/").status_code == 404
