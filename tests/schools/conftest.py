"""Builders for the school-session tests (own module: tests/factories.py is shared)."""

from datetime import date, time

import factory
import pytest

from schools.models import (
    Ambassador,
    AvailabilityWindow,
    PreferredSlot,
    SchoolSessionRequest,
    WorkField,
)
from tests.factories import CampaignFactory, PersonFactory, SchoolFactory, region

# A month far enough ahead that every date is in the future; 2 March 2027 is a Tuesday.
TUESDAY = date(2027, 3, 2)
THURSDAY = date(2027, 3, 4)


def work_field(slug: str = "ziekenhuizen") -> WorkField:
    return WorkField.objects.get(slug=slug)


class AmbassadorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ambassador
        skip_postgeneration_save = True

    person = factory.SubFactory(
        PersonFactory, email=factory.Sequence(lambda n: f"amb{n}@example.nl")
    )
    work_field = factory.LazyFunction(work_field)
    max_sessions_per_month = 4

    @factory.post_generation
    def regions(self, create, extracted, **kwargs):
        for code in extracted if extracted is not None else ["12"]:
            self.regions.add(region(code))


def weekly(ambassador, weekday: int = 1, start=time(8, 0), end=time(17, 0)):
    return AvailabilityWindow.objects.create(
        ambassador=ambassador, weekday=weekday, start_time=start, end_time=end
    )


def make_request(
    *, school=None, slots=None, work_field=None, pupils: int = 60, region_code: str = "12"
) -> SchoolSessionRequest:
    school = school or SchoolFactory(region=region(region_code))
    request = SchoolSessionRequest.objects.create(
        school=school,
        campaign=CampaignFactory(slug="ik-zorg", name="Ik Zorg"),
        contact=PersonFactory(organisation=school, email=f"contact-{school.brin_code}@school.nl"),
        education_level="havo",
        pupils=pupils,
        classes=2,
        work_field=work_field,
    )
    for position, (day, start, end) in enumerate(
        slots or [(TUESDAY, time(10, 0), time(11, 30)), (THURSDAY, time(13, 0), time(14, 30))]
    ):
        PreferredSlot.objects.create(
            request=request, date=day, start_time=start, end_time=end, position=position
        )
    return request


@pytest.fixture
def reference_data(db):
    """Regions and work fields come from data migrations; a transactional test that runs after
    another one may find them flushed away. Loading them again is idempotent."""
    import importlib

    from django.apps import apps

    for module in (
        "organisations.migrations.0002_load_regions",
        "schools.migrations.0002_work_fields",
    ):
        migration = importlib.import_module(module)
        loader = getattr(migration, "load_regions", None) or migration.load
        loader(apps, None)


@pytest.fixture(autouse=True)
def _dutch():
    """reverse() follows the active language, and a test client request to an /en/ page leaves
    English active in this thread; every test here starts in Dutch, the site's default."""
    from django.utils import translation

    with translation.override("nl"):
        yield


@pytest.fixture
def staff_user(db):
    from tests.factories import UserFactory

    return UserFactory(is_staff=True, email="planner@example.nl")


# The browser fixtures (package-scoped Chromium, page with problem collection) of tests/browser.
from tests.browser.conftest import browser, browser_context, live_url, page  # noqa: E402, F401
