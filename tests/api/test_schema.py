"""The OpenAPI document is valid and complete; the docs pages load without any CDN."""

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)  # raises on any structural error


def test_schema_documents_v1_paths_bodies_and_idempotency_header(schema):
    paths = schema["paths"]
    for path in (
        "/api/v1/events/",
        "/api/v1/events/{event_id}/",
        "/api/v1/bookings/",
        "/api/v1/bookings/{code}/",
        "/api/v1/tickets/{ticket_id}/cancel/",
        "/api/v1/participations/",
    ):
        assert path in paths, path
    for create in (paths["/api/v1/bookings/"]["post"], paths["/api/v1/participations/"]["post"]):
        assert "application/json" in create["requestBody"]["content"]
        headers = [p["name"] for p in create["parameters"] if p["in"] == "header"]
        assert "Idempotency-Key" in headers
        assert {"201", "400", "401", "422"} <= set(create["responses"])
        assert create["security"] == [{"organisationToken": []}]
    booking = schema["components"]["schemas"]["BookingCreateInput"]
    assert {"event", "booker", "attendees"} <= set(booking["required"])
    output = schema["components"]["schemas"]["BookingOutput"]["properties"]
    assert {"code", "status", "tickets", "manage_url", "payment_url"} <= set(output)
    # Public reads need no key.
    assert {} in paths["/api/v1/events/"]["get"]["security"]


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_local_assets_only(api_client, url):
    response = api_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    refs += re.findall(r"""["'](https?://[^"']+)["']""", html)
    assert refs, "expected the page to load its scripts"
    for ref in refs:
        assert not re.match(r"^(https?:)?//", ref), f"external reference {ref}"
    static_refs = [r for r in refs if r.startswith("/static/")]
    assert static_refs
    for ref in static_refs:
        # Each asset is really shipped (by drf-spectacular-sidecar), not a dangling path.
        assert finders.find(ref.removeprefix("/static/").split("?")[0]), ref
    # A Content-Security-Policy without 'unsafe-inline' must be able to serve the page.
    assert "<style" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
    for script in [r for r in refs if "script" in r and not r.startswith("/static/")]:
        # The Swagger init script is served by the docs view itself, as JavaScript.
        js = api_client.get(script)
        assert js.status_code == 200
        assert js["Content-Type"].startswith("application/javascript")
