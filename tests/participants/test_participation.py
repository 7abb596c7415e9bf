"""participation_create: campaign-week sign-up, finding or creating the organisation by KvK."""

from datetime import timedelta

import pytest
from django.utils import timezone

from common.errors import RuleViolation
from communications.models import OutboxMail
from organisations.models import Organisation
from participants import services
from participants.models import CampaignParticipation, Person
from tests.factories import CampaignWeekFactory, EventFactory, OrganisationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def week(db):
    return CampaignWeekFactory()


def sign_up(week, **kw):
    org = {
        "name": "Zorggroep Noorderlicht",
        "kvk_number": "1234 5678",
        "postcode": "9711ab",
        "street": "Grote Markt 1",
        "city": "Groningen",
        "sector": "care",
        "size_band": "250-999",
        "region": "01",
        **kw.pop("organisation", {}),
    }
    contact = {"name": "Hanna HR", "email": "hr@noorderlicht.example.nl", **kw.pop("contact", {})}
    args = {
        "activities": ["workshop", "self_test"],
        "activities_description": "Twee workshops en een zelftest.",
        "employees_reached": 300,
        "listed_publicly": True,
        **kw,
    }
    return services.participation_create(event=week, organisation=org, contact=contact, **args)


def counts():
    return (
        CampaignParticipation.objects.count(),
        Organisation.objects.count(),
        Person.objects.count(),
        OutboxMail.objects.count(),
    )


def rejected(call, code):
    before = counts()
    with pytest.raises(RuleViolation) as info:
        call()
    assert info.value.code == code, (info.value.code, info.value.errors)
    assert counts() == before
    return info.value


def test_new_organisation(week):
    p = sign_up(week)
    org = p.organisation
    assert org.kvk_number == "12345678"
    assert org.postcode == "9711 AB"
    assert org.listed_publicly is True
    assert org.region.code == "01"
    assert p.contact.organisation == org
    assert p.activities == ["workshop", "self_test"]
    assert p.employees_reached == 300
    mail = OutboxMail.objects.get(key=f"participation_confirmed:{p.pk}")
    assert mail.to_email == "hr@noorderlicht.example.nl"
    assert mail.context == {"participation_id": p.pk}


def test_existing_organisation_by_kvk_with_spaces_is_updated(week):
    existing = OrganisationFactory(kvk_number="87654321", name="Oude naam", listed_publicly=True)
    p = sign_up(
        week,
        organisation={"kvk_number": " 8765 4321 ", "name": "Nieuwe naam"},
        listed_publicly=False,
    )
    assert p.organisation == existing
    existing.refresh_from_db()
    assert existing.name == "Nieuwe naam"
    assert existing.listed_publicly is False
    assert Organisation.objects.filter(kvk_number="87654321").count() == 1


def test_duplicate_participation(week):
    sign_up(week)
    rejected(
        lambda: sign_up(week, organisation={"kvk_number": "12.34.56.78"}), "already_participating"
    )
    # Another week is fine.
    sign_up(CampaignWeekFactory())


def test_cancelled_participation_allows_a_new_one(week):
    p = sign_up(week)
    p.status = CampaignParticipation.Status.CANCELLED
    p.save()
    assert sign_up(week).pk != p.pk


def test_field_errors(week):
    err = rejected(
        lambda: sign_up(
            week,
            organisation={"kvk_number": "1234", "postcode": "1234", "name": ""},
            contact={"email": "geen-email", "name": ""},
            activities=["skydiving"],
            employees_reached=0,
        ),
        "invalid",
    )
    assert set(err.errors) == {
        "organisation.kvk_number",
        "organisation.postcode",
        "organisation.name",
        "contact.email",
        "contact.name",
        "activities",
        "employees_reached",
    }
    assert err.conflict is False


def test_no_activities(week):
    err = rejected(lambda: sign_up(week, activities=[]), "invalid")
    assert list(err.errors) == ["activities"]


def test_only_campaign_weeks_and_only_when_open(week):
    rejected(lambda: sign_up(EventFactory()), "not_allowed")
    week.registration_closes_at = timezone.now() - timedelta(days=1)
    week.registration_opens_at = timezone.now() - timedelta(days=10)
    week.save()
    rejected(lambda: sign_up(week), "registration_closed")


def test_kind_applies_to_new_organisations_only(week):
    p = sign_up(week, organisation={"kind": "partner"})
    assert p.organisation.kind == Organisation.Kind.PARTNER
    existing = OrganisationFactory(kvk_number="55556666", kind=Organisation.Kind.EMPLOYER)
    sign_up(week, organisation={"kvk_number": "55556666", "kind": "partner"})
    existing.refresh_from_db()
    assert existing.kind == Organisation.Kind.EMPLOYER
    err = rejected(lambda: sign_up(week, organisation={"kind": "school"}), "invalid")
    assert list(err.errors) == ["organisation.kind"]
