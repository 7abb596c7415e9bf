"""HEAD is GET without the body, on every route of the URLconf, for every kind of visitor.

RFC 9110 (9.3.2): a server answers HEAD wherever it answers GET, with the same status and
headers and no content. Function views guarded by require_GET / require_http_methods(["GET"])
answered 405 instead (27 of 46 pages in issue 13); common.http.HeadAsGetMiddleware serves HEAD
through the GET code path for all of them.

The walk is the permission matrix's: every named route (pages, API, feeds, the Django admin),
filled with real objects of tests/permissions/world.py, sent through the real WSGI application
(the test Client would drop a HEAD body itself) as an anonymous visitor and the logged-in roles
of each kind of identity: organisation portal login, API key, press link, ambassador login,
organiser with a second factor.
"""

from __future__ import annotations

import pytest

from .conftest import Answer, WsgiCaller, caller_for, filled_routes

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "org_a_admin", "org_a_api", "journalist", "ambassador", "admin"]

# Set afresh by every response, so two GETs differ in them too: a new CSRF cookie, never_cache's
# Expires of "now", the length of a page with a fresh CSRF token or generated element ids (the
# dashboards' charts). Compared by presence only.
PER_RESPONSE = {"set-cookie", "expires", "date", "content-length"}


def differences(head: Answer, get: Answer) -> list[str]:
    found = []
    if head.status != get.status:
        found.append(f"status {head.status}, GET {get.status}")
    if head.body:
        found.append(f"a body of {len(head.body)} bytes")
    head_headers = {k.lower(): "*" if k.lower() in PER_RESPONSE else v for k, v in head.headers}
    get_headers = {k.lower(): "*" if k.lower() in PER_RESPONSE else v for k, v in get.headers}
    if head_headers != get_headers:
        changed = sorted(
            name
            for name in head_headers.keys() | get_headers.keys()
            if head_headers.get(name) != get_headers.get(name)
        )
        found.append(
            "headers differ: "
            + ", ".join(f"{n}: {head_headers.get(n)!r} vs {get_headers.get(n)!r}" for n in changed)
        )
    return found


def walk(world, call: WsgiCaller) -> tuple[int, list[str]]:
    problems = []
    routes = filled_routes(world)
    for name, path in routes:
        # HEAD first: whatever a GET may change (a session, a counter) is then at least as
        # fresh for the GET as for the HEAD.
        head = call("HEAD", path)
        get = call("GET", path)
        problems += [f"HEAD {path} ({name}): {d}" for d in differences(head, get)]
    return len(routes), problems


@pytest.mark.parametrize("role", ROLES)
def test_head_answers_like_get_without_a_body_on_every_route(world, role):
    walked, problems = walk(world, caller_for(world, role))
    assert walked > 100, "the walk filled too few routes: is the world complete?"
    assert not problems, f"role {role}:\n" + "\n".join(problems)


def test_control_without_the_middleware_the_walk_finds_refused_heads(world, settings):
    """Control: the same walk with HeadAsGetMiddleware taken out reports the 405s of the
    require_GET pages, and a body on views that allowed HEAD already (DRF, class-based)."""
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "common.http.HeadAsGetMiddleware"]
    _walked, problems = walk(world, caller_for(world, "anonymous"))
    assert any("(events:list): status 405, GET 200" in p for p in problems), problems
    assert any("(api:v1:event_list): a body of" in p for p in problems), problems
