"""The API keys page: admins create (the raw key shown once) and revoke; keys work in the API."""

import pytest
from django.urls import reverse

from api.models import ApiToken
from api.services import api_token_authenticate

pytestmark = pytest.mark.django_db


def _url(world, name="api_tokens", **kwargs):
    return reverse(
        f"organisations:{name}", kwargs={"organisation_id": world.organisation.pk, **kwargs}
    )


def test_admin_creates_a_key_shown_once(client, org_a):
    client.force_login(org_a.admin.user)
    response = client.post(_url(org_a), {"name": "HR-systeem"})
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    token = ApiToken.objects.get(organisation=org_a.organisation, name="HR-systeem")
    raw_key = html.split('id="raw-key" value="', 1)[1].split('"', 1)[0]
    assert raw_key.startswith(f"wst_{token.prefix}")
    assert api_token_authenticate(raw_key=raw_key) == token
    assert token.created_by == org_a.admin.user
    # The list afterwards shows the key's name and prefix, never the key itself.
    listing = client.get(_url(org_a)).content.decode()
    assert "HR-systeem" in listing
    assert raw_key not in listing


def test_empty_name_is_a_field_error(client, org_a):
    client.force_login(org_a.admin.user)
    response = client.post(_url(org_a), {"name": "  "})
    assert response.status_code == 400
    assert 'id="id_name_error"' in response.content.decode()
    assert ApiToken.objects.filter(organisation=org_a.organisation).count() == 1


def test_admin_revokes_a_key(client, org_a):
    client.force_login(org_a.admin.user)
    token = ApiToken.objects.get(organisation=org_a.organisation)
    response = client.post(_url(org_a, "api_token_revoke", token_id=token.pk), follow=True)
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "is ingetrokken" in response.content.decode()


def test_members_cannot_see_or_make_keys(client, org_a):
    client.force_login(org_a.member.user)
    assert client.get(_url(org_a)).status_code == 403
    assert client.post(_url(org_a), {"name": "Stiekem"}).status_code == 403
    assert not ApiToken.objects.filter(name="Stiekem").exists()
    dashboard = client.get(_url(org_a, "dashboard")).content.decode()
    assert _url(org_a) not in dashboard
