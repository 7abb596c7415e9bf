"""Rate limits for public endpoints (sign-up, booking, login, magic links, API bookings).

A fixed-window counter in the Django cache: `cache.add` creates the window's counter, `cache.incr`
counts atomically (Redis INCR in production via CACHE_URL, so every web process shares the
count; the local-memory default counts per process). Counters are keyed by client IP (IPv6 by
its /64, which one household or host usually owns in full) or by the e-mail address in the
request, so one mailbox cannot be flooded from many addresses.

Usage (see docs/contracts.md, "Rate limits"):

    @ratelimit(scope="signup", rate="20/h")
    @ratelimit(scope="signup-email", rate="5/h", key="email", field="contact_email")
    def signup(request): ...

    class BookingViewSet(RateLimitMixin, viewsets.ViewSet):
        ratelimits = [RateLimit(scope="api-booking", rate="30/m")]

Over the limit the view is not called: the client gets HTTP 429 with a Retry-After header and a
translated message (JSON in the API's error shape under /api/ or for JSON clients, an HTML page
otherwise). Windows are aligned to the clock, so a client can at most double its rate across one
window boundary; that is accepted for simplicity and an exact Retry-After.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import ngettext

logger = logging.getLogger(__name__)

_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "5/m" -> (5, 60); "10/15m" -> (10, 900); "100/d" -> (100, 86400)."""
    match = _RATE_RE.match(rate)
    if not match:
        raise ValueError(f"Invalid rate {rate!r}: use 'N/s', 'N/m', 'N/h', 'N/d' or 'N/15m'.")
    count, multiplier, unit = match.groups()
    period = int(multiplier or 1) * _UNIT_SECONDS[unit]
    if int(count) < 1 or period < 1:
        raise ValueError(f"Invalid rate {rate!r}: count and period must be positive.")
    return int(count), period


def client_ip(request: HttpRequest) -> str:
    """The client's address, trusting exactly RATELIMIT_TRUSTED_PROXIES reverse proxies.

    Each trusted proxy appends the address it received the connection from to
    X-Forwarded-For, so with N proxies the client is the N-th entry from the right; entries
    further left were written by the client itself and can be forged. With no trusted proxy
    (the default) only REMOTE_ADDR counts.
    """
    proxies = getattr(settings, "RATELIMIT_TRUSTED_PROXIES", 0)
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    if proxies <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) < proxies:
        # Fewer hops than configured: the request did not come through the proxy chain.
        return remote
    return forwarded[-proxies]


def client_address(request: HttpRequest) -> str | None:
    """The client as the limits count it, as a plain IP address (for django-axes, which
    stores it in an address column): client_ip() with an IPv4-mapped IPv6 address as IPv4
    and any other IPv6 address as the first address of its /64, so that rotating through the
    addresses of one network counts as one client. None if there is no usable address."""
    try:
        ip = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return str(ip)


