"""Requests through the real WSGI application, as a server would send them.

Django's test Client removes the body of a HEAD response itself, so it cannot show what the
application sends; these helpers call `get_wsgi_application()` with a WSGI environ and return
exactly the status, headers and bytes it produced. The URLconf walk and the world of objects
are the permission matrix's (tests/permissions)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client, RequestFactory

from tests.permissions.test_matrix import all_patterns, fill
from tests.permissions.world import add_other_objects, build_world, client_for


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[0] if values else None


class WsgiCaller:
    """One identity (cookies and headers of a test Client) calling the WSGI app."""

    def __init__(self, client: Client, headers: dict | None = None) -> None:
        self.factory = RequestFactory(**(headers or {}))
        self.factory.cookies = client.cookies
        # Built now, so it runs the MIDDLEWARE of the test's settings.
        self.app = get_wsgi_application()

    def __call__(self, method: str, path: str, **extra) -> Answer:
        request = self.factory.generic(method, path, **extra)
        # WSGIRequest decodes PATH_INFO into its environ (META); a server passes it as
        # ISO-8859-1-decoded bytes, as the factory built it.
        environ = {
            **request.environ,
            "PATH_INFO": request.path_info.encode().decode("iso-8859-1"),
        }
        started: list = []

        def start_response(status, headers, exc_info=None):
            started.append((int(status.split()[0]), headers))

        chunks = self.app(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        status, headers = started[0]
        return Answer(status, list(headers), body)


@pytest.fixture
def in_process_requests():
    """The WSGI handler closes "old" database connections around each request; inside the
    test transaction that would close the test's own connection (Django's test Client
    disconnects the same handler for the same reason)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(db, settings, in_process_requests):
    settings.OTP_REQUIRED_FOR_ORGANISERS = True
    settings.RATELIMIT_ENABLED = False
    return add_other_objects(build_world())


def caller_for(world, role: str) -> WsgiCaller:
    return WsgiCaller(client_for(world, role), world.headers.get(role))


def filled_routes(world) -> list[tuple[str, str]]:
    """(name, path) of every named route of the URLconf the world can fill."""
    routes = []
    for name, route in all_patterns():
        if not name:
            continue
        path = fill(route, name, world)
        if path is not None:
            routes.append((name, path))
    return routes
