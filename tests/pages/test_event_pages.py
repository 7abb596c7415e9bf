"""Event, campaign and event-list pages: Dutch by default, English at /en/, accessible."""

import pytest
from django.utils import timezone

from tests.factories import EventFactory, TicketFactory, TicketTypeFactory

from .a11y import assert_accessible_basics

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("language", "heading"), [("nl", "Evenementen"), ("en", "Events")])
def test_event_list_in_both_languages(client, congress, language, heading):
    response = client.get(f"/{language}/events/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    assert f"<h1>{heading}</h1>" in html
    assert "Congres Gezond Werk" in html
    assert_accessible_basics(html)


def test_event_list_filters_by_kind_and_campaign(client, congress, campaign_week):
    html = client.get("/nl/events/?kind=campaign_week").content.decode()
    assert "Week van de Werkstress 2031" in html
    assert "Congres Gezond Werk" not in html
    other = EventFactory(title="Ander congres", slug="ander")
    html = client.get("/nl/events/?campaign=week-van-de-werkstress").content.decode()
    assert "Congres Gezond Werk" in html
    assert other.title not in html


def test_event_list_paginates(client, campaign):
    for i in range(30):
        EventFactory(campaign=campaign, title=f"Sessie {i:02d}", slug=f"sessie-{i}")
    first = client.get("/nl/events/").content.decode()
    second = client.get("/nl/events/?page=2").content.decode()
    assert "Volgende pagina" in first
    assert first.count('class="card"') == 24
    assert second.count('class="card"') == 6
    assert_accessible_basics(second)


@pytest.mark.parametrize(("language", "button"), [("nl", "Nu boeken"), ("en", "Book now")])
def test_event_detail_shows_places_per_ticket_type(client, congress, ticket_type, language, button):
    limited = TicketTypeFactory(event=congress, name="Workshop", capacity=2, price_cents=2500)
    TicketFactory(registration__event=congress, ticket_type=limited)
    TicketFactory(registration__event=congress, ticket_type=limited)
    response = client.get(f"/{language}/events/{congress.slug}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{language}">' in html
    assert button in html
    assert "48" in html  # event: 50 minus 2 taken
    assert ("Vol" if language == "nl" else "Full") in html  # the workshop type is full
    assert "€\xa025,00" in html or "€ 25,00" in html or "25.00" in html
    assert_accessible_basics(html)


def test_full_event_offers_the_waiting_list(client, congress, ticket_type):
    congress.capacity = 1
    congress.save()
    TicketFactory(registration__event=congress, ticket_type=ticket_type)
    html = client.get(f"/nl/events/{congress.slug}/").content.decode()
    assert "Vol: zet u op de wachtlijst" in html
    assert f"/nl/events/{congress.slug}/waiting-list/" in html
    assert f"/nl/events/{congress.slug}/book/" not in html


def test_campaign_week_detail_links_to_sign_up_and_list(client, campaign_week):
    html = client.get(f"/nl/events/{campaign_week.slug}/").content.decode()
    assert f"/nl/events/{campaign_week.slug}/sign-up/" in html
    assert f"/nl/events/{campaign_week.slug}/participants/" in html
    assert_accessible_basics(html)


def test_draft_event_is_not_public(client, campaign):
    draft = EventFactory(campaign=campaign, status="draft", slug="concept")
    assert client.get(f"/nl/events/{draft.slug}/").status_code == 404


@pytest.mark.parametrize("language", ["nl", "en"])
def test_campaign_pages(client, congress, campaign_week, language):
    html = client.get(f"/{language}/campaigns/").content.decode()
    assert f'<html lang="{language}">' in html
    assert "Week van de Werkstress" in html
    assert_accessible_basics(html)
    response = client.get(f"/{language}/campaigns/{congress.campaign.slug}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Congres Gezond Werk" in html and "Week van de Werkstress 2031" in html
    # Grouped by kind, with the kind labels in the page language.
    assert ("Congres" if language == "nl" else "Congress") in html
    assert ("Campagneweek" if language == "nl" else "Campaign week") in html
    assert_accessible_basics(html)


def test_campaign_page_filters_by_kind(client, congress, campaign_week):
    html = client.get(f"/nl/campaigns/{congress.campaign.slug}/?kind=congress").content.decode()
    assert "Congres Gezond Werk" in html
    assert "Week van de Werkstress 2031" not in html


def test_past_events_are_not_listed(client, campaign):
    past = timezone.now() - timezone.timedelta(days=3)
    EventFactory(
        campaign=campaign,
        title="Oud congres",
        starts_at=past,
        ends_at=past + timezone.timedelta(hours=2),
    )
    assert "Oud congres" not in client.get("/nl/events/").content.decode()
