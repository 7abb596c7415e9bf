"""Helpers for the login-limit tests.

Counters in the cache (the attempts cap, wrong API keys) may live in Redis (CACHE_URL), which
outlives a test and is never flushed here (it may be shared); so every test uses its own
random client addresses and its own e-mail addresses, and no count leaks into another test.
The failed-login tallies themselves are database rows, rolled back with each test.
"""

import random
import uuid

import pytest
from django.utils import translation

from tests.factories import UserFactory

PASSWORD = "secret-pass-123"  # tests.factories.UserFactory's
LOGIN = "/nl/account/login/"
ADMIN_LOGIN = "/nl/admin/login/"


class Addresses:
    """Client addresses of one test: IPv4 in a random /16 of 10.0.0.0/8, IPv6 in a random /48
    of 2001:db8::/32 (each /64 under it is one client for the limits)."""

    def __init__(self) -> None:
        self.v4 = (random.randrange(256), random.randrange(256))
        self.v6 = random.randrange(0x10000)

    def ipv4(self, n: int) -> str:
        return f"10.{self.v4[0]}.{self.v4[1] + n // 250 & 255}.{n % 250 + 1}"

    def ipv6(self, network: int, host: int = 1) -> str:
        return f"2001:db8:{self.v6:x}:{network:x}::{host:x}"


@pytest.fixture
def addresses() -> Addresses:
    return Addresses()


def unique_email(label: str = "user") -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}@example.nl"


@pytest.fixture
def make_user(db):
    def make(label: str = "user", **kwargs):
        return UserFactory(email=unique_email(label), **kwargs)

    return make


@pytest.fixture(autouse=True)
def _dutch():
    with translation.override("nl"):
        yield


def login(client, email: str, password: str, ip: str, url: str = LOGIN, **extra):
    return client.post(url, {"username": email, "password": password}, REMOTE_ADDR=ip, **extra)


def logged_in_id(client):
    return client.session.get("_auth_user_id")
