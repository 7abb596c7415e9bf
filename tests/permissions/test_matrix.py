"""The permission matrix: every URL pattern of the project, for every role.

`get_resolver()` is walked recursively (pages, API, feeds, the Django admin); path kwargs are
filled with real objects of the world in tests/permissions/world.py (organisation A's booking,
event X of campaign C, ...). Every URL name must have an entry in POLICY, so a new page cannot
ship without saying who may use it. For each role the test asserts: GET of an allowed URL is
not refused (POST for pages that only take POST), GET and POST of a refused URL are refused
(anonymous: to the login page; logged in: 403/404; API: 401/403/404), and nothing answers 5xx.
"""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.permissions.policy import (
    ANY,
    OTHER_OBJECTS,
    POLICY,
    SAME,
    expected_allowed,
    expected_allowed_on_other,
    other_kwargs,
)
from tests.permissions.world import ROLES, add_other_objects, build_world, client_for

pytestmark = pytest.mark.django_db


def _walk(resolver, prefix="", namespace=None):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = entry.name and (f"{namespace}:{entry.name}" if namespace else entry.name)
            yield name, prefix + str(entry.pattern)


def all_patterns() -> list[tuple[str | None, str]]:
    return list(_walk(get_resolver()))


_CONVERTER = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


def fill(route: str, name: str | None, world, overrides: dict | None = None) -> str | None:
    """The route with its kwargs filled from the world, or None if a kwarg has no value."""
    from tests.permissions.policy import kwargs_for

    values = {**kwargs_for(name, world), **(overrides or {})}
    missing = []

    def sub(match):
        key = match.group("name")
        if key not in values:
            missing.append(key)
            return ""
        return str(values[key])

    path = _CONVERTER.sub(sub, route)
    if missing:
        return None
    if path.startswith("^") or "(?P" in path or "$" in path:
        return None  # regex routes (admin catch-alls) are covered by the named admin routes
    return "/" + path


def policy_for(name: str | None):
    if name in POLICY:
        return POLICY[name]
    if name and name.startswith("admin:"):
        return POLICY["admin:*"]
    return None


def missing_policies(patterns=None) -> list[str]:
    patterns = all_patterns() if patterns is None else patterns
    return sorted({name for name, _ in patterns if name and policy_for(name) is None})


def test_every_url_name_has_a_policy():
    missing = missing_policies()
    assert not missing, f"URL names without a permission policy: {missing}"


def test_control_a_url_missing_from_the_policy_is_reported(monkeypatch):
    """Control: take one page out of the policy and the check names it."""
    from tests.permissions import policy

    trimmed = {k: v for k, v in policy.POLICY.items() if k != "backoffice:export"}
    monkeypatch.setattr("tests.permissions.test_matrix.POLICY", trimmed)
    assert missing_policies() == ["backoffice:export"]


def test_every_route_outside_the_django_admin_is_named():
    """The walk judges routes by name: an unnamed route would escape the policy. (The Django
    admin's unnamed routes redirect to its named ones, which are walked.)"""
    unnamed = [route for name, route in all_patterns() if not name and "/admin/" not in route]
    assert not unnamed, f"routes without a name (so without a policy): {unnamed}"


def test_every_walked_route_can_be_filled_from_the_world(world):
    """A route whose path kwargs the world cannot fill would be skipped silently."""
    skipped = []
    for name, route in all_patterns():
        policy = policy_for(name)
        if not name or name.startswith("admin:") or policy is None or not policy.methods:
            continue
        if route.startswith("^") or "(?P" in route:
            continue  # regex routes: the API's catch-all 404
        if fill(route, name, world) is None:
            skipped.append(name)
    assert not skipped, f"routes the matrix cannot fill (add their kwargs): {skipped}"


LOGIN_MARKERS = ("/account/login/", "/admin/login/", "/account/two-factor/")


def _checks_allowed(name: str, policy) -> bool:
    if name.startswith("admin:") and name.endswith(("_changelist", "_change")):
        return True  # every registered model's list and change page opens for the admin
    return policy.check_allowed


def refused(response) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    if response.status_code in (301, 302, 303):
        location = response.headers.get("Location", "")
        return any(marker in location for marker in LOGIN_MARKERS)
    return False


def _request(client, method: str, path: str):
    if method == "GET":
        return client.get(path)
    return client.post(path, {})


def _other_routes() -> dict[str, str]:
    """Routes walked a second time with other objects: those with a path kwarg of
    OTHER_OBJECTS whose policy admits a scoped role (public and signed-link routes excluded)."""
    routes = {}
    for name, route in all_patterns():
        policy = policy_for(name)
        if not name or policy is None or policy.allowed is SAME or policy.allowed == ANY:
            continue
        kwargs = {m.group("name") for m in _CONVERTER.finditer(route)}
        if kwargs & set(OTHER_OBJECTS):
            routes[name] = route
    return routes


def observe(world, role: str, methods=("GET",), *, other: bool = False) -> dict:
    """{(name, method): (path, status, refused)} for every fillable named route; with `other`,
    for the routes of _other_routes() filled with the other objects."""
    client = client_for(world, role)
    seen = {}
    overrides = other_kwargs(world) if other else None
    wanted = _other_routes() if other else None
    for name, route in all_patterns():
        if not name or (wanted is not None and name not in wanted):
            continue
        policy = policy_for(name)
        if policy is None:
            continue
        path = fill(route, name, world, overrides)
        if path is None:
            continue
        for method in methods:
            if method not in policy.methods:
                continue
            response = _request(client, method, path)
            seen[(name, method)] = (path, response.status_code, refused(response))
    return seen


