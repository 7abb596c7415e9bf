import pytest

from events.models import Question

# The browser fixtures (package-scoped Chromium, page with problem collection) of tests/browser.
from tests.browser.conftest import browser, browser_context, live_url, page  # noqa: F401
from tests.factories import (
    CampaignFactory,
    CampaignWeekFactory,
    EventFactory,
    QuestionFactory,
    TicketTypeFactory,
)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in the (process-wide) cache: start every test at zero."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def campaign(db):
    return CampaignFactory(name="Week van de Werkstress", slug="week-van-de-werkstress")


@pytest.fixture
def congress(campaign):
    event = EventFactory(
        campaign=campaign, title="Congres Gezond Werk", slug="congres-gezond-werk", capacity=50
    )
    TicketTypeFactory(event=event, name="Gratis", price_cents=0, position=0)
    return event


@pytest.fixture
def ticket_type(congress):
    return congress.ticket_types.get(name="Gratis")


@pytest.fixture
def questions(congress):
    return {
        "diet": QuestionFactory(
            event=congress, label="Dieetwensen", kind=Question.Kind.TEXT, position=1
        ),
        "workshop": QuestionFactory(
            event=congress,
            label="Welke workshop?",
            kind=Question.Kind.CHOICE,
            choices="Ochtend\nMiddag",
            required=True,
            position=2,
        ),
        "lunch": QuestionFactory(
            event=congress,
            label="Blijft u lunchen?",
            kind=Question.Kind.YES_NO,
            required=True,
            position=3,
        ),
    }


@pytest.fixture
def campaign_week(campaign):
    return CampaignWeekFactory(
        campaign=campaign, title="Week van de Werkstress 2031", slug="week-2031"
    )
