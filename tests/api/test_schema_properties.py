"""Property-based tests of the whole REST API, generated from its own OpenAPI schema.

schemathesis reads /api/schema/ from the Django WSGI app in-process (no network, no server) and
generates requests for every operation: valid ones (positive) and ones that break the schema
(negative). Each runs twice, once with the operation's real credentials and once without any.
The properties, for every response:

- never a 5xx;
- the status code is documented for the operation, and the body and Content-Type match the
  documented response;
- a request that breaks the schema is refused with a 4xx;
- every 4xx is JSON in the API's one error shape ({detail, code, errors}); "invalid input" errors
  name the fields (errors: {field: [messages]});
- and every other check schemathesis has (all run): a schema-valid request is not refused except
  for a rule the schema cannot express (400), response headers match, a required header left
  out is refused, an undeclared method gets 405 with Allow, and credentials are enforced: the
  same request without them and with invalid ones is refused (ignored_auth).

Bounded and deterministic: a fixed seed, derandomized Hypothesis, a few dozen examples per
operation. Rate limits are switched off so a burst of generated requests is not a burst of 429s.
The last tests are the controls: the same checks against deliberately broken views must fail.
"""

import datetime as dt
import itertools
from dataclasses import dataclass

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.core.failures import CustomFailure, FailureGroup, ServerError
from schemathesis.openapi.checks import JsonSchemaError

from api.services import api_token_create
from press.links import journalist_token
from press.services import coverage_add
from schools.models import (
    Ambassador,
    AvailabilityWindow,
    PreferredSlot,
    SchoolSessionRequest,
    WorkField,
)
from schools.services import school_session_assign
from tests.factories import (
    CampaignFactory,
    CampaignWeekFactory,
    EventFactory,
    OrganisationFactory,
    PersonFactory,
    QuestionFactory,
    RegistrationFactory,
    SchoolFactory,
    TicketFactory,
    TicketTypeFactory,
    UserFactory,
)
from tests.press.helpers import invite, journalist, moment

APP = get_wsgi_application()
MAX_EXAMPLES = 30  # per operation and identity: the file takes about 30-70 s on 2 cores


def config(*, coverage: bool) -> schemathesis.Config:
    """Generated requests: examples and fuzzing (Hypothesis, `coverage=False`), or schemathesis'
    coverage phase (`coverage=True`): every parameter at its boundaries and just past them, each
    required part left out, other content types, and the methods the schema does not declare
    (OPTIONS, TRACE, PUT, ...). schemathesis runs that phase only in a test without given()."""
    return schemathesis.Config.from_dict(
        {
            "seed": 9,  # issue #9: the same requests on every run and in CI
            "generation": {
                "mode": "all",  # valid and schema-breaking requests
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",  # no example database: nothing carried over between runs
                # Credentials come from the test's identity (below), not from generated headers.
                "with-security-parameters": False,
            },
            "phases": {
                "examples": {"enabled": not coverage},
                "coverage": {"enabled": coverage},
                "fuzzing": {"enabled": not coverage},
                "stateful": {"enabled": False},
            },
            # Every check schemathesis has runs (send_and_check names none). A schema-valid
            # request may still break a rule the schema cannot express: a named row must exist
            # (an event, a question, an outlet, a region), date_to may not precede date_from.
            # Those are 400s naming the field, which errors_in_the_api_error_shape checks.
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "400", "401", "403", "404", "409"]
                },
            },
        }
    )


schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json", APP, config=config(coverage=False)
)
edges = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json", APP, config=config(coverage=True)
)


@schemathesis.check
def errors_in_the_api_error_shape(ctx, response, case):
    """Every 4xx is JSON {detail, code, errors: {field: [messages]}}; a 400 for invalid input
    names at least one field (api.exceptions promises both)."""
    if not 400 <= response.status_code < 500:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), (
        f"a {response.status_code} as {content_type}"
    )
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"detail", "code", "errors"}, body
    assert isinstance(body["detail"], str) and body["detail"], body
    assert isinstance(body["code"], str) and body["code"], body
    errors = body["errors"]
    assert isinstance(errors, dict), body
    for field, messages in errors.items():
        assert isinstance(field, str) and field, body
        assert isinstance(messages, list) and messages, body
        assert all(isinstance(m, str) and m for m in messages), body
    if response.status_code == 400 and body["code"] == "invalid":
        assert errors, f"invalid input without the fields that are wrong: {body}"
    return True


CSRF_TOKEN = "schemathesisschemathesisschemath"  # 32 characters, Django's unmasked format


@dataclass
class World:
    """What the generated requests can meet: real rows and real credentials."""

    token: str
    session: str
    press_link: str
    event_id: int
    ticket_type_id: int
    question_id: int
    campaign_week_id: int
    booking_code: str
    ticket_id: int
    outlet_id: int
    moment_id: int
    invitation_id: int
    school_request_id: int


