"""Guessing API keys: wrong keys are counted per client address and answered 429 past the limit
(Retry-After, the API's JSON error shape, Dutch); a valid key is never counted or refused.

Counters live in the cache (Redis with CACHE_URL): each test uses its own random addresses, so
nothing leaks between tests even when the cache outlives them."""

import random

import pytest
from freezegun import freeze_time
from rest_framework.test import APIClient

from api.authentication import INVALID_KEY_LIMIT
from api.services import api_token_revoke
from common.ratelimit import parse_rate
from tests.api.conftest import make_token_client

pytestmark = pytest.mark.django_db

LIMIT, PERIOD = parse_rate(INVALID_KEY_LIMIT.rate)
NOON = "2030-11-04 12:00:05"  # well inside a 10-minute window
URLS = [("get", "/api/v1/bookings/"), ("post", "/api/v1/participations/")]


def random_ip() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def wrong_headers(n: int) -> str:
    """Wrong keys of every shape: made-up keys, a real-looking prefix, other schemes."""
    return [
        f"Token wst_{n:08x}{'a' * 43}",
        f"Token guess-{n}",
        f"Bearer wst_{n:08x}secret",
        f"Basic dXNlcjpwYXNzd29yZC17bn0={n}",
        "Token a b",
    ][n % 5]


def call(client, method: str, url: str, ip: str, header: str | None = None):
    extra = {"REMOTE_ADDR": ip}
    if header is not None:
        extra["HTTP_AUTHORIZATION"] = header
    return getattr(client, method)(url, {}, format="json", **extra)


@freeze_time(NOON)
@pytest.mark.parametrize(("method", "url"), URLS)
def test_wrong_keys_past_the_limit_get_429_with_retry_after(method, url):
    client, ip = APIClient(), random_ip()
    for n in range(LIMIT):
        assert call(client, method, url, ip, wrong_headers(n)).status_code == 401
    limited = call(client, method, url, ip, wrong_headers(LIMIT))
    assert limited.status_code == 429
    assert limited["Retry-After"] == str(PERIOD - 5)
    assert limited.json() == {
        "detail": "De API-sleutel is niet geldig of is ingetrokken. Te veel pogingen. "
        f"Wacht {PERIOD // 60} minuten en probeer het opnieuw.",
        "code": "rate_limited",
        "errors": {},
    }
    # Every shape of wrong key stays refused from that address.
    for n in range(5):
        assert call(client, method, url, ip, wrong_headers(n)).status_code == 429


@freeze_time(NOON)
def test_a_valid_key_passes_from_the_same_address_and_is_never_counted(org_client):
    ip = random_ip()
    # Many good requests count for nothing ...
    for _ in range(LIMIT * 2):
        assert call(org_client, "get", "/api/v1/bookings/", ip).status_code == 200
    anonymous = APIClient()
    for n in range(LIMIT):
        assert call(anonymous, "get", "/api/v1/bookings/", ip, wrong_headers(n)).status_code == 401
    assert call(anonymous, "get", "/api/v1/bookings/", ip, wrong_headers(0)).status_code == 429
    # ... and with the address over the limit the integration's own key still works.
    assert call(org_client, "get", "/api/v1/bookings/", ip).status_code == 200


@freeze_time(NOON)
def test_a_revoked_key_counts_as_a_wrong_one():
    revoked = make_token_client()
    api_token_revoke(token=revoked.token)
    ip = random_ip()
    for _ in range(LIMIT):
        assert call(revoked, "get", "/api/v1/bookings/", ip).status_code == 401
    assert call(revoked, "get", "/api/v1/bookings/", ip).status_code == 429


@freeze_time(NOON)
def test_control_other_addresses_and_requests_without_a_key_are_not_limited():
    client, ip = APIClient(), random_ip()
    for n in range(LIMIT + 1):
        call(client, "get", "/api/v1/bookings/", ip, wrong_headers(n))
    assert (
        call(client, "get", "/api/v1/bookings/", random_ip(), wrong_headers(1)).status_code == 401
    )
    # No key at all is not a guess: the usual 401 asking for one.
    no_key = call(client, "get", "/api/v1/bookings/", ip)
    assert no_key.status_code == 401 and no_key.json()["code"] == "not_authenticated"


def test_the_window_ends(org_client):
    client, ip = APIClient(), random_ip()
    with freeze_time(NOON) as frozen:
        for n in range(LIMIT + 1):
            call(client, "get", "/api/v1/bookings/", ip, wrong_headers(n))
        assert call(client, "get", "/api/v1/bookings/", ip, wrong_headers(0)).status_code == 429
        frozen.tick(PERIOD)
        assert call(client, "get", "/api/v1/bookings/", ip, wrong_headers(0)).status_code == 401
