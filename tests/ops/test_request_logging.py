"""django.request logs client errors as warnings; the expected 409s of a booking rush are not
among them (common.logging.DropExpectedConflicts, wired in the settings' LOGGING)."""

import logging

import pytest

from tests.api.conftest import make_token_client
from tests.api.test_bookings import booking_body
from tests.factories import EventFactory, TicketTypeFactory

pytestmark = pytest.mark.django_db


def _request_warnings(caplog) -> list[int]:
    return [r.status_code for r in caplog.records if r.name == "django.request"]


def test_sold_out_409_is_not_logged_but_other_client_errors_are(caplog):
    org_client = make_token_client()
    event = EventFactory(capacity=1)
    ticket_type = TicketTypeFactory(event=event)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        sold_out = org_client.post(
            "/api/v1/bookings/", booking_body(event, ticket_type), format="json"
        )
        missing = org_client.get("/api/v1/bookings/NOSUCHCODE/")
        invalid = org_client.post("/api/v1/bookings/", {"event": "x"}, format="json")
    assert (sold_out.status_code, missing.status_code, invalid.status_code) == (409, 404, 400)
    assert sorted(_request_warnings(caplog)) == [400, 404]
