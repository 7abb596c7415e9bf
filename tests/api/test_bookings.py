"""Bookings, ticket cancellation and campaign-week sign-ups through the token API."""

import pytest
from django.urls import NoReverseMatch, reverse

from communications.models import OutboxMail
from organisations.models import Organisation
from participants import links
from participants.models import Answer, CampaignParticipation, Registration, Ticket
from tests.api.conftest import make_token_client
from tests.factories import (
    CampaignWeekFactory,
    EventFactory,
    OrganisationFactory,
    QuestionFactory,
    TicketFactory,
    TicketTypeFactory,
)

pytestmark = pytest.mark.django_db


def token_of(url: str) -> str:
    """The signed token in a personal link such as https://…/nl/booking/<token>/."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def booking_body(event, ticket_type, n=2, **extra):
    return {
        "event": event.pk,
        "booker": {"name": "Hanna de Vries", "email": "hr@example.nl"},
        "attendees": [
            {"name": f"Medewerker {i}", "email": f"m{i}@example.nl", "ticket_type": ticket_type.pk}
            for i in range(n)
        ],
        **extra,
    }


def test_create_free_booking_for_the_tokens_organisation(org_client):
    event = EventFactory()
    ticket_type = TicketTypeFactory(event=event)
    question = QuestionFactory(event=event, required=True)
    body = booking_body(event, ticket_type)
    body["attendees"][0]["answers"] = {str(question.pk): "Vegetarisch"}
    body["attendees"][1]["answers"] = {str(question.pk): "Geen"}

    response = org_client.post("/api/v1/bookings/", body, format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    registration = Registration.objects.get(code=data["code"])
    assert registration.organisation == org_client.organisation
    assert data["status"] == "confirmed"
    assert [t["status"] for t in data["tickets"]] == ["valid", "valid"]
    assert [t["attendee"]["email"] for t in data["tickets"]] == ["m0@example.nl", "m1@example.nl"]
    assert data["tickets"][0]["ticket_type"]["id"] == ticket_type.pk
    assert links.booking_from_token(token_of(data["manage_url"])) == registration
    assert "payment_url" not in data
    assert sorted(Answer.objects.values_list("value", flat=True)) == ["Geen", "Vegetarisch"]
    assert OutboxMail.objects.filter(template="ticket_confirmed").count() == 2
    # The booking is then visible in the organisation's list and detail.
    assert org_client.get("/api/v1/bookings/").json()["results"][0]["code"] == data["code"]
    detail = org_client.get(f"/api/v1/bookings/{data['code']}/").json()
    # Signed links carry a timestamp, so compare everything else and what the link opens.
    assert links.booking_from_token(token_of(detail.pop("manage_url"))) == registration
    assert detail == {k: v for k, v in data.items() if k != "manage_url"}


def test_paid_online_booking_awaits_payment(org_client, settings):
    # Online payment is only offered where it can work (payments.selectors): a Stripe account.
    settings.STRIPE_SECRET_KEY = "sk_test_werkstress"
    event = EventFactory()
    paid = TicketTypeFactory(event=event, price_cents=9900)
    response = org_client.post("/api/v1/bookings/", booking_body(event, paid, 1), format="json")
    assert response.status_code == 201
    data = response.json()
    assert data["status"] == "awaiting_payment"
    assert data["hold_expires_at"]
    assert [t["status"] for t in data["tickets"]] == ["reserved"]
    registration = Registration.objects.get(code=data["code"])
    try:
        expected = reverse("payments:checkout", kwargs={"token": links.booking_token(registration)})
    except NoReverseMatch:  # payments' checkout not deployed: the link is left out
        assert "payment_url" not in data
    else:
        assert data["payment_url"].endswith(expected)


def test_paid_booking_by_invoice_is_confirmed(org_client):
    event = EventFactory()
    paid = TicketTypeFactory(event=event, price_cents=9900)
    body = booking_body(event, paid, 1, payment_method="invoice")
    response = org_client.post("/api/v1/bookings/", body, format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "confirmed"
    assert "payment_url" not in response.json()


def test_sold_out_is_409_and_writes_nothing(org_client):
    event = EventFactory(capacity=1)
    ticket_type = TicketTypeFactory(event=event)
    response = org_client.post("/api/v1/bookings/", booking_body(event, ticket_type), format="json")
    assert response.status_code == 409
    assert response.json()["code"] in ("sold_out", "ticket_type_sold_out")
    assert response.json()["detail"]
    assert not Registration.objects.exists() and not Ticket.objects.exists()


def test_cancel_ticket(org_client):
    ticket = TicketFactory(registration__organisation=org_client.organisation)
    TicketFactory(registration=ticket.registration)
    response = org_client.post(f"/api/v1/tickets/{ticket.pk}/cancel/")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    assert response.json()["booking"] == ticket.registration.code
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CANCELLED
    again = org_client.post(f"/api/v1/tickets/{ticket.pk}/cancel/")
    assert again.status_code == 409
    assert again.json()["code"] == "already_cancelled"


def test_unknown_ticket_is_404(org_client):
    assert org_client.post("/api/v1/tickets/999999/cancel/").status_code == 404
    assert org_client.get("/api/v1/bookings/NOPE1234/").status_code == 404


def participation_body(week, **extra):
    return {
        "event": week.pk,
        "contact": {"name": "Anna Jansen", "email": "anna@example.nl", "phone": "030 123 4567"},
        "activities": ["workshop", "self_test"],
        "activities_description": "Workshop over werkdruk",
        "employees_reached": 120,
        "listed_publicly": True,
        **extra,
    }


def test_campaign_week_sign_up_uses_the_tokens_organisation(org_client):
    week = CampaignWeekFactory()
    organisation_count = Organisation.objects.count()
    response = org_client.post("/api/v1/participations/", participation_body(week), format="json")
    assert response.status_code == 201, response.json()
    participation = CampaignParticipation.objects.get()
    assert participation.organisation == org_client.organisation
    assert Organisation.objects.count() == organisation_count
    data = response.json()
    assert data["organisation"] == org_client.organisation.name
    assert links.participation_from_token(token_of(data["manage_url"])) == participation
    listed = org_client.get("/api/v1/participations/").json()["results"]
    assert [p["id"] for p in listed] == [participation.pk]

    again = org_client.post("/api/v1/participations/", participation_body(week), format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "already_participating"


def test_sign_up_cannot_be_moved_to_another_organisation(org_client):
    week = CampaignWeekFactory()
    other = OrganisationFactory()
    body = participation_body(week, organisation={"kvk_number": other.kvk_number})
    response = org_client.post("/api/v1/participations/", body, format="json")
    assert response.status_code == 400
    assert "organisation.kvk_number" in response.json()["errors"]
    assert not CampaignParticipation.objects.exists()


def test_sign_up_needs_a_kvk_number_on_the_organisation():
    client = make_token_client(OrganisationFactory(kvk_number=""))
    week = CampaignWeekFactory()
    response = client.post("/api/v1/participations/", participation_body(week), format="json")
    assert response.status_code == 400
    assert "organisation.kvk_number" in response.json()["errors"]
    assert not CampaignParticipation.objects.exists()


def test_sign_up_only_for_campaign_weeks(org_client):
    congress = EventFactory()
    response = org_client.post(
        "/api/v1/participations/", participation_body(congress), format="json"
    )
    assert response.status_code == 400
    assert "event" in response.json()["errors"]


def test_sign_up_list_is_scoped_to_the_organisation(org_client, other_org_client):
    from tests.factories import CampaignParticipationFactory

    mine = CampaignParticipationFactory(organisation=org_client.organisation)
    theirs = CampaignParticipationFactory(organisation=other_org_client.organisation)
    assert [p["id"] for p in org_client.get("/api/v1/participations/").json()["results"]] == [
        mine.pk
    ]
    assert [p["id"] for p in other_org_client.get("/api/v1/participations/").json()["results"]] == [
        theirs.pk
    ]


def test_rule_violations_are_translated(org_client):
    event = EventFactory(capacity=0)
    ticket_type = TicketTypeFactory(event=event)
    body = booking_body(event, ticket_type, 1)
    dutch = org_client.post("/api/v1/bookings/", body, format="json").json()["detail"]
    english = org_client.post(
        "/api/v1/bookings/", body, format="json", HTTP_ACCEPT_LANGUAGE="en"
    ).json()["detail"]
    assert dutch and english and dutch != english


def test_lists_are_paginated(org_client):
    from tests.factories import RegistrationFactory

    RegistrationFactory.create_batch(3, organisation=org_client.organisation)
    page = org_client.get("/api/v1/bookings/?page_size=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    page2 = org_client.get(page["next"]).json()
    assert len(page2["results"]) == 1 and page2["next"] is None
