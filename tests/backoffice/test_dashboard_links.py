"""The back office links each event to its other organiser pages (check-in, certificate runs,
payments) on the event dashboard and on the entry page's event rows, and shows each link only to
the roles that may open it: for every role of the permission world, a shown link opens (200) and
a page that is not linked for an event the role can see in the back office is refused. The links
cost no query per link or per event."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import EventFactory
from tests.permissions.policy import POLICY, expected_allowed
from tests.permissions.test_matrix import refused
from tests.permissions.world import ROLES, build_world, client_for

pytestmark = pytest.mark.django_db

# The organiser pages of one event (URL name, argument event_id) the back office may link to.
EVENT_PAGES = (
    "backoffice:event_dashboard",
    "participants:event_checkin",
    "communications:certificate_runs",
    "payments:event_payments",
)


@pytest.fixture
def world(settings):
    settings.OTP_REQUIRED_FOR_ORGANISERS = True
    settings.RATELIMIT_ENABLED = False
    return build_world()


def hrefs(html: str) -> set[str]:
    return set(re.findall(r'href="([^"?#]+)', html))


def page_urls(event) -> dict[str, str]:
    return {name: reverse(name, kwargs={"event_id": event.pk}) for name in EVENT_PAGES}


def may(name: str, role: str) -> bool:
    return expected_allowed(POLICY[name], role, "GET")


def check_links(client, role, shown, event, *, sees_event, skip=(), problems) -> None:
    """Shown links of `event` open; for an event the role sees in the back office, exactly the
    pages the policy lets it open are linked and the others are refused."""
    for name, url in page_urls(event).items():
        if name in skip:
            continue
        label = f"{role}: {name} of {event.title}"
        if url in shown:
            status = client.get(url).status_code
            if status != 200:
                problems.append(f"{label} shown but answers {status}")
            if not sees_event:
                problems.append(f"{label} shown for an event outside the role's back office")
        elif sees_event:
            if may(name, role):
                problems.append(f"{label} hidden but the role may open it")
            elif not refused(client.get(url)):
                problems.append(f"{label} hidden but not refused")


def test_event_dashboard_links_each_page_to_the_roles_that_may_open_it(world):
    problems = []
    for role in ROLES:
        client = client_for(world, role)
        for event, in_scope in ((world.event_x, True), (world.event_y, role != "manager_c")):
            response = client.get(reverse("backoffice:event_dashboard", args=[event.pk]))
            sees = may("backoffice:event_dashboard", role) and in_scope
            if sees:
                assert response.status_code == 200, (role, event.title)
            else:
                assert refused(response), (role, event.title, response.status_code)
                # Another event of the same page is no way round: its pages stay refused
                # for a manager of another campaign.
                if role == "manager_c":
                    for url in page_urls(event).values():
                        if not refused(client.get(url)):
                            problems.append(f"{role}: {url} of another campaign opens")
            shown = hrefs(response.content.decode())
            check_links(
                client,
                role,
                shown,
                event,
                sees_event=sees,
                skip=("backoffice:event_dashboard",),  # the page itself
                problems=problems,
            )
    assert not problems, "\n".join(problems)


def test_dashboard_links_are_those_pages_for_a_manager_and_an_administrator(world):
    """The positive case spelled out: the three links are there, for this event only."""
    for role in ("manager_c", "admin", "admin_no_staff"):
        html = client_for(world, role).get(
            reverse("backoffice:event_dashboard", args=[world.event_x.pk])
        )
        shown = hrefs(html.content.decode())
        urls = page_urls(world.event_x)
        for name in EVENT_PAGES[1:]:
            assert urls[name] in shown, (role, name)
        assert not set(page_urls(world.event_y).values()) & shown, role


def test_entry_page_rows_link_each_page_to_the_roles_that_may_open_it(world):
    problems = []
    for role in ROLES:
        client = client_for(world, role)
        response = client.get(reverse("backoffice:index"))
        opens = may("backoffice:index", role)
        assert (response.status_code == 200) if opens else refused(response), role
        shown = hrefs(response.content.decode())
        for event in (world.event_x, world.week, world.event_y):
            in_scope = opens and (role != "manager_c" or event.campaign_id == world.campaign_c.pk)
            check_links(client, role, shown, event, sees_event=in_scope, problems=problems)
    assert not problems, "\n".join(problems)


def test_links_cost_no_query_per_event(world):
    """The entry page lists every event with its links: more events, not more queries."""
    client = client_for(world, "manager_c")
    url = reverse("backoffice:index")
    client.get(url)  # warm the session and the per-process caches
    with CaptureQueriesContext(connection) as before:
        assert client.get(url).status_code == 200
    extra = [EventFactory(campaign=world.campaign_c) for _ in range(3)]
    with CaptureQueriesContext(connection) as after:
        html = client.get(url).content.decode()
    for event in extra:
        assert page_urls(event)["payments:event_payments"] in html
    assert len(after.captured_queries) == len(before.captured_queries)
