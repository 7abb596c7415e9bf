"""Every portal URL pattern is checked for cross-organisation access. New patterns are picked
up automatically; one whose URL arguments this test cannot fill makes it fail."""

import pytest
from django.urls import reverse

from api.models import ApiToken
from organisations import urls as portal_urls
from organisations.models import Membership
from participants.models import Ticket

pytestmark = pytest.mark.django_db

# Patterns that do not name an organisation, and why they are safe.
NOT_ORGANISATION_SCOPED = {
    "portal": "lists only the caller's own memberships (tested below)",
    "invitation_accept": "guarded by a signed token (tests/portal/test_members.py)",
}
ADMIN_ONLY = {"member_invite", "member_role", "member_remove", "api_tokens", "api_token_revoke"}
# GET on these answers 405 for any id, so it reveals nothing about other organisations' rows.
POST_ONLY = {"member_invite", "member_role", "member_remove", "api_token_revoke"}


def _object_kwargs(world) -> dict:
    return {
        "registration_id": world.registration.pk,
        "ticket_id": world.ticket.pk,
        "membership_id": world.member.pk,
        "token_id": ApiToken.objects.get(organisation=world.organisation).pk,
    }


def _portal_patterns():
    return [p for p in portal_urls.urlpatterns if p.name not in NOT_ORGANISATION_SCOPED]


def _url(pattern, *, organisation, objects) -> str:
    kwargs = {}
    for name in pattern.pattern.converters:
        if name == "organisation_id":
            kwargs[name] = organisation.pk
        else:
            assert name in objects, f"{pattern.name}: teach this test about {name!r}"
            kwargs[name] = objects[name]
    return reverse(f"organisations:{pattern.name}", kwargs=kwargs)


def test_every_pattern_is_classified():
    names = {p.name for p in portal_urls.urlpatterns}
    scoped = {p.name for p in _portal_patterns()}
    assert names - scoped == set(NOT_ORGANISATION_SCOPED)
    for pattern in _portal_patterns():
        assert "organisation_id" in pattern.pattern.converters, pattern.name
        assert hasattr(pattern.callback, "portal_admin_only"), (
            f"{pattern.name} does not go through organisations.permissions.portal_view"
        )
        assert pattern.callback.portal_admin_only == (pattern.name in ADMIN_ONLY), pattern.name


def _snapshot(world):
    ticket = Ticket.objects.select_related("person").get(pk=world.ticket.pk)
    return (
        ticket.status,
        ticket.person.name,
        ticket.person.email,
        world.registration.tickets.count(),
        Membership.objects.filter(organisation=world.organisation).count(),
        Membership.objects.get(pk=world.member.pk).role,
        ApiToken.objects.filter(organisation=world.organisation, revoked_at__isnull=True).count(),
        world.organisation.invitations.count(),
    )


def _post_data(pattern_name, world):
    # Plausible, valid input for each form so a 404 cannot be blamed on bad data.
    return {
        "attendee_add": {
            "name": "Indringer",
            "email": "indringer@example.nl",
            "ticket_type": world.ticket.ticket_type_id,
        },
        "ticket_change": {"name": "Indringer", "email": "indringer@example.nl"},
        "member_invite": {"email": "indringer@example.nl", "role": "admin"},
        "member_role": {f"m{world.member.pk}-role": "admin"},
        "api_tokens": {"name": "Indringer"},
    }.get(pattern_name, {})


