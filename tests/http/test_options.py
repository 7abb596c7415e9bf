"""OPTIONS on every API route and on unknown /api/ paths: never a 5xx, always JSON.

DRF's default SimpleMetadata described a view's `serializer_class` for POST/PUT; the API's
views have their own input serializers and mostly no serializer_class, so OPTIONS crashed
(AssertionError, 500), anonymously too and on every unknown /api/ path (the catch-all view
allows POST). api.metadata.ApiMetadata, configured once in REST_FRAMEWORK, answers with the
endpoint's name, formats and the schema's address instead.

Routes come from the URLconf (every named route under /api/, path parameters filled with the
permission world's rows and with ids that do not exist) and from a seeded corpus of unknown
paths; identities: anonymous, an organisation API key, a journalist's press link, an
ambassador's and an organiser administrator's login.
"""

from __future__ import annotations

import json
import random
import string
from urllib.parse import quote

import pytest
from rest_framework.metadata import SimpleMetadata

from api.views import BookingListCreateView, NotFoundView
from tests.permissions.test_matrix import all_patterns, fill

from .conftest import Answer, caller_for

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "org_a_api", "journalist", "ambassador", "admin"]
MISSING = {
    name: 2**40 + 7 for name in ("event_id", "ticket_id", "request_id", "invitation_id", "pk", "id")
}


def api_paths(world) -> list[tuple[str, str]]:
    paths = []
    for name, route in all_patterns():
        if not name or not route.startswith("api/"):
            continue
        for overrides in (None, {**MISSING, "code": "GEEN-BOEKING"}):
            path = fill(route, name, world, overrides)
            if path is not None and (name, path) not in paths:
                paths.append((name, path))
    return paths


def unknown_paths(count: int = 60) -> list[str]:
    """Paths no API route has: fixed odd ones and seeded random ones (percent-encoded and
    non-ASCII segments included)."""
    rng = random.Random(13)
    alphabet = string.ascii_letters + string.digits + "-_.~%!$&'()*+,;=:@é€"
    fixed = [
        "/api/",
        "/api/v1/",
        "/api/v2/events/",
        "/api/v1/events/1/tickets/",
        "/api/v1/bookings/ABC/cancel/",
        "/api/v1/press/",
        "/api/v1/schools/",
        "/api/v1/%00/",
        "/api/v1/" + "x" * 2000 + "/",
        "/api/v1/events/99999999999999999999999/",
        "/api/schema/extra/",
    ]
    generated = []
    for _ in range(count):
        segments = [
            "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24)))
            for _ in range(rng.randint(1, 4))
        ]
        # As a client sends them: non-ASCII as UTF-8 percent-escapes, stray "%" kept.
        path = "/api/" + "/".join(segments) + rng.choice(["", "/"])
        generated.append(quote(path, safe="/-_.~%!$&'()*+,;=:@"))
    return fixed + generated


# The schema and its documentation pages render with their own renderers (OpenAPI, HTML):
# there only the status is judged.
OWN_RENDERERS = {"api:schema", "api:docs", "api:redoc"}


def problem(method_path: str, answer: Answer, name: str | None = None) -> str | None:
    if answer.status >= 500:
        return f"{method_path}: {answer.status}"
    if name in OWN_RENDERERS:
        return None
    content_type = answer.header("Content-Type") or ""
    if not content_type.startswith("application/json"):
        return f"{method_path}: {answer.status} as {content_type!r}"
    body = json.loads(answer.body)
    if answer.status == 200:
        if not {"name", "renders", "parses", "schema"} <= set(body):
            return f"{method_path}: 200 without the metadata: {body}"
        if "OPTIONS" not in (answer.header("Allow") or ""):
            return f"{method_path}: 200 without an Allow header"
    elif set(body) != {"detail", "code", "errors"}:
        return f"{method_path}: {answer.status} outside the API's error shape: {body}"
    return None


@pytest.mark.parametrize("role", ROLES)
def test_options_on_every_api_route_and_unknown_path(world, role):
    call = caller_for(world, role)
    routes = api_paths(world)
    named = {n for n, r in all_patterns() if n and r.startswith("api/")}
    assert {name for name, _ in routes} == named, "API routes the world cannot fill"
    problems = []
    answered = {}
    for name, path in routes:
        answer = call("OPTIONS", path)
        answered[name] = answer.status
        problems.append(problem(f"OPTIONS {path} ({name})", answer, name))
    for path in unknown_paths():
        answer = call("OPTIONS", path)
        problems.append(problem(f"OPTIONS {path}", answer))
        if answer.status < 500:
            assert answer.status == 404 or path.startswith("/api/v1/"), (path, answer.status)
        if answer.status == 404 and not path.startswith("/api/v1/"):
            # Nothing exists there, so no method is advertised, not even for TRACE.
            trace = call("TRACE", path)
            assert (answer.header("Allow"), trace.status, trace.header("Allow")) == (
                None,
                404,
                None,
            ), path
    problems = [p for p in problems if p]
    assert not problems, f"role {role}:\n" + "\n".join(problems)
    # Views the identity may use describe themselves (not every answer is a 401/404).
    assert answered["api:v1:event_list"] == 200
    if role == "org_a_api":
        assert answered["api:v1:booking_list"] == 200


def test_options_describes_the_endpoint_and_points_at_the_schema(world):
    answer = caller_for(world, "org_a_api")("OPTIONS", "/api/v1/bookings/")
    body = json.loads(answer.body)
    assert body["schema"] == "http://testserver/api/schema/"
    assert body["parses"] == ["application/json"]
    assert set(answer.header("Allow").replace(" ", "").split(",")) >= {"GET", "POST", "OPTIONS"}


def test_control_drf_default_metadata_crashes(world, monkeypatch):
    """Control: with DRF's own metadata class the same OPTIONS requests are 500s again."""
    call = caller_for(world, "org_a_api")
    monkeypatch.setattr(BookingListCreateView, "metadata_class", SimpleMetadata)
    monkeypatch.setattr(NotFoundView, "metadata_class", SimpleMetadata)
    assert call("OPTIONS", "/api/v1/bookings/").status == 500
    monkeypatch.delattr(NotFoundView, "options")  # the catch-all's own 404 for OPTIONS, too
    assert call("OPTIONS", "/api/xyz/").status == 500
