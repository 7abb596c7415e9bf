"""HTTP semantics every page keeps, whatever its view does: HEAD and signed-link caching.

HeadAsGetMiddleware: RFC 9110 asks for HEAD wherever GET works, answered exactly like GET but
without the body. Function views guarded by require_GET / require_http_methods(["GET", ...])
refused it with 405, and views that branch on `request.method == "GET"` would have taken a HEAD
for a form submission. So HEAD is served by the GET code path itself: the request reaches every
middleware and view as GET, and the body is dropped on the way out. Headers (Content-Type,
Content-Length, Cache-Control, Location, ...) are the GET's.

SignedLinkNoStoreMiddleware: a URL that carries a signed token (a `token` path parameter, the
one name every signed-link route uses: bookings, tickets, invitations, sign-ups, feeds,
password resets) is itself the permission, and its pages show personal data. No cache may
keep such a response, an error page for an expired or tampered link included: it is sent
`Cache-Control: private, no-store`, unless the view chose a private policy itself (a calendar
feed's short private cache).
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

SIGNED_LINK_KWARG = "token"
SIGNED_LINK_CACHE_CONTROL = "private, no-store"


class HeadAsGetMiddleware:
    """First in MIDDLEWARE, so every other layer sees the GET and the body is dropped last."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "HEAD":
            return self.get_response(request)
        request.method = "GET"
        try:
            response = self.get_response(request)
        finally:
            request.method = "HEAD"
        # Django's WSGI handler sends whatever body it is given (servers differ in stripping
        # it); Content-Length stays the GET's, as RFC 9110 allows for HEAD.
        if response.streaming:
            response.streaming_content = []
        else:
            response.content = b""
        return response


def _directives(value: str) -> set[str]:
    return {part.split("=", 1)[0].strip().lower() for part in value.split(",") if part.strip()}


def is_signed_link_request(request: HttpRequest) -> bool:
    match = request.resolver_match
    if match is None:
        # Answered before URL resolution (e.g. a middleware's redirect): resolve it here.
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return False
    return SIGNED_LINK_KWARG in match.kwargs


class SignedLinkNoStoreMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if is_signed_link_request(request):
            chosen = _directives(response.get("Cache-Control", ""))
            if not chosen & {"private", "no-store"}:
                response["Cache-Control"] = SIGNED_LINK_CACHE_CONTROL
        return response
