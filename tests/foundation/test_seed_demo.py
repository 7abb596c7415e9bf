from datetime import date
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.core.management import call_command

from events.models import Event, TicketType
from organisations.models import Organisation
from participants.models import Person
from press.models import Journalist
from schools.models import Ambassador

pytestmark = pytest.mark.django_db


def table_counts() -> dict[str, int]:
    return {m._meta.label: m.objects.count() for m in apps.get_models()}


def test_seed_demo_builds_the_documented_data_set():
    call_command("seed_demo", password="demo-pass-123")
    week = Event.objects.get(slug="week-van-de-werkstress-2026")
    assert week.kind == Event.Kind.CAMPAIGN_WEEK
    assert week.campaign.name == "Check je Werkstress"
    local = ZoneInfo("Europe/Amsterdam")
    assert week.starts_at.astimezone(local).date() == date(2026, 11, 16)
    assert week.ends_at.astimezone(local).date() == date(2026, 11, 20)
    congress = Event.objects.get(kind=Event.Kind.CONGRESS)
    assert congress.capacity == 300
    prices = sorted(TicketType.objects.filter(event=congress).values_list("price_cents", flat=True))
    assert len(prices) == 2 and prices[0] == 0 and prices[1] > 0
    assert Organisation.objects.filter(kind="employer").count() == 20
    assert Organisation.objects.filter(kind="employer").values("region").distinct().count() >= 15
    assert Organisation.objects.filter(kind="school").count() == 5
    assert Organisation.objects.filter(kind="media_outlet").count() == 3
    assert Person.objects.filter(organisation__kind="media_outlet").count() == 5
    assert Person.objects.filter(email__contains="ambassadeur").count() == 3
    # The roles themselves, not only the people: three ambassadors, five journalists on the
    # press list spread over the three outlets.
    assert Ambassador.objects.count() == 3
    assert Journalist.objects.count() == 5
    assert Journalist.objects.values("outlet").distinct().count() == 3
    assert set(Journalist.objects.values_list("outlet__kind", flat=True)) == {"media_outlet"}
    for org in Organisation.objects.all():
        org.full_clean()  # every demo row passes the same validation as user input


def test_seed_demo_is_idempotent():
    call_command("seed_demo", password="demo-pass-123")
    first = table_counts()
    call_command("seed_demo", password="demo-pass-123")
    assert table_counts() == first