@pytest.mark.parametrize("role", ["admin", "member"])
def test_member_of_a_gets_404_for_everything_of_b(client, org_a, org_b, role):
    user = getattr(org_a, role).user
    client.force_login(user)
    before = _snapshot(org_b)
    objects_b = _object_kwargs(org_b)
    for pattern in _portal_patterns():
        # B's organisation in the URL.
        url = _url(pattern, organisation=org_b.organisation, objects=objects_b)
        for method in ("get", "post"):
            response = getattr(client, method)(url, _post_data(pattern.name, org_b))
            assert response.status_code == 404, (method, url, response.status_code)
        # A's organisation in the URL, B's objects in it.
        if len(pattern.pattern.converters) > 1:
            url = _url(pattern, organisation=org_a.organisation, objects=objects_b)
            for method in ("get", "post"):
                response = getattr(client, method)(url, _post_data(pattern.name, org_b))
                expected = 403 if role == "member" and pattern.name in ADMIN_ONLY else 404
                if method == "get" and pattern.name in POST_ONLY and expected == 404:
                    expected = 405
                assert response.status_code == expected, (method, url, response.status_code)
    assert _snapshot(org_b) == before


def test_anonymous_is_sent_to_login_everywhere(client, org_a):
    objects = _object_kwargs(org_a)
    urls = [_url(p, organisation=org_a.organisation, objects=objects) for p in _portal_patterns()]
    urls.append(reverse("organisations:portal"))
    for url in urls:
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code == 302, (method, url)
            assert response["Location"].startswith("/nl/account/login/?next="), url


def test_members_get_403_on_admin_pages_of_their_own_organisation(client, org_a):
    client.force_login(org_a.member.user)
    objects = _object_kwargs(org_a)
    for pattern in _portal_patterns():
        url = _url(pattern, organisation=org_a.organisation, objects=objects)
        response = client.get(url)
        if pattern.name in ADMIN_ONLY:
            assert response.status_code in (403, 405), url
            assert client.post(url, _post_data(pattern.name, org_a)).status_code == 403, url
        else:
            assert response.status_code in (200, 405), (url, response.status_code)


def test_own_pages_show_own_rows_and_never_the_other_organisations(client, org_a, org_b):
    client.force_login(org_a.admin.user)
    objects = _object_kwargs(org_a)
    foreign = [
        org_b.organisation.name,
        org_b.registration.code,
        org_b.ticket.person.name,
        org_b.ticket.person.email,
        org_b.member.user.email,
        org_b.admin.user.email,
        org_b.token_name,
        org_b.registration.booker.name,
    ]
    seen_own = set()
    for pattern in _portal_patterns():
        url = _url(pattern, organisation=org_a.organisation, objects=objects)
        response = client.get(url)
        if response.status_code == 405:
            continue
        assert response.status_code == 200, url
        html = response.content.decode()
        for text in foreign:
            assert text not in html, (url, text)
        for text in (org_a.registration.code, org_a.ticket.person.name, org_a.token_name):
            if text in html:
                seen_own.add(text)
        if pattern.name == "members":
            assert org_a.member.user.email in html
    # The pages really list rows, so "B's rows are absent" is not trivially true.
    assert seen_own == {org_a.registration.code, org_a.ticket.person.name, org_a.token_name}


def test_portal_index_lists_only_own_organisations(client, org_a, org_b):
    client.force_login(org_a.admin.user)
    response = client.get(reverse("organisations:portal"))
    # One organisation: straight to its dashboard.
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "organisations:dashboard", kwargs={"organisation_id": org_a.organisation.pk}
    )
    Membership.objects.create(user=org_a.admin.user, organisation=org_b.organisation)
    html = client.get(reverse("organisations:portal")).content.decode()
    assert org_a.organisation.name in html and org_b.organisation.name in html
    client.force_login(org_b.member.user)
    response = client.get(reverse("organisations:portal"))
    assert response["Location"].endswith(f"/{org_b.organisation.pk}/")


def test_user_without_membership_sees_an_explanation(client, org_a):
    from tests.factories import UserFactory

    client.force_login(UserFactory(email="los@example.nl"))
    response = client.get(reverse("organisations:portal"))
    assert response.status_code == 200
    assert "nog niet aan een organisatie gekoppeld" in response.content.decode()
    url = reverse("organisations:dashboard", kwargs={"organisation_id": org_a.organisation.pk})
    assert client.get(url).status_code == 404
