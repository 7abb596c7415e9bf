"""A journalist sees only their own invitations, on the page and in the API; staff-only API
endpoints refuse everyone else."""

import pytest
from django.urls import reverse

from press import links
from tests.factories import UserFactory

from . import helpers as h

pytestmark = pytest.mark.django_db


@pytest.fixture
def two():
    m1, m2 = h.moment(title="Werkbezoek Zorg"), h.moment(title="Geheim Interview")
    anna, bram = h.journalist(name="Anna"), h.journalist(name="Bram")
    return {
        "anna": anna,
        "bram": bram,
        "anna_inv": h.invite(m1, anna),
        "bram_inv": h.invite(m2, bram),
    }


def test_my_invitations_page_lists_only_own(client, two):
    page = client.get(
        reverse("press:my_invitations", kwargs={"token": links.journalist_token(two["anna"])})
    ).content.decode()
    assert "Werkbezoek Zorg" in page
    assert "Geheim Interview" not in page


def test_tokens_do_not_cross_purposes(client, two):
    # A journalist token is not an invitation token and vice versa (salted per purpose).
    jt = links.journalist_token(two["anna"])
    assert client.get(reverse("press:invitation", kwargs={"token": jt})).status_code == 404
    it = links.invitation_token(two["anna_inv"])
    assert client.get(reverse("press:my_invitations", kwargs={"token": it})).status_code == 404
    assert client.get(reverse("press:remove", kwargs={"token": it})).status_code == 404


def _api(client, journalist, path="/api/v1/press/my-invitations/"):
    return client.get(path, HTTP_AUTHORIZATION=f"PressLink {links.journalist_token(journalist)}")


def test_api_lists_only_own_invitations(client, two):
    response = _api(client, two["anna"])
    assert response.status_code == 200
    ids = [row["id"] for row in response.json()["results"]]
    assert ids == [two["anna_inv"].pk]
    assert response.json()["results"][0]["title"] == "Werkbezoek Zorg"


def test_api_detail_of_someone_elses_invitation_is_404(client, two):
    own = _api(client, two["anna"], f"/api/v1/press/my-invitations/{two['anna_inv'].pk}/")
    assert own.status_code == 200
    other = _api(client, two["anna"], f"/api/v1/press/my-invitations/{two['bram_inv'].pk}/")
    assert other.status_code == 404
    assert other.json()["code"]


def test_api_without_or_with_bad_link_is_401(client, two):
    assert client.get("/api/v1/press/my-invitations/").status_code in (401, 403)
    bad = client.get("/api/v1/press/my-invitations/", HTTP_AUTHORIZATION="PressLink forged")
    assert bad.status_code == 401


def test_staff_endpoints_refuse_journalists_and_non_staff(client, two, django_user_model):
    for path in (
        "/api/v1/press/journalists/",
        "/api/v1/press/invitations/",
        "/api/v1/press/coverage/",
        "/api/v1/press/coverage/totals/",
    ):
        assert _api(client, two["anna"], path).status_code in (401, 403), path
    user = UserFactory()
    client.force_login(user)
    assert client.get("/api/v1/press/invitations/").status_code == 403


def test_staff_sees_all_invitations(organiser_client, two):
    response = organiser_client.get("/api/v1/press/invitations/")
    assert response.status_code == 200
    assert {r["id"] for r in response.json()["results"]} == {
        two["anna_inv"].pk,
        two["bram_inv"].pk,
    }


def test_staff_pages_refuse_non_staff(client, two, django_user_model):
    m = two["anna_inv"].moment
    urls = [
        reverse("press:staff_moments"),
        reverse("press:staff_hooks"),
        reverse("press:staff_invite", kwargs={"pk": m.pk}),
        reverse("press:staff_material", kwargs={"pk": m.pk}),
    ]
    for url in urls:
        assert client.get(url).status_code == 302  # to the login page
    user = UserFactory()
    client.force_login(user)
    for url in urls:
        assert client.get(url).status_code == 403
