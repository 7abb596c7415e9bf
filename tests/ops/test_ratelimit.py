"""common.ratelimit on real test views (tests/ops/urls.py) through the whole middleware stack."""

import os
import threading
import time
import uuid

import pytest
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache
from django.test import Client, RequestFactory, override_settings
from freezegun import freeze_time

from common.ratelimit import RateLimit, client_ip, parse_rate
from tests.ops import urls as test_urls

pytestmark = pytest.mark.urls("tests.ops.urls")

# Well inside a one-hour window, so no test straddles a window boundary by accident.
NOON = "2030-11-04 12:00:05"


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    test_urls.CALLS.clear()
    yield
    cache.clear()


def post(client, url, ip="198.51.100.7", **extra):
    return client.post(url, {"email": extra.pop("email", "")}, REMOTE_ADDR=ip, **extra)


@freeze_time(NOON)
def test_over_the_limit_gets_429_with_retry_after_and_the_view_is_not_called(client):
    for _ in range(3):
        assert post(client, "/_test/signup/").status_code == 200
    response = post(client, "/_test/signup/")

    assert response.status_code == 429
    assert test_urls.CALLS["signup"] == 3
    # 12:00:05 in a one-minute window: 55 seconds left.
    assert response["Retry-After"] == "55"
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"].startswith("text/html")
    # Dutch by default, a full page (the site layout) and the security headers too.
    body = response.content.decode()
    assert "<h1>Te veel pogingen</h1>" in body
    assert "55 seconden" in body
    assert '<main id="main"' in body
    assert "Content-Security-Policy" in response