def school_request(*, school, work_field=None) -> SchoolSessionRequest:
    request = SchoolSessionRequest.objects.create(
        school=school,
        campaign=CampaignFactory(),
        contact=PersonFactory(organisation=school, phone=""),
        education_level="havo",
        pupils=60,
        classes=2,
        work_field=work_field,
    )
    day = timezone.localdate() + dt.timedelta(days=30)
    PreferredSlot.objects.create(
        request=request, date=day, start_time=dt.time(10), end_time=dt.time(11, 30), position=0
    )
    return request


@pytest.fixture
def in_process_requests():
    """Django's WSGI handler closes "old" database connections around each request; inside the
    test transaction that would close the test's own connection (Django's test Client
    disconnects the same handler for the same reason)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(db, settings, in_process_requests) -> World:
    settings.RATELIMIT_ENABLED = False
    organisation = OrganisationFactory()
    _, raw_key = api_token_create(
        organisation=organisation, name="Schemathesis", user=UserFactory()
    )
    event = EventFactory()
    ticket_type = TicketTypeFactory(event=event)
    question = QuestionFactory(event=event)
    week = CampaignWeekFactory()
    booking = RegistrationFactory(event=event, organisation=organisation)
    ticket = TicketFactory(registration=booking, ticket_type=ticket_type)
    organiser = UserFactory(is_staff=True, is_superuser=True)
    # Press and school rows, so staff lists and the journalist's own list are not empty: their
    # items are checked against the schema too. Optional fields left empty on purpose (no
    # region, no work field, no phone): null and "" must be what the schema says.
    reporter = journalist()
    media_moment = moment()
    invitation = invite(media_moment, reporter)
    coverage_add(moment=media_moment, outlet_name="Dagblad", published_on=timezone.localdate())
    work_field, _ = WorkField.objects.get_or_create(
        slug="schemathesis", defaults={"name": "Schemathesis"}
    )
    ambassador = Ambassador.objects.create(person=PersonFactory(), work_field=work_field)
    AvailabilityWindow.objects.create(
        ambassador=ambassador, weekday=1, start_time=dt.time(8), end_time=dt.time(17)
    )
    planned = school_request(school=SchoolFactory(), work_field=work_field)
    school_session_assign(request=planned, ambassador=ambassador, slot=planned.slots.get())
    open_request = school_request(school=SchoolFactory(region=None))
    client = Client()
    client.force_login(organiser)

    return World(
        token=raw_key,
        session=client.cookies["sessionid"].value,
        press_link=journalist_token(reporter),
        event_id=event.pk,
        ticket_type_id=ticket_type.pk,
        question_id=question.pk,
        campaign_week_id=week.pk,
        booking_code=booking.code,
        ticket_id=ticket.pk,
        outlet_id=reporter.outlet_id,
        moment_id=media_moment.pk,
        invitation_id=invitation.pk,
        school_request_id=open_request.pk,
    )


_keys = itertools.count()


def authenticate(case, world: World, identity: str) -> dict:
    """Strip generated credentials from the case; return the headers that carry the identity's
    real ones. They are sent beside the case, as `schemathesis run -H` would, so
    schemathesis knows them for explicit credentials: its ignored_auth check then repeats the
    request without them and with invalid ones, and expects a refusal."""
    schemes = {
        name
        for requirement in case.operation.definition.raw.get("security", [])
        for name in requirement
    }
    case.headers = {
        k: v
        for k, v in (case.headers or {}).items()
        if k.lower() not in ("authorization", "x-csrftoken")
    }
    if case.cookies:
        case.cookies.pop("sessionid", None)
    if identity == "anonymous":
        return {}
    headers: dict[str, str] = {}
    if "organisationToken" in schemes:
        headers["Authorization"] = f"Token {world.token}"
    elif "pressLink" in schemes:
        headers["Authorization"] = f"PressLink {world.press_link}"
    elif "cookieAuth" in schemes:
        # In a Cookie header (not the cookies argument), where schemathesis looks for explicit
        # cookie credentials and strips them for its probes.
        headers["Cookie"] = f"sessionid={world.session}; csrftoken={CSRF_TOKEN}"
        headers["X-CSRFToken"] = CSRF_TOKEN
    if case.method.upper() == "POST":
        # A fresh key per request: a replay of another generated body would only test 422.
        case.headers["Idempotency-Key"] = f"schemathesis-{next(_keys)}"
    return headers


def aim_at_real_rows(case, world: World, data) -> None:
    """Random ids almost never exist, so valid requests would only ever meet 404s. For valid
    (positive) cases, let Hypothesis choose to point ids at the rows of `world` instead, so the
    success responses (201 bodies, event details, cancellations) are checked against the schema
    too. schemathesis re-validates changed parts, so its checks judge what is really sent."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    real = {
        "event_id": world.event_id,
        "ticket_id": world.ticket_id,
        "code": world.booking_code,
        "invitation_id": world.invitation_id,
        "request_id": world.school_request_id,
    }
    for name in list(case.path_parameters or {}):
        if name in real and data.draw(st.booleans(), label=f"real {name}"):
            case.path_parameters[name] = real[name]
    body = case.body
    if not isinstance(body, dict) or not data.draw(st.booleans(), label="real rows in body"):
        return
    operation = case.operation.definition.raw.get("operationId")
    if operation == "bookings_create":
        body["event"] = world.event_id
        for attendee in body.get("attendees", []):
            if isinstance(attendee, dict):
                attendee["ticket_type"] = world.ticket_type_id
                attendee["answers"] = {str(world.question_id): "Vegetarisch"}
    elif operation == "participations_create":
        body["event"] = world.campaign_week_id
    elif operation == "press_coverage_create":
        body["moment_id"] = world.moment_id
    elif operation == "press_journalist_create":
        body["outlet_id"] = world.outlet_id


