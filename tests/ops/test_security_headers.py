"""Every response carries the security headers; the CSP forbids inline code and framing."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from common.middleware import SecurityHeadersMiddleware

EXPECTED_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
}


def parse_csp(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_security_headers(response):
    csp = parse_csp(response["Content-Security-Policy"])
    for name, values in EXPECTED_CSP.items():
        assert csp[name] == values, name
    # Nothing may allow inline code or eval anywhere in the policy.
    assert "unsafe" not in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    permissions = response["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        assert feature in permissions


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    ["/nl/", "/en/", "/nl/events/", "/nl/account/login/", "/nl/admin/login/", "/healthz"],
)
def test_pages_carry_the_security_headers(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert_security_headers(response)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/events/", "/api/docs/", "/nl/does-not-exist/"])
def test_api_docs_and_errors_carry_them_too(client, url):
    response = client.get(url)
    assert response.status_code in (200, 404)
    assert_security_headers(response)


@pytest.mark.django_db
def test_swagger_ui_needs_no_inline_script(client):
    """drf-spectacular's default view inlines its init script; the split view serves it as a
    file, which the CSP allows."""
    page = client.get("/api/docs/").content.decode()
    assert "<script>" not in page
    assert "<style>" not in page
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def test_a_view_that_sets_its_own_policy_keeps_it():
    def view(request):
        response = HttpResponse("embeddable")
        response["Content-Security-Policy"] = "frame-ancestors https://partner.example.nl"
        response["Permissions-Policy"] = "camera=(self)"
        return response

    response = SecurityHeadersMiddleware(view)(RequestFactory().get("/"))
    assert response["Content-Security-Policy"] == "frame-ancestors https://partner.example.nl"
    assert response["Permissions-Policy"] == "camera=(self)"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_policy_can_be_extended_and_tried_report_only():
    with override_settings(
        SECURITY_CSP={"img-src": "'self' data: https://images.example.nl"},
        SECURITY_CSP_REPORT_ONLY=True,
    ):
        middleware = SecurityHeadersMiddleware(lambda request: HttpResponse("x"))
        response = middleware(RequestFactory().get("/"))
    assert not response.has_header("Content-Security-Policy")
    policy = parse_csp(response["Content-Security-Policy-Report-Only"])
    assert policy["img-src"] == ["'self'", "data:", "https://images.example.nl"]
    assert policy["script-src"] == ["'self'"]


def test_headers_do_not_depend_on_django_security_middleware_settings():
    """A production setting switched off by mistake does not drop the headers."""
    with override_settings(
        SECURE_CONTENT_TYPE_NOSNIFF=False,
        SECURE_REFERRER_POLICY=None,
        SECURE_CROSS_ORIGIN_OPENER_POLICY=None,
    ):
        middleware = SecurityHeadersMiddleware(lambda request: HttpResponse("x"))
        response = middleware(RequestFactory().get("/"))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_csp_update_loosens_only_the_named_directive_for_one_view():
    from common.middleware import csp_update

    view = csp_update({"style-src": "'self' 'unsafe-inline'"})(lambda request: HttpResponse("x"))
    response = SecurityHeadersMiddleware(view)(RequestFactory().get("/"))
    policy = parse_csp(response["Content-Security-Policy"])
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]


@pytest.mark.django_db
def test_only_redoc_allows_inline_styles(client):
    policy = parse_csp(client.get("/api/redoc/")["Content-Security-Policy"])
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["worker-src"] == ["'self'", "blob:"]
    assert policy["script-src"] == ["'self'"]


def test_debug_error_pages_are_reported_not_blocked():
    """DEBUG tracebacks use inline styles; in DEBUG only, error responses get report-only."""

    def error_view(request):
        return HttpResponse("traceback", status=500)

    def ok_view(request):
        return HttpResponse("page")

    with override_settings(DEBUG=True):
        error = SecurityHeadersMiddleware(error_view)(RequestFactory().get("/"))
        ok = SecurityHeadersMiddleware(ok_view)(RequestFactory().get("/"))
    assert not error.has_header("Content-Security-Policy")
    assert "script-src 'self'" in error["Content-Security-Policy-Report-Only"]
    assert ok.has_header("Content-Security-Policy")
    # Control: without DEBUG the same error page is blocked as usual.
    production_error = SecurityHeadersMiddleware(error_view)(RequestFactory().get("/"))
    assert production_error.has_header("Content-Security-Policy")
