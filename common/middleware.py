"""Security headers every response carries.

Django's SecurityMiddleware already covers HSTS, the SSL redirect, nosniff, Referrer-Policy and
Cross-Origin-Opener-Policy (from the SECURE_* settings). This middleware adds what Django 5.2
does not have: a Content-Security-Policy and a Permissions-Policy, and it makes sure the other
headers are present even where SecurityMiddleware is configured off, so a setting typo cannot
silently drop them.

The policy forbids inline <script>/<style> and anything from another origin: pages keep their CSS
in static/css/ and their JS in static/js/. A view that truly needs another policy sets the
Content-Security-Policy header on its response itself; it is then left alone.
"""

import functools
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

DEFAULT_CSP: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

# Powerful browser features this site never uses; denying them limits what injected or
# third-party code could do. Only features Chromium and Firefox know, so consoles stay quiet.
DEFAULT_PERMISSIONS_POLICY: dict[str, str] = {
    "accelerometer": "()",
    "camera": "()",
    "geolocation": "()",
    "gyroscope": "()",
    "magnetometer": "()",
    "microphone": "()",
    "payment": "()",
    "usb": "()",
}


def build_csp(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}".strip() for name, value in directives.items())


def build_permissions_policy(features: dict[str, str]) -> str:
    return ", ".join(f"{name}={allow}" for name, allow in features.items())


def site_csp_directives() -> dict[str, str]:
    return {**DEFAULT_CSP, **getattr(settings, "SECURITY_CSP", {})}


def csp_update(directives: dict[str, str]) -> Callable:
    """Give one view a different policy: the site's directives with `directives` replacing
    the ones named. For third-party pages that cannot run without it, e.g. Redoc, whose
    styled-components inject <style> elements:

        csp_update({"style-src": "'self' 'unsafe-inline'"})(SpectacularRedocView.as_view())

    Loosen only what the page needs; script-src should stay 'self'."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            response = view(request, *args, **kwargs)
            response["Content-Security-Policy"] = build_csp({**site_csp_directives(), **directives})
            return response

        return wrapped

    return decorator


class SecurityHeadersMiddleware:
    """Adds CSP, Permissions-Policy, nosniff, Referrer-Policy and COOP to every response.

    Settings (all optional): SECURITY_CSP (dict of directives, merged over DEFAULT_CSP),
    SECURITY_CSP_REPORT_ONLY (bool: send Content-Security-Policy-Report-Only instead, for trying
    a change in production without breaking pages), SECURITY_PERMISSIONS_POLICY (dict merged over
    DEFAULT_PERMISSIONS_POLICY).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # Built once: the header values only depend on settings.
        self.csp = build_csp(site_csp_directives())
        self.csp_header = (
            "Content-Security-Policy-Report-Only"
            if getattr(settings, "SECURITY_CSP_REPORT_ONLY", False)
            else "Content-Security-Policy"
        )
        self.permissions_policy = build_permissions_policy(
            {**DEFAULT_PERMISSIONS_POLICY, **getattr(settings, "SECURITY_PERMISSIONS_POLICY", {})}
        )
        self.referrer_policy = getattr(settings, "SECURE_REFERRER_POLICY", None) or "same-origin"
        self.coop = getattr(settings, "SECURE_CROSS_ORIGIN_OPENER_POLICY", None) or "same-origin"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # setdefault: a view that set its own value on purpose keeps it.
        if not (
            response.has_header("Content-Security-Policy")
            or response.has_header("Content-Security-Policy-Report-Only")
        ):
            header = self.csp_header
            if settings.DEBUG and response.status_code >= 400:
                # Django's debug error pages (tracebacks, URL lists) are built with inline
                # <style>/<script>; report instead of blocking so developers can read them.
                header = "Content-Security-Policy-Report-Only"
            response[header] = self.csp
        response.headers.setdefault("Permissions-Policy", self.permissions_policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", self.referrer_policy)
        response.headers.setdefault("Cross-Origin-Opener-Policy", self.coop)
        return response
