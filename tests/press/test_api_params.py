"""Press API query parameters are declared and validated, and field errors use the names the
client sent (issue #9, found by tests/api/test_schema_properties.py)."""

import datetime as dt

import pytest
import yaml
from django.utils import timezone

from common.errors import RuleViolation
from organisations.models import Organisation
from press import services
from press.api import COVERAGE_ADD_FIELDS, JOURNALIST_ADD_FIELDS, client_field_names
from press.models import Journalist

from . import helpers as h

pytestmark = pytest.mark.django_db

JOURNALISTS = "/api/v1/press/journalists/"
INVITATIONS = "/api/v1/press/invitations/"
COVERAGE = "/api/v1/press/coverage/"


def _emails(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["email"] for row in response.json()["results"]]


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def _bad(response, parameter: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["errors"]) == [parameter]


@pytest.fixture
def press_list():
    anna = h.journalist(name="Anna", media_type=Journalist.MediaType.REGIONAL, topics="zorg")
    bram = h.journalist(name="Bram", media_type=Journalist.MediaType.NATIONAL, topics="onderwijs")
    gone = h.journalist(name="Cor", media_type=Journalist.MediaType.REGIONAL, topics="zorg")
    services.journalist_remove(journalist=gone)
    return anna, bram, gone


# --- journalist list -------------------------------------------------------------------


def test_journalist_list_filters(organiser_client, press_list):
    anna, bram, gone = (j.person.email for j in press_list)
    assert _emails(organiser_client.get(JOURNALISTS)) == [anna, bram]
    assert _emails(organiser_client.get(JOURNALISTS, {"media_type": "regional"})) == [anna]
    assert _emails(organiser_client.get(JOURNALISTS, {"topic": "ONDERWIJS"})) == [bram]
    assert _emails(organiser_client.get(JOURNALISTS, {"include_removed": "false"})) == [
        anna,
        bram,
    ]
    both = {"include_removed": "true", "media_type": "regional", "topic": "zorg"}
    assert _emails(organiser_client.get(JOURNALISTS, both)) == [anna, gone]


@pytest.mark.parametrize(
    "parameter, value",
    [
        ("media_type", "radio"),
        ("media_type", ""),  # empty is not "no filter": the schema forbids it (minLength 1)
        ("topic", ""),
        ("topic", "x" * 301),
        ("include_removed", "maybe"),
        ("include_removed", ""),
    ],
)
def test_journalist_list_refuses_bad_or_empty_filters(
    organiser_client, press_list, parameter, value
):
    _bad(organiser_client.get(JOURNALISTS, {parameter: value}), parameter)


def test_journalist_list_error_is_translated(organiser_client, press_list):
    nl = organiser_client.get(JOURNALISTS, {"media_type": "radio"}, HTTP_ACCEPT_LANGUAGE="nl")
    en = organiser_client.get(JOURNALISTS, {"media_type": "radio"}, HTTP_ACCEPT_LANGUAGE="en")
    assert nl.json()["errors"]["media_type"] != en.json()["errors"]["media_type"]
    assert "radio" in en.json()["errors"]["media_type"][0]


# --- invitation list -------------------------------------------------------------------


@pytest.fixture
def two_moments():
    m1, m2 = h.moment(), h.moment()
    j = h.journalist()
    return m1, m2, h.invite(m1, j), h.invite(m2, j)


def test_invitation_list_by_moment(organiser_client, two_moments):
    m1, m2, inv1, inv2 = two_moments
    assert set(_ids(organiser_client.get(INVITATIONS))) == {inv1.pk, inv2.pk}
    assert _ids(organiser_client.get(INVITATIONS, {"moment": m1.pk})) == [inv1.pk]
    assert _ids(organiser_client.get(INVITATIONS, {"moment": str(m2.pk)})) == [inv2.pk]


def test_invitation_list_unknown_moment_is_an_empty_list(organiser_client, two_moments):
    # Like an unknown campaign on the events list: a filter that matches nothing, not a 404.
    unknown = max(m.pk for m in two_moments[:2]) + 1000
    response = organiser_client.get(INVITATIONS, {"moment": unknown})
    assert _ids(response) == []
    assert response.json()["count"] == 0
    assert _ids(organiser_client.get(INVITATIONS, {"moment": 2**63 - 1})) == []


