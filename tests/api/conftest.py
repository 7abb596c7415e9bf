import pytest
from rest_framework.test import APIClient

from api.services import api_token_create
from tests.factories import OrganisationFactory, UserFactory


class TokenClient(APIClient):
    """An APIClient that sends one organisation's key on every request."""

    def __init__(self, raw_key: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.raw_key = raw_key
        self.credentials(HTTP_AUTHORIZATION=f"Token {raw_key}")


def make_token_client(organisation=None, name="Integratie"):
    organisation = organisation or OrganisationFactory()
    token, raw_key = api_token_create(organisation=organisation, name=name, user=UserFactory())
    client = TokenClient(raw_key)
    client.token = token
    client.organisation = organisation
    return client


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def org_client(db):
    return make_token_client()


@pytest.fixture
def other_org_client(db):
    return make_token_client()