def _ip_identity(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _request_field(request: HttpRequest, field: str) -> str:
    """A form or JSON body field, without consuming the stream for the view (request.body is
    cached by Django, and DRF re-reads it from that cache)."""
    value = request.POST.get(field, "") if request.method == "POST" else ""
    if not value and request.content_type == "application/json" and request.body:
        try:
            data = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            return ""
        value = data.get(field, "") if isinstance(data, dict) else ""
    return value.strip().lower() if isinstance(value, str) else ""


@dataclass(frozen=True)
class RateLimit:
    """One limit: `rate` requests per period for the same `key` within `scope`.

    key: "ip" (client address) or "email" (the request's `field`, lower-cased; requests without
    it are not counted by this limit, so pair it with an "ip" limit). methods: which HTTP
    methods count; by default only POST, so showing a form is never limited.
    """

    scope: str
    rate: str
    key: str = "ip"
    field: str = "email"
    methods: tuple[str, ...] = ("POST",)

    def __post_init__(self) -> None:
        parse_rate(self.rate)  # fail at import time, not on the first request
        if self.key not in ("ip", "email"):
            raise ValueError(f"Unknown rate-limit key {self.key!r}: use 'ip' or 'email'.")

    def identity(self, request: HttpRequest) -> str:
        if self.key == "email":
            return _request_field(request, self.field)
        return _ip_identity(client_ip(request))

    def hit(self, request: HttpRequest) -> int | None:
        """Count this request; return seconds to wait if it is over the limit, else None."""
        if request.method not in self.methods:
            return None
        return self.hit_identity(self.identity(request))

    def hit_identity(self, identity: str) -> int | None:
        """Count one attempt for an identity the caller knows (e.g. the account a login names,
        which is not always a request field); seconds to wait if over the limit, else None."""
        if not getattr(settings, "RATELIMIT_ENABLED", True):
            return None
        identity = (identity or "").strip().lower() if self.key == "email" else identity
        if not identity:
            return None
        limit, period = parse_rate(self.rate)
        now = time.time()
        window = int(now // period)
        # Hashed: no addresses or e-mail addresses in cache keys, and always a valid key.
        digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
        cache_key = f"ratelimit:{self.scope}:{self.key}:{digest}:{window}"
        try:
            # add() is a no-op when the counter exists; the small margin keeps the key alive
            # until its window is certainly over.
            cache.add(cache_key, 0, timeout=period + 5)
            try:
                count = cache.incr(cache_key)
            except ValueError:  # evicted between add and incr
                cache.add(cache_key, 1, timeout=period + 5)
                count = 1
        except Exception:
            # Fail open: a cache outage must not take sign-up and booking down with it.
            logger.warning("rate limit cache unavailable; not limiting %s", self.scope)
            return None
        if count <= limit:
            return None
        return max(1, math.ceil((window + 1) * period - now))


def wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return (
        request.path_info.startswith("/api/")
        or request.content_type == "application/json"
        or ("application/json" in accept and "text/html" not in accept)
    )


def rate_limited_message(retry_after: int) -> str:
    if retry_after < 120:
        return ngettext(
            "Too many attempts. Please wait %(count)d second and try again.",
            "Too many attempts. Please wait %(count)d seconds and try again.",
            retry_after,
        ) % {"count": retry_after}
    minutes = math.ceil(retry_after / 60)
    return ngettext(
        "Too many attempts. Please wait %(count)d minute and try again.",
        "Too many attempts. Please wait %(count)d minutes and try again.",
        minutes,
    ) % {"count": minutes}


def rate_limited_response(request: HttpRequest, retry_after: int) -> HttpResponse:
    message = rate_limited_message(retry_after)
    if wants_json(request):
        response: HttpResponse = JsonResponse(
            {"detail": message, "code": "rate_limited", "errors": {}}, status=429
        )
    else:
        response = HttpResponse(
            render_to_string(
                "common/rate_limited.html",
                {"message": message, "retry_after": retry_after},
                request=request,
            ),
            status=429,
        )
    response["Retry-After"] = str(retry_after)
    # A 429 must not be cached by a proxy and served to other clients.
    response["Cache-Control"] = "no-store"
    return response


def check_limits(request: HttpRequest, limits: Iterable[RateLimit]) -> HttpResponse | None:
    """Count the request against every limit; a 429 response if any is exceeded.

    Every limit is counted (no short-circuit), so an attacker cannot dodge the e-mail limit by
    also tripping the IP limit."""
    waits = [wait for limit in limits if (wait := limit.hit(request)) is not None]
    return rate_limited_response(request, max(waits)) if waits else None


def ratelimit(
    *,
    scope: str,
    rate: str,
    key: str = "ip",
    field: str = "email",
    methods: Iterable[str] = ("POST",),
) -> Callable:
    """Decorator for function views (also around DRF's @api_view: put it outermost)."""
    limit = RateLimit(scope=scope, rate=rate, key=key, field=field, methods=tuple(methods))

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            blocked = check_limits(request, [limit])
            if blocked is not None:
                return blocked
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class RateLimitMixin:
    """For class-based views and DRF views/viewsets: list the limits in `ratelimits`.

    Put the mixin first in the bases so it runs before the view (and before DRF wraps the
    request)."""

    ratelimits: list[RateLimit] = []

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        blocked = check_limits(request, self.ratelimits)
        if blocked is not None:
            return blocked
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