@pytest.fixture
def world(settings):
    settings.OTP_REQUIRED_FOR_ORGANISERS = True
    settings.RATELIMIT_ENABLED = False
    return add_other_objects(build_world())


def _judge(seen: dict, role: str, expected, label: str = "") -> list[str]:
    problems = []
    for (name, method), (path, status, was_refused) in sorted(seen.items()):
        policy = policy_for(name)
        if status >= 500:
            problems.append(f"{method} {path} ({name}{label}): {status}")
            continue
        if policy.allowed is SAME:
            continue  # compared across roles in test_link_pages_ignore_the_role
        allowed = expected(policy, role, method)
        # POST is judged for pages that take nothing else (an empty form may fail validation,
        # but it must not be refused to a role that may use the page).
        judged = method == "GET" or "GET" not in policy.methods
        if allowed and was_refused and judged and _checks_allowed(name, policy):
            problems.append(f"{method} {path} ({name}{label}): refused ({status}) but allowed")
        if not allowed and not was_refused:
            problems.append(
                f"{method} {path} ({name}{label}): answered {status} but must be refused"
            )
    return problems


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(world, role):
    """Every route for this role on the world's objects (campaign C, event X, organisation A's
    booking, ...), then the object-scoped routes again on objects outside the role's scope
    (campaign D, event Y, organisation B's booking, another journalist's invitation, ...)."""
    seen = observe(world, role, methods=("GET", "POST"))
    assert len(seen) > 100, "the walk filled too few routes: is the world complete?"
    problems = _judge(seen, role, expected_allowed)
    other = observe(world, role, methods=("GET", "POST"), other=True)
    assert len(other) > 25, "the second walk filled too few routes"
    problems += _judge(other, role, expected_allowed_on_other, ", other objects")
    assert not problems, f"role {role}:\n" + "\n".join(problems)


def test_link_pages_ignore_the_role(settings):
    """Signed-link (capability) pages answer the same whatever login the visitor has."""
    settings.OTP_REQUIRED_FOR_ORGANISERS = True
    settings.RATELIMIT_ENABLED = False
    world = build_world()
    outcomes = {role: observe(world, role) for role in ROLES}
    problems = []
    for (name, method), (path, _status, _refused) in outcomes["anonymous"].items():
        if policy_for(name).allowed is not SAME:
            continue
        statuses = {role: outcomes[role][(name, method)][1] for role in ROLES}
        if len(set(statuses.values())) != 1:
            problems.append(f"{path} ({name}): {statuses}")
    assert not problems, "\n".join(problems)


def test_control_the_matrix_notices_a_removed_check(settings, monkeypatch):
    """Control: with the check-in page's role check switched off, the matrix's judgement for
    an outsider flips from refused to a violation."""
    settings.RATELIMIT_ENABLED = False
    world = build_world()
    name = "participants:event_checkin"
    path = fill(dict((n, r) for n, r in all_patterns() if n)[name], name, world)
    client = client_for(world, "org_b_member")
    assert refused(client.get(path))
    monkeypatch.setattr("participants.checkin_views.may_check_in", lambda user, event: True)
    leaked = client.get(path)
    assert not refused(leaked)
    assert not expected_allowed(policy_for(name), "org_b_member", "GET")


def test_control_the_matrix_notices_a_staff_flag_check(settings, monkeypatch):
    """Control: a page that asks `is_staff` instead of the role is caught from both sides. The
    staff-flagged check-in account is admitted to an administrator page (a violation) and the
    administrator without the staff flag is refused it (a violation too)."""
    settings.OTP_REQUIRED_FOR_ORGANISERS = True
    settings.RATELIMIT_ENABLED = False
    world = build_world()
    name = "press:staff_moments"
    path = fill(dict((n, r) for n, r in all_patterns() if n)[name], name, world)
    policy = policy_for(name)
    assert not refused(client_for(world, "admin_no_staff").get(path))
    assert refused(client_for(world, "staff_checkin_x").get(path))
    monkeypatch.setattr("press.views.user_is_organiser_admin", lambda user: user.is_staff)
    assert refused(client_for(world, "admin_no_staff").get(path))
    assert expected_allowed(policy, "admin_no_staff", "GET")
    assert not refused(client_for(world, "staff_checkin_x").get(path))
    assert not expected_allowed(policy, "staff_checkin_x", "GET")


def test_control_the_second_walk_notices_a_missing_object_scope(settings, monkeypatch):
    """Control: with the campaign dashboard's scope widened to every campaign, campaign C's
    manager opens campaign D's dashboard, which the second walk's judgement calls a violation
    (the first walk, on campaign C, cannot see it)."""
    settings.OTP_REQUIRED_FOR_ORGANISERS = True
    settings.RATELIMIT_ENABLED = False
    world = add_other_objects(build_world())
    name = "backoffice:campaign_dashboard"
    assert name in _other_routes()
    route = dict((n, r) for n, r in all_patterns() if n)[name]
    path = fill(route, name, world, other_kwargs(world))
    assert path.rstrip("/").endswith(str(world.campaign_d.pk))
    client = client_for(world, "manager_c")
    assert refused(client.get(path))
    from events.models import Campaign

    monkeypatch.setattr("backoffice.views.campaigns_visible", lambda user: Campaign.objects.all())
    assert not refused(client.get(path))
    policy = policy_for(name)
    assert expected_allowed(policy, "manager_c", "GET")
    assert not expected_allowed_on_other(policy, "manager_c", "GET")