@freeze_time(NOON)
def test_message_follows_the_users_language(client):
    for _ in range(3):
        post(client, "/_test/signup/", HTTP_ACCEPT_LANGUAGE="en")
    response = post(client, "/_test/signup/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429
    assert "Too many attempts. Please wait 55 seconds and try again." in response.content.decode()


def test_showing_the_form_is_never_limited(client):
    for _ in range(10):
        assert client.get("/_test/signup/", REMOTE_ADDR="198.51.100.7").status_code == 200


def test_the_limit_resets_in_the_next_window(client):
    with freeze_time(NOON) as frozen:
        for _ in range(3):
            post(client, "/_test/signup/")
        assert post(client, "/_test/signup/").status_code == 429
        frozen.tick(54)
        assert post(client, "/_test/signup/").status_code == 429
        frozen.tick(1)  # 12:01:00, a new window
        assert post(client, "/_test/signup/").status_code == 200


@freeze_time(NOON)
def test_clients_are_counted_separately_by_address(client):
    for _ in range(3):
        post(client, "/_test/signup/", ip="198.51.100.7")
    assert post(client, "/_test/signup/", ip="198.51.100.7").status_code == 429
    assert post(client, "/_test/signup/", ip="198.51.100.8").status_code == 200


@freeze_time(NOON)
def test_ipv6_clients_are_counted_per_64_prefix(client):
    for suffix in ("1", "2", "3"):
        post(client, "/_test/signup/", ip=f"2001:db8:1:2::{suffix}")
    assert post(client, "/_test/signup/", ip="2001:db8:1:2:ffff::9").status_code == 429
    assert post(client, "/_test/signup/", ip="2001:db8:1:3::1").status_code == 200


@freeze_time(NOON)
def test_without_trusted_proxies_a_forged_forwarded_for_does_not_escape(client):
    for n in range(3):
        post(client, "/_test/signup/", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    response = post(client, "/_test/signup/", HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert response.status_code == 429


@freeze_time(NOON)
@override_settings(RATELIMIT_TRUSTED_PROXIES=1)
def test_behind_one_trusted_proxy_clients_are_told_apart_by_forwarded_for(client):
    proxy = "10.0.0.5"
    for _ in range(3):
        post(client, "/_test/signup/", ip=proxy, HTTP_X_FORWARDED_FOR="203.0.113.1")
    assert (
        post(client, "/_test/signup/", ip=proxy, HTTP_X_FORWARDED_FOR="203.0.113.1").status_code
        == 429
    )
    # Another client behind the same proxy is not punished for the first one.
    assert (
        post(client, "/_test/signup/", ip=proxy, HTTP_X_FORWARDED_FOR="203.0.113.2").status_code
        == 200
    )
    # A client prepending a forged entry is still identified by what the proxy appended.
    forged = "192.0.2.50, 203.0.113.1"
    assert post(client, "/_test/signup/", ip=proxy, HTTP_X_FORWARDED_FOR=forged).status_code == 429


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.1", "10.0.0.5"),
        (1, "203.0.113.1", "203.0.113.1"),
        (1, "192.0.2.50, 203.0.113.1", "203.0.113.1"),
        (2, "203.0.113.1, 10.0.0.4", "203.0.113.1"),
        (2, "192.0.2.50, 203.0.113.1, 10.0.0.4", "203.0.113.1"),
        (2, "10.0.0.4", "10.0.0.5"),  # fewer hops than proxies: did not come through the chain
    ],
)
def test_client_ip(settings, proxies, forwarded, expected):
    settings.RATELIMIT_TRUSTED_PROXIES = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


@freeze_time(NOON)
def test_email_limit_holds_across_addresses_and_ignores_case(client):
    def signup(ip, email):
        return post(client, "/_test/signup/", ip=ip, email=email)

    assert signup("198.51.100.1", "hr@example.nl").status_code == 200
    assert signup("198.51.100.2", "HR@Example.nl ").status_code == 200
    response = signup("198.51.100.3", "hr@example.nl")
    assert response.status_code == 429
    # An hour-long window: the wait is given in minutes.
    assert "60 minuten" in response.content.decode()
    assert response["Retry-After"] == "3595"
    assert signup("198.51.100.4", "ok@example.nl").status_code == 200


@freeze_time(NOON)
def test_api_paths_get_json_in_the_api_error_shape(client):
    for _ in range(2):
        assert client.post("/api/_test/booking/", REMOTE_ADDR="198.51.100.7").status_code == 201
    response = client.post("/api/_test/booking/", REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 429
    assert response["Retry-After"] == "55"
    assert response.json() == {
        "detail": "Te veel pogingen. Wacht 55 seconden en probeer het opnieuw.",
        "code": "rate_limited",
        "errors": {},
    }


@freeze_time(NOON)
def test_json_clients_get_json_on_page_urls_too(client):
    for _ in range(3):
        post(client, "/_test/signup/")
    response = post(client, "/_test/signup/", HTTP_ACCEPT="application/json")
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"


@freeze_time(NOON)
def test_mixin_limits_a_class_based_view(client):
    for _ in range(2):
        assert client.post("/_test/login/", REMOTE_ADDR="198.51.100.7").status_code == 200
    assert client.post("/_test/login/", REMOTE_ADDR="198.51.100.7").status_code == 429
    assert test_urls.CALLS["login"] == 2


@freeze_time(NOON)
def test_mixin_on_a_drf_view_reads_the_json_email_and_leaves_the_body_to_drf(client):
    def book(email):
        return client.post(
            "/api/_test/drf-booking/",
            {"booker_email": email},
            content_type="application/json",
            REMOTE_ADDR="198.51.100.7",
        )

    first = book("a@example.nl")
    assert first.status_code == 201
    assert first.json() == {"booker_email": "a@example.nl"}
    limited = book("A@example.nl")
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert book("b@example.nl").status_code == 201
    assert test_urls.CALLS["drf"] == 2


@override_settings(RATELIMIT_ENABLED=False)
def test_can_be_switched_off(client):
    for _ in range(6):
        assert post(client, "/_test/signup/").status_code == 200


@override_settings(
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            # Nothing listens on port 1: every cache call fails.
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
)
def test_a_cache_outage_fails_open(client):
    for _ in range(5):
        assert post(client, "/_test/signup/").status_code == 200


@pytest.mark.parametrize(
    ("rate", "expected"),
    [("5/m", (5, 60)), ("10/15m", (10, 900)), ("100/d", (100, 86400)), ("1/s", (1, 1))],
)
def test_parse_rate(rate, expected):
    assert parse_rate(rate) == expected


@pytest.mark.parametrize("rate", ["5", "5/y", "0/m", "x/m", "5/0m"])
def test_bad_rates_fail_when_the_limit_is_declared(rate):
    with pytest.raises(ValueError):
        RateLimit(scope="x", rate=rate)


def _redis_url() -> str | None:
    broker = os.environ.get("CELERY_BROKER_URL", "")
    return broker if broker.startswith("redis://") else None


def _race(limit: RateLimit, threads: int = 8, per_thread: int = 25) -> int:
    """Post from `threads` threads at once, each with its own cache connection (as separate
    web processes have); return how many requests were admitted."""
    admitted = []
    barrier = threading.Barrier(threads)

    def worker():
        factory = RequestFactory()
        barrier.wait()
        ok = 0
        for _ in range(per_thread):
            if limit.hit(factory.post("/", REMOTE_ADDR="198.51.100.7")) is None:
                ok += 1
        admitted.append(ok)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    with freeze_time(NOON):
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
    return sum(admitted)


def _redis_cache():
    # A unique scope instead of cache.clear(): clearing a Redis cache flushes the whole
    # database, which may hold a Celery broker's queues.
    return override_settings(
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": _redis_url(),
            }
        }
    )


