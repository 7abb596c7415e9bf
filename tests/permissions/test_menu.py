"""The organiser menu in templates/base.html shows each link to exactly the roles the policy
lets open it (common/context_processors.py), whatever the staff flag, and costs a fixed number
of queries per request, not one per link."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import OrganiserRole
from common.context_processors import organiser_menu
from common.permissions import organiser_roles
from tests.factories import CampaignFactory, EventFactory, UserFactory
from tests.permissions.policy import POLICY, expected_allowed
from tests.permissions.test_matrix import refused
from tests.permissions.world import ROLES, build_world, client_for

pytestmark = pytest.mark.django_db

# The menu's links without path arguments, judged against the policy.
MENU_LINKS = ("admin:index", "communications:outbox_list", "schools:board", "backoffice:index")
CHECKIN_ROLES = {"checkin_x", "staff_checkin_x"}  # a link to event X's check-in page


def hrefs(html: str) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', html))


@pytest.fixture
def world(settings):
    settings.OTP_REQUIRED_FOR_ORGANISERS = True
    settings.RATELIMIT_ENABLED = False
    return build_world()


def test_menu_shows_each_organiser_link_to_the_roles_that_may_open_it(world):
    checkin_x = reverse("participants:event_checkin", args=[world.event_x.pk])
    moments = reverse("press:staff_moments")
    problems = []
    for role in ROLES:
        client = client_for(world, role)
        page = client.get(reverse("home"))
        assert page.status_code == 200, role
        shown = hrefs(page.content.decode())
        for name in MENU_LINKS:
            may = expected_allowed(POLICY[name], role, "GET")
            if (reverse(name) in shown) != may:
                problems.append(f"{role}: {name} {'hidden' if may else 'shown'}")
        if (checkin_x in shown) != (role in CHECKIN_ROLES):
            problems.append(f"{role}: check-in link of event X")
        press_page = hrefs(client.get(reverse("press:page")).content.decode())
        if (moments in press_page) != expected_allowed(POLICY["press:staff_moments"], role, "GET"):
            problems.append(f"{role}: media moments link on the press page")
        # Every organiser link shown opens for this role.
        for url in shown & ({reverse(n) for n in MENU_LINKS} | {checkin_x}):
            if refused(client.get(url)):
                problems.append(f"{role}: {url} shown but refused")
    assert not problems, "\n".join(problems)


def _checkin_staff(events):
    user = UserFactory(email=f"deur{len(events)}@ministerie.example.nl")
    OrganiserRole.objects.create(user=user, role=OrganiserRole.Role.CHECKIN_STAFF).events.add(
        *events
    )
    return user


def _menu(user):
    request = RequestFactory().get("/")
    request.user = user
    menu = organiser_menu(request)["organiser_menu"]
    bool(menu)  # evaluate the lazy object
    return menu


def _device_queries(user) -> int:
    from django_otp import user_has_device

    with CaptureQueriesContext(connection) as queries:
        user_has_device(user, confirmed=True)
    return len(queries)


def test_menu_queries_do_not_grow_with_links():
    now = timezone.now()
    upcoming = [EventFactory(starts_at=now + timedelta(days=d)) for d in (1, 2, 3, 4)]
    ended = EventFactory(starts_at=now - timedelta(days=3))
    few, many = _checkin_staff(upcoming[:1]), _checkin_staff([*upcoming, ended])
    counts = {}
    for key, user in (("few", few), ("many", many)):
        with CaptureQueriesContext(connection) as queries:
            menu = _menu(user)
        counts[key] = len(queries)
        assert not menu.admin and not menu.dashboards and not menu.django_admin
    # The roles, the events, then django_otp's device lookup (one query per device kind).
    device = _device_queries(few)
    assert counts == {"few": 2 + device, "many": 2 + device}
    # Upcoming events in order; an ended event is no longer offered.
    assert [e.pk for e in _menu(many).checkin_events] == [e.pk for e in upcoming]

    manager = UserFactory(email="campagne@ministerie.example.nl")
    OrganiserRole.objects.create(
        user=manager, role=OrganiserRole.Role.CAMPAIGN_MANAGER
    ).campaigns.add(*CampaignFactory.create_batch(3))
    organiser_roles(manager)  # the view's own check already read the roles
    with CaptureQueriesContext(connection) as queries:
        menu = _menu(manager)
    assert len(queries) == _device_queries(manager)  # only whether 2FA is on
    assert menu.dashboards and not menu.admin and not menu.checkin_events


def test_anonymous_and_unrelated_users_cost_no_menu_query_beyond_the_role_lookup():
    from django.contrib.auth.models import AnonymousUser

    with CaptureQueriesContext(connection) as queries:
        menu = _menu(AnonymousUser())
    assert len(queries) == 0 and not menu
    member = UserFactory(email="lid@example.nl")
    with CaptureQueriesContext(connection) as queries:
        menu = _menu(member)
    assert len(queries) == 1 and not menu


def test_staff_account_without_roles_is_the_compatibility_administrator():
    """A staff account without any role row counts as administrator (common/permissions.py), so
    its menu is the administrator's; with only a limited role the flag adds nothing."""
    legacy = UserFactory(email="oud@ministerie.example.nl", is_staff=True)
    menu = _menu(legacy)
    assert menu.admin and menu.django_admin and menu.dashboards
    limited = UserFactory(email="beperkt@ministerie.example.nl", is_staff=True)
    OrganiserRole.objects.create(user=limited, role=OrganiserRole.Role.CAMPAIGN_MANAGER)
    menu = _menu(limited)
    assert menu.dashboards and not menu.admin and not menu.django_admin
    body = Client()
    body.force_login(limited)
    shown = hrefs(body.get(reverse("home")).content.decode())
    assert reverse("backoffice:index") in shown and reverse("admin:index") not in shown


ORGANISER_ROLES = {"checkin_x", "staff_checkin_x", "manager_c", "admin", "admin_no_staff"}


def test_every_organiser_role_is_offered_two_factor_login_until_it_is_on(world, settings):
    """Check-in staff never see the dashboards, where the set-up page is also linked, so the
    menu offers it to every organiser role; an account with a confirmed device is not asked.
    Where two-factor is required an organiser without a device sees nothing but the set-up
    page, so this is about the demo (optional): there the limited roles have no device yet."""
    from django_otp import user_has_device
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.OTP_REQUIRED_FOR_ORGANISERS = False
    limited = ("checkin_x", "staff_checkin_x", "manager_c", "admin_no_staff")
    TOTPDevice.objects.filter(user__in=[world.users[r] for r in limited]).delete()

    setup = reverse("accounts:otp_setup")
    for role in ROLES:
        client = client_for(world, role)
        shown = setup in hrefs(client.get(reverse("home")).content.decode())
        user = world.users.get(role)
        has_device = user is not None and user_has_device(user, confirmed=True)
        assert shown == (role in ORGANISER_ROLES and not has_device), role
        if shown:
            assert client.get(setup).status_code == 200, role
    # The administrators in the world have a verified device: no link for them.
    assert world.users["admin"] and user_has_device(world.users["admin"], confirmed=True)
