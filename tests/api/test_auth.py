"""Organisation API tokens: hashed at rest, required on private endpoints, revocable."""

import hashlib

import pytest
from rest_framework.test import APIClient

from api.models import ApiToken
from api.services import api_token_create, api_token_revoke
from tests.api.conftest import TokenClient
from tests.factories import OrganisationFactory, RegistrationFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db

PRIVATE = [
    ("get", "/api/v1/bookings/"),
    ("post", "/api/v1/bookings/"),
    ("get", "/api/v1/bookings/ABCDEFGH/"),
    ("post", "/api/v1/tickets/1/cancel/"),
    ("get", "/api/v1/participations/"),
    ("post", "/api/v1/participations/"),
]


def test_token_is_stored_only_as_prefix_and_sha256():
    organisation = OrganisationFactory()
    user = UserFactory()
    token, raw_key = api_token_create(organisation=organisation, name="HR-systeem", user=user)
    token.refresh_from_db()
    assert raw_key.startswith("wst_" + token.prefix)
    assert token.key_hash == hashlib.sha256(raw_key.encode()).hexdigest()
    stored = {f.attname: getattr(token, f.attname) for f in ApiToken._meta.fields}
    assert raw_key not in [str(v) for v in stored.values()]
    assert token.created_by == user and token.organisation == organisation


@pytest.mark.parametrize(("method", "url"), PRIVATE)
def test_no_key_is_401(method, url):
    response = getattr(APIClient(), method)(url, {}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(("method", "url"), PRIVATE)
def test_revoked_key_is_401(org_client, method, url):
    assert org_client.get("/api/v1/bookings/").status_code == 200
    api_token_revoke(token=org_client.token)
    response = getattr(org_client, method)(url, {}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


@pytest.mark.parametrize(
    "header",
    ["Token wst_nonsense", "Token", "Token a b", "Bearer x", "Token wst_00000000aaaaaaaaaaaaa"],
)
def test_wrong_keys_are_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get("/api/v1/bookings/").status_code == 401


def test_right_prefix_with_wrong_secret_is_401(org_client):
    forged = TokenClient(org_client.raw_key[:-3] + "xyz")
    assert forged.get("/api/v1/bookings/").status_code == 401


def test_session_login_does_not_open_the_token_api(client):
    """The private endpoints act for the token's organisation only; a logged-in portal user
    (session) has no organisation context here."""
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get("/api/v1/bookings/").status_code == 401


def test_revoke_is_idempotent_and_last_used_is_recorded(org_client):
    assert org_client.token.last_used_at is None
    org_client.get("/api/v1/bookings/")
    org_client.token.refresh_from_db()
    assert org_client.token.last_used_at is not None
    first = api_token_revoke(token=org_client.token).revoked_at
    assert api_token_revoke(token=org_client.token).revoked_at == first


def test_empty_name_is_refused():
    from common.errors import RuleViolation

    with pytest.raises(RuleViolation) as info:
        api_token_create(organisation=OrganisationFactory(), name="  ", user=None)
    assert info.value.errors["name"]
    assert not ApiToken.objects.exists()


def test_admin_creates_key_once_and_revokes(organiser_client):
    organisation = OrganisationFactory()
    response = organiser_client.post(
        "/nl/admin/api/apitoken/add/",
        {"organisation": organisation.pk, "name": "Koppeling"},
        follow=True,
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    shown = [str(m) for m in response.context["messages"]]
    raw_key = next(w for m in shown for w in m.split() if w.startswith("wst_")).rstrip(".")
    assert TokenClient(raw_key).get("/api/v1/bookings/").status_code == 200
    organiser_client.post(
        "/nl/admin/api/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert TokenClient(raw_key).get("/api/v1/bookings/").status_code == 401


def test_cross_organisation_is_404_and_lists_are_scoped(org_client, other_org_client):
    mine = RegistrationFactory(organisation=org_client.organisation)
    my_ticket = TicketFactory(registration=mine)
    theirs = RegistrationFactory(organisation=other_org_client.organisation)
    their_ticket = TicketFactory(registration=theirs)
    RegistrationFactory(organisation=None)  # a private booking: nobody's via the API

    listed = org_client.get("/api/v1/bookings/").json()
    assert [b["code"] for b in listed["results"]] == [mine.code]
    assert org_client.get(f"/api/v1/bookings/{mine.code}/").status_code == 200
    assert org_client.get(f"/api/v1/bookings/{theirs.code}/").status_code == 404
    response = org_client.post(f"/api/v1/tickets/{their_ticket.pk}/cancel/")
    assert response.status_code == 404
    their_ticket.refresh_from_db()
    assert their_ticket.status == "valid"
    # And the other way round.
    assert other_org_client.get(f"/api/v1/bookings/{mine.code}/").status_code == 404
    assert other_org_client.post(f"/api/v1/tickets/{my_ticket.pk}/cancel/").status_code == 404
    assert [b["code"] for b in other_org_client.get("/api/v1/bookings/").json()["results"]] == [
        theirs.code
    ]
