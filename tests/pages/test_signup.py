"""Campaign-week sign-up: the happy path, and every field's bad input shown in Dutch."""

import pytest
from django.utils import translation
from django.utils.translation import gettext

from organisations.models import Organisation, Region
from participants.models import CampaignParticipation, Person
from tests.factories import CampaignParticipationFactory, OrganisationFactory

from .a11y import assert_accessible_basics

pytestmark = pytest.mark.django_db


def valid_data(**overrides) -> dict:
    data = {
        "kvk_number": "6234 5678",
        "name": "Zorggroep Zuid",
        "kind": "employer",
        "sector": "care",
        "size_band": "250-999",
        "region": str(Region.objects.get(code="12").pk),
        "street": "Dorpsstraat 4",
        "postcode": "3511ab",
        "city": "Utrecht",
        "website": "https://zorggroep-zuid.example.nl",
        "contact_name": "Ans de Vries",
        "contact_email": "ans@zorggroep-zuid.example.nl",
        "contact_phone": "030 123 4567",
        "activities": ["workshop", "self_test"],
        "activities_description": "Workshops voor teams.",
        "employees_reached": "120",
        "listed_publicly": "yes",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def counts():
    return (
        CampaignParticipation.objects.count(),
        Organisation.objects.count(),
        Person.objects.count(),
    )


@pytest.mark.parametrize(
    ("language", "text"), [("nl", "Meld uw organisatie aan"), ("en", "Sign up your organisation")]
)
def test_form_renders_in_both_languages(client, campaign_week, language, text):
    response = client.get(f"/{language}/events/{campaign_week.slug}/sign-up/")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{language}">' in html
    assert text in html
    # All 35 labour-market regions are offered.
    assert html.count('<option value="') >= 35 + len(Organisation.Sector.choices)
    assert_accessible_basics(html)


def test_sign_up_creates_participation_and_shows_confirmation(client, campaign_week):
    response = client.post(f"/nl/events/{campaign_week.slug}/sign-up/", valid_data(), follow=True)
    assert response.status_code == 200
    participation = CampaignParticipation.objects.get()
    org = participation.organisation
    assert org.kvk_number == "62345678"
    assert org.postcode == "3511 AB"
    assert org.listed_publicly is True
    assert org.region.code == "12"
    assert participation.activities == ["workshop", "self_test"]
    assert participation.employees_reached == 120
    assert participation.contact.email == "ans@zorggroep-zuid.example.nl"
    html = response.content.decode()
    assert "Bedankt voor uw aanmelding" in html
    assert "Zorggroep Zuid" in html
    assert "Workshop of training" in html or "workshop" in html.lower()
    assert_accessible_basics(html)
    # The confirmation URL is the personal signed link's sibling; the manage link works too.
    from participants.links import participation_manage_url

    manage = client.get(participation_manage_url(participation).split("8000", 1)[-1])
    assert manage.status_code == 200
    assert "Uw aanmelding" in manage.content.decode()


def test_sign_up_reuses_organisation_by_kvk(client, campaign_week):
    existing = OrganisationFactory(kvk_number="62345678", name="Oude naam")
    client.post(f"/nl/events/{campaign_week.slug}/sign-up/", valid_data())
    participation = CampaignParticipation.objects.get()
    assert participation.organisation == existing
    existing.refresh_from_db()
    assert existing.name == "Zorggroep Zuid"


@pytest.mark.parametrize(
    ("field", "value", "dutch"),
    [
        ("kvk_number", "1234", "Een KvK-nummer"),
        ("kvk_number", "", "Dit veld is vereist"),
        ("postcode", "0123 AB", "postcode"),
        ("postcode", "1234 SS", "postcode"),
        ("contact_email", "ans@", "e-mailadres"),
        ("employees_reached", "0", "minstens 1"),
        ("employees_reached", "veel", "geheel getal"),
        ("activities", None, "Kies ten minste één activiteit."),
        ("activities", ["dancing"], "geen beschikbare keuze"),
        ("listed_publicly", None, "Geef aan of uw organisatie vermeld mag worden."),
        ("region", "", "Dit veld is vereist"),
        ("website", "geen url", "URL"),
        ("name", "", "Dit veld is vereist"),
    ],
)
def test_each_invalid_field_shows_a_dutch_error_and_changes_nothing(
    client, campaign_week, field, value, dutch
):
    before = counts()
    data = valid_data()
    if value is None:
        data.pop(field)
    else:
        data[field] = value
    response = client.post(f"/nl/events/{campaign_week.slug}/sign-up/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert counts() == before
    # The message sits next to the field, tied to it, and in the summary at the top.
    assert f'id="id_{field}_error"' in html
    error_block = html.split(f'id="id_{field}_error"', 1)[1].split("</p>", 1)[0]
    assert dutch.lower() in error_block.lower()
    assert 'aria-invalid="true"' in html
    assert 'class="error-summary"' in html
    assert f'href="#id_{field}' in html
    # What was typed is kept.
    assert "Zorggroep Zuid" in html or field == "name"
    assert_accessible_basics(html)


def test_already_participating_is_shown_at_the_kvk_field(client, campaign_week):
    org = OrganisationFactory(kvk_number="62345678")
    CampaignParticipationFactory(event=campaign_week, organisation=org)
    before = counts()
    response = client.post(f"/nl/events/{campaign_week.slug}/sign-up/", valid_data())
    assert response.status_code == 400
    assert counts() == before
    html = response.content.decode()
    block = html.split('id="id_kvk_number_error"', 1)[1].split("</p>", 1)[0]
    with translation.override("nl"):
        expected = gettext("This organisation is already taking part in this campaign week.")
    assert expected in block


def test_closed_campaign_week_offers_no_form(client, campaign_week):
    from django.utils import timezone

    campaign_week.registration_closes_at = timezone.now() - timezone.timedelta(hours=1)
    campaign_week.registration_opens_at = timezone.now() - timezone.timedelta(days=10)
    campaign_week.save()
    response = client.get(f"/nl/events/{campaign_week.slug}/sign-up/")
    html = response.content.decode()
    assert "Aanmelden voor deze campagneweek is gesloten." in html
    assert '<form method="post" class="form' not in html
    assert client.post(f"/nl/events/{campaign_week.slug}/sign-up/", valid_data()).status_code == 200
    assert CampaignParticipation.objects.count() == 0


def test_sign_up_only_for_campaign_weeks(client, congress):
    assert client.get(f"/nl/events/{congress.slug}/sign-up/").status_code == 404
