"""Every response to a signed link says `Cache-Control: private, no-store`, errors included.

The link is the permission and its pages show personal data (a booking, a ticket, an
invitation), so no cache may keep them; before common.http.SignedLinkNoStoreMiddleware only the
downloads said so. The routes are discovered, not listed: every route of the URLconf with a
`token` path parameter, and the permission policy's link pages are checked to all be among
them (a new signed-link route under another parameter name would escape the middleware).
Each is requested with its real token from tests/permissions/world.py, with the same token
expired, tampered with and replaced by garbage; by GET, HEAD and POST; anonymously and logged in.
"""

from __future__ import annotations

import re

import pytest

from tests.permissions.policy import POLICY, SAME, kwargs_for
from tests.permissions.test_matrix import all_patterns, fill

from .conftest import caller_for

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"<(?:[^>:]+:)?token>")

# Link pages (the policy's SAME) whose permission is not a signed token in the path.
NOT_SIGNED_LINKS = {
    "documents:certificate_verify",  # the code printed on a certificate
    "payments:stripe_webhook",  # signed by Stripe in a header
    "api:not_found",  # the API's catch-all 404
    "press:material_download",  # public after the embargo, staff before: no link involved
}
# Views that chose a private cache themselves: calendar apps poll the organisation feed.
OWN_PRIVATE_POLICY = {"feeds:organisation_feed": "private, max-age=900"}


def signed_link_routes() -> dict[str, str]:
    return {name: route for name, route in all_patterns() if name and TOKEN.search(route)}


def test_every_link_page_of_the_permission_policy_is_a_token_route():
    routes = signed_link_routes()
    assert len(routes) >= 25, sorted(routes)
    links = {name for name, policy in POLICY.items() if policy.allowed is SAME} - NOT_SIGNED_LINKS
    assert links - routes.keys() == set(), "signed-link pages without a token path parameter"


def variants(token: str) -> dict[str, str]:
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    return {"valid": token, "tampered": tampered, "garbage": "not-a-valid-link"}


def directives(value: str | None) -> set[str]:
    return {part.strip().lower() for part in (value or "").split(",") if part.strip()}


def walk(world, role: str) -> tuple[int, list[str]]:
    call = caller_for(world, role)
    problems = []
    seen = 0
    for name, route in signed_link_routes().items():
        token = kwargs_for(name, world).get("token", "not-a-valid-link")
        for kind, value in variants(token).items():
            path = fill(route, name, world, {"token": value})
            assert path is not None, f"the world cannot fill {name}"
            for method in ("GET", "HEAD", "POST"):
                answer = call(method, path)
                seen += 1
                got = directives(answer.header("Cache-Control"))
                own = OWN_PRIVATE_POLICY.get(name)
                if own and answer.status == 200 and method != "POST":
                    kept = got == directives(own)
                else:
                    # never_cache's longer "max-age=0, no-cache, no-store, ..., private" is as good.
                    kept = {"private", "no-store"} <= got
                if not kept:
                    problems.append(
                        f"{method} {name} ({kind} token): {answer.status} with Cache-Control "
                        f"{answer.header('Cache-Control')!r}"
                    )
    return seen, problems


@pytest.mark.parametrize("role", ["anonymous", "org_a_admin", "admin"])
def test_signed_link_responses_are_private_and_not_stored(world, role):
    seen, problems = walk(world, role)
    assert seen > 200
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", ["anonymous"])
def test_expired_links_are_private_and_not_stored_too(world, settings, role):
    """An expired link (SIGNED_LINK_MAX_AGE_DAYS below the token's age) answers with the
    "link not valid" page: it is kept by no cache either."""
    settings.SIGNED_LINK_MAX_AGE_DAYS = -1
    name = "participants:booking_manage"
    path = fill(signed_link_routes()[name], name, world)
    assert caller_for(world, role)("GET", path).status == 404  # expired indeed
    seen, problems = walk(world, role)
    assert seen > 200
    assert not problems, "\n".join(problems)


def test_control_without_the_middleware_the_walk_finds_cacheable_pages(world, settings):
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "common.http.SignedLinkNoStoreMiddleware"
    ]
    _seen, problems = walk(world, "anonymous")
    assert any(p.startswith("GET participants:booking_manage (valid token): 200") for p in problems)
    assert any("(garbage token): 404" in p for p in problems), problems
