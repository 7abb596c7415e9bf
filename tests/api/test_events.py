"""Public event reads: only published events, filters, availability per ticket type."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Event, Question
from participants.models import Ticket, WaitingListEntry
from tests.factories import (
    CampaignFactory,
    EventFactory,
    QuestionFactory,
    TicketFactory,
    TicketTypeFactory,
    WaitingListEntryFactory,
)

pytestmark = pytest.mark.django_db


def _ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_list_shows_only_published_upcoming_events_without_a_key(api_client):
    published = EventFactory()
    EventFactory(status=Event.Status.DRAFT)
    EventFactory(status=Event.Status.CANCELLED)
    EventFactory(
        starts_at=timezone.now() - timedelta(days=3), ends_at=timezone.now() - timedelta(days=2)
    )
    response = api_client.get("/api/v1/events/")
    assert _ids(response) == [published.pk]
    body = response.json()
    assert body["count"] == 1 and "next" in body  # paginated


def test_list_filters(api_client):
    week = CampaignFactory(slug="week-van-de-werkstress")
    soon = EventFactory(campaign=week, starts_at=timezone.now() + timedelta(days=2))
    later = EventFactory(kind=Event.Kind.WEBINAR, starts_at=timezone.now() + timedelta(days=60))
    full = EventFactory(capacity=1, starts_at=timezone.now() + timedelta(days=5))
    TicketFactory(registration__event=full)

    assert _ids(api_client.get("/api/v1/events/?campaign=week-van-de-werkstress")) == [soon.pk]
    assert _ids(api_client.get("/api/v1/events/?kind=webinar")) == [later.pk]
    day = (timezone.localdate() + timedelta(days=30)).isoformat()
    assert _ids(api_client.get(f"/api/v1/events/?date_from={day}")) == [later.pk]
    day3 = (timezone.localdate() + timedelta(days=3)).isoformat()
    assert _ids(api_client.get(f"/api/v1/events/?date_to={day3}")) == [soon.pk]
    assert full.pk not in _ids(api_client.get("/api/v1/events/?has_places=true"))
    assert _ids(api_client.get("/api/v1/events/?has_places=false")) == [full.pk]


def test_list_bad_filter_gives_field_errors_not_500(api_client):
    response = api_client.get("/api/v1/events/?kind=party&date_from=gisteren")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"kind", "date_from"}


def test_detail_availability_per_ticket_type_and_questions(api_client):
    event = EventFactory(capacity=10)
    early = TicketTypeFactory(event=event, name="Early bird", price_cents=12100, capacity=3)
    normal = TicketTypeFactory(event=event, name="Normaal", price_cents=0)
    TicketTypeFactory(event=event, name="Oud", is_active=False)
    TicketFactory(registration__event=event, ticket_type=early)
    TicketFactory(registration__event=event, ticket_type=normal)
    TicketFactory(registration__event=event, ticket_type=normal, status=Ticket.Status.CANCELLED)
    WaitingListEntryFactory(
        event=event,
        ticket_type=early,
        status=WaitingListEntry.Status.OFFERED,
        offer_expires_at=timezone.now() + timedelta(hours=2),
    )
    QuestionFactory(event=event, label="Dieetwensen", required=True)
    QuestionFactory(
        event=event, label="Workshop", kind=Question.Kind.CHOICE, choices="A\nB", position=1
    )

    response = api_client.get(f"/api/v1/events/{event.pk}/")
    assert response.status_code == 200
    body = response.json()
    types = {t["name"]: t for t in body["ticket_types"]}
    assert set(types) == {"Early bird", "Normaal"}  # not the one off sale
    # 3 own places - 1 ticket - 1 open waiting-list offer.
    assert types["Early bird"]["places_left"] == 1
    assert types["Early bird"]["price_cents"] == 12100
    assert types["Early bird"]["vat_cents"] == 2100
    assert types["Early bird"]["vat_rate"] == "21.00"
    # Only the event limit applies: 10 - 2 tickets - 1 offer.
    assert types["Normaal"]["places_left"] == 7
    assert [q["label"] for q in body["questions"]] == ["Dieetwensen", "Workshop"]
    assert body["questions"][1]["choices"] == ["A", "B"]
    assert body["questions"][0]["required"] is True


@pytest.mark.parametrize("status", [Event.Status.DRAFT, Event.Status.CANCELLED])
def test_detail_of_unpublished_event_is_404(api_client, status):
    event = EventFactory(status=status)
    response = api_client.get(f"/api/v1/events/{event.pk}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_unknown_api_path_is_a_json_404(api_client):
    for url in ("/api/v1/nope/", "/api/v2/events/", "/api/v1/events/abc/"):
        response = api_client.get(url)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert response.json()["detail"] == "Niet gevonden."