@pytest.mark.parametrize("value", ["abc", "", "1.5", "0", "-3", str(2**63)])
def test_invitation_list_refuses_a_moment_that_is_not_an_id(organiser_client, two_moments, value):
    _bad(organiser_client.get(INVITATIONS, {"moment": value}), "moment")


# --- the schema declares what the views read ------------------------------------------------


def test_schema_declares_the_press_list_parameters(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    paths = yaml.safe_load(response.content)["paths"]

    def params(path):
        return {p["name"]: p for p in paths[path]["get"]["parameters"] if p["in"] == "query"}

    journalists = params(JOURNALISTS)
    assert {"media_type", "topic", "include_removed", "page", "page_size"} == set(journalists)
    assert set(journalists["media_type"]["schema"]["enum"]) == set(Journalist.MediaType.values)
    assert journalists["topic"]["schema"]["minLength"] == 1
    assert journalists["include_removed"]["schema"]["type"] == "boolean"
    invitations = params(INVITATIONS)
    assert {"moment", "page", "page_size"} == set(invitations)
    assert invitations["moment"]["schema"]["type"] == "integer"
    assert invitations["moment"]["schema"]["minimum"] == 1
    assert "empty list" in invitations["moment"]["description"]
    assert "400" in paths[INVITATIONS]["get"]["responses"]


# --- field errors under the client's names ---------------------------------------------------


def _journalist_body(outlet_id: int, **changes) -> dict:
    body = {
        "name": "Eva Pers",
        "email": "eva@nos.example.nl",
        "outlet_id": outlet_id,
        "media_type": "national",
        "legal_basis": "consent",
        "agreed_on": "2026-02-01",
    }
    body.update(changes)
    return body


def test_journalist_create_errors_name_the_sent_fields(organiser_client):
    employer = Organisation.objects.create(kind=Organisation.Kind.EMPLOYER, name="Bouwbedrijf")
    not_outlet = organiser_client.post(
        JOURNALISTS, _journalist_body(employer.pk), content_type="application/json"
    )
    _bad(not_outlet, "outlet_id")
    future = organiser_client.post(
        JOURNALISTS,
        _journalist_body(h.outlet().pk, agreed_on="2999-01-01"),
        content_type="application/json",
    )
    _bad(future, "agreed_on")  # the service's own rule, under the same name


def test_coverage_create_errors_name_the_sent_fields(organiser_client):
    m = h.moment()
    body = {
        "moment_id": m.pk,
        "outlet_name": "Dagblad",
        "coverage_kind": "podcast",
        "published_on": timezone.localdate().isoformat(),
    }
    _bad(organiser_client.post(COVERAGE, body, content_type="application/json"), "coverage_kind")


def test_service_field_errors_are_renamed_to_the_api_input_names():
    # The services check outlet and kind themselves (for every caller); the API serializers
    # usually catch these first, but whatever gets through must reach the client under the
    # names it sent, not the service's parameter names.
    assert JOURNALIST_ADD_FIELDS == {"outlet": "outlet_id", "region": "region_id"}
    assert COVERAGE_ADD_FIELDS == {"moment": "moment_id", "kind": "coverage_kind"}
    employer = Organisation.objects.create(kind=Organisation.Kind.EMPLOYER, name="Bouwbedrijf")
    renamed = client_field_names(JOURNALIST_ADD_FIELDS)
    with pytest.raises(RuleViolation) as journalist_error, renamed:
        services.journalist_add(
            name="Eva",
            email="eva@example.nl",
            outlet=employer,
            media_type="national",
            legal_basis="consent",
            agreed_on=dt.date(2026, 1, 1),
        )
    assert set(journalist_error.value.errors) == {"outlet_id"}
    moment = h.moment()
    with pytest.raises(RuleViolation) as coverage_error, client_field_names(COVERAGE_ADD_FIELDS):
        services.coverage_add(
            moment=moment,
            outlet_name="Dagblad",
            published_on=dt.date(2026, 1, 1),
            kind="podcast",
            estimated_reach=-1,
        )
    assert set(coverage_error.value.errors) == {"coverage_kind", "estimated_reach"}
    assert coverage_error.value.http_status == 400