@pytest.mark.redis
@pytest.mark.skipif(_redis_url() is None, reason="needs Redis: set CELERY_BROKER_URL=redis://…")
def test_concurrent_requests_on_redis_admit_exactly_the_limit():
    """200 requests against a limit of 50: INCR is atomic, so exactly 50 get through."""
    with _redis_cache():
        admitted = _race(RateLimit(scope=f"test-race-{uuid.uuid4().hex}", rate="50/h"))
    assert admitted == 50


@pytest.mark.redis
@pytest.mark.skipif(_redis_url() is None, reason="needs Redis: set CELERY_BROKER_URL=redis://…")
def test_control_a_read_then_write_counter_lets_too_many_through(monkeypatch):
    """Control for the test above: with the atomic increment replaced by get + set (the
    obvious non-atomic counter) the same race admits more than the limit."""

    def racy_incr(self, key, delta=1, version=None):
        value = self.get(key, version=version)
        time.sleep(0.002)  # widen the window between read and write, as a busy server would
        self.set(key, value + delta, timeout=3605, version=version)
        return value + delta

    # On the class: every thread has its own cache instance.
    monkeypatch.setattr(RedisCache, "incr", racy_incr)
    with _redis_cache():
        admitted = _race(RateLimit(scope=f"test-race-{uuid.uuid4().hex}", rate="50/h"))
    assert admitted > 50


def test_every_limit_counts_even_when_another_already_blocks():
    """Otherwise tripping the IP limit first would let a client probe e-mails for free."""
    ip_limit = RateLimit(scope="t-ip", rate="1/h")
    email_limit = RateLimit(scope="t-email", rate="5/h", key="email")
    from common.ratelimit import check_limits

    factory = RequestFactory()
    with freeze_time(NOON):
        for _ in range(5):
            request = factory.post("/", {"email": "x@example.nl"}, REMOTE_ADDR="198.51.100.7")
            check_limits(request, [ip_limit, email_limit])
        request = factory.post("/", {"email": "x@example.nl"}, REMOTE_ADDR="198.51.100.9")
        # New address, but the e-mail has used its five.
        assert check_limits(request, [ip_limit, email_limit]) is not None


def test_clients_in_separate_test_clients_share_the_count():
    """Two browsers on one address are one client."""
    with freeze_time(NOON):
        for _ in range(3):
            post(Client(), "/_test/signup/")
        assert post(Client(), "/_test/signup/").status_code == 429
