"""The public list of a campaign week's participants: only consenting, active organisations,
filterable by region and sector, paginated."""

import pytest

from participants.models import CampaignParticipation
from tests.factories import CampaignParticipationFactory, OrganisationFactory, region

from .a11y import assert_accessible_basics

pytestmark = pytest.mark.django_db


def take_part(week, name, *, listed=True, region_code="12", sector="care", status="registered"):
    org = OrganisationFactory(
        name=name, listed_publicly=listed, region=region(region_code), sector=sector
    )
    return CampaignParticipationFactory(event=week, organisation=org, status=status)


@pytest.fixture
def listed(campaign_week):
    take_part(campaign_week, "Zorg Utrecht", region_code="12", sector="care")
    take_part(campaign_week, "Bouw Utrecht", region_code="12", sector="construction")
    take_part(campaign_week, "Zorg Elders", region_code="01", sector="care")
    take_part(campaign_week, "Geheim BV", listed=False)
    take_part(campaign_week, "Afgemeld BV", status=CampaignParticipation.Status.CANCELLED)
    return campaign_week


def url(week, language="nl"):
    return f"/{language}/events/{week.slug}/participants/"


@pytest.mark.parametrize(
    ("language", "heading"),
    [("nl", "Deelnemende organisaties"), ("en", "Participating organisations")],
)
def test_only_consenting_active_organisations(client, listed, language, heading):
    response = client.get(url(listed, language))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{language}">' in html
    assert heading in html
    for name in ("Zorg Utrecht", "Bouw Utrecht", "Zorg Elders"):
        assert name in html
    assert "Geheim BV" not in html
    assert "Afgemeld BV" not in html
    assert_accessible_basics(html)


def test_filter_by_region(client, listed):
    html = client.get(url(listed), {"region": region("12").pk}).content.decode()
    assert "Zorg Utrecht" in html and "Bouw Utrecht" in html
    assert "Zorg Elders" not in html


def test_filter_by_sector(client, listed):
    html = client.get(url(listed), {"sector": "care"}).content.decode()
    assert "Zorg Utrecht" in html and "Zorg Elders" in html
    assert "Bouw Utrecht" not in html


def test_filter_by_region_and_sector(client, listed):
    html = client.get(url(listed), {"sector": "care", "region": region("12").pk}).content.decode()
    assert "Zorg Utrecht" in html
    assert "Zorg Elders" not in html and "Bouw Utrecht" not in html


def test_bad_filter_values_do_not_break_the_page(client, listed):
    response = client.get(url(listed), {"region": "nonsense", "sector": "<script>"})
    assert response.status_code == 200
    assert "<script>" not in response.content.decode()


def test_other_weeks_participants_are_not_shown(client, listed, campaign):
    from tests.factories import CampaignWeekFactory

    other = CampaignWeekFactory(campaign=campaign)
    take_part(other, "Andere Week BV")
    assert "Andere Week BV" not in client.get(url(listed)).content.decode()


def test_paginated(client, campaign_week):
    for i in range(30):
        take_part(campaign_week, f"Organisatie {i:02d}")
    first = client.get(url(campaign_week)).content.decode()
    assert "Organisatie 00" in first and "Organisatie 29" not in first
    assert "Volgende pagina" in first
    second = client.get(url(campaign_week), {"page": 2, "sector": "care"}).content.decode()
    assert "Organisatie 29" in second and "Organisatie 00" not in second
    assert "sector=care" in second  # the filter is kept in the page links
    assert_accessible_basics(second)


def test_only_for_campaign_weeks(client, congress):
    assert client.get(url(congress)).status_code == 404