@pytest.fixture(params=["anonymous", "authenticated"])
def identity(request) -> str:
    return request.param


@schema.parametrize()
@schema.given(data=st.data())
@hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_every_operation_keeps_its_schema(case, data, world, identity):
    aim_at_real_rows(case, world, data)
    send_and_check(case, world, identity)


@edges.parametrize()
@hypothesis_settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_at_its_edges(case, world, identity):
    """The coverage phase (see config): boundary values, missing parts and undeclared methods,
    OPTIONS among them, for every operation and identity."""
    send_and_check(case, world, identity)


def send_and_check(case, world: World, identity: str) -> None:
    """Send the case to the WSGI app as `identity`; raises schemathesis' FailureGroup if any
    property does not hold."""
    case.call_and_validate(headers=authenticate(case, world, identity))


# --- Control: the same checks must fail against a broken API -------------------------------


def _places_left_as_text(self, event):
    return "plenty"  # the schema says integer or null


def _lookup_crashes(*, event_id):
    raise RuntimeError("deliberately broken for the control test")


@pytest.mark.parametrize(
    ("target", "replacement", "failure"),
    [
        (
            "api.serializers.EventDetailOutput.get_places_left",
            _places_left_as_text,
            JsonSchemaError,
        ),
        ("api.selectors.event_get_public", _lookup_crashes, ServerError),
    ],
    ids=["undeclared field type", "view raises"],
)
def test_control_the_checks_catch_a_broken_event_detail(
    world, monkeypatch, target, replacement, failure
):
    operation = schema["/api/v1/events/{event_id}/"]["GET"]
    case = operation.Case(path_parameters={"event_id": world.event_id})
    send_and_check(case, world, "anonymous")  # intact: holds

    monkeypatch.setattr(target, replacement)
    case = operation.Case(path_parameters={"event_id": world.event_id})
    with pytest.raises(FailureGroup) as failed:
        send_and_check(case, world, "anonymous")
    assert any(isinstance(f, failure) for f in failed.value.exceptions), failed.value


def test_control_the_checks_catch_an_error_outside_the_api_error_shape(world, monkeypatch):
    """DRF's own handler answers {"detail": ...} only: no code, no errors."""
    from rest_framework.settings import api_settings
    from rest_framework.views import exception_handler as drf_exception_handler

    operation = schema["/api/v1/events/{event_id}/"]["GET"]
    missing = {"event_id": world.event_id + 1000}
    send_and_check(operation.Case(path_parameters=missing), world, "anonymous")  # 404, holds

    monkeypatch.setattr(api_settings, "EXCEPTION_HANDLER", drf_exception_handler)
    with pytest.raises(FailureGroup) as failed:
        send_and_check(operation.Case(path_parameters=missing), world, "anonymous")
    assert any(
        isinstance(f, CustomFailure) and "errors_in_the_api_error_shape" in f.title
        for f in failed.value.exceptions
    ), failed.value


def test_blank_text_refused_in_requests_is_documented_for_requests_only():
    """ENFORCE_NON_BLANK_FIELDS: minLength 1 where DRF refuses "", and api.schema's hook keeps
    it off response fields, which may be "" (a description, a phone number)."""
    components = schema.raw_schema["components"]["schemas"]
    assert components["PersonInput"]["properties"]["name"]["minLength"] == 1
    assert components["SchoolContactInput"]["properties"]["name"]["minLength"] == 1
    assert components["BookingCreateInput"]["properties"]["attendees"]["minItems"] == 1
    assert "minLength" not in components["EventDetailOutput"]["properties"]["description"]
    assert "minLength" not in components["SchoolPersonOutput"]["properties"]["phone"]
