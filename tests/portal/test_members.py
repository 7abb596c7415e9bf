"""Invitations (only admins invite; accepting creates the account and membership once) and
member roles."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from accounts.models import User
from common.errors import RuleViolation
from communications.models import OutboxMail
from organisations import services
from organisations.links import invitation_url
from organisations.models import Invitation, Membership

pytestmark = pytest.mark.django_db


def _members_url(world, name="members", **kwargs):
    return reverse(
        f"organisations:{name}", kwargs={"organisation_id": world.organisation.pk, **kwargs}
    )


def _invite(client, world, email="collega@example.nl", role="member"):
    return client.post(_members_url(world, "member_invite"), {"email": email, "role": role})


def _accept_path(invitation) -> str:
    return invitation_url(invitation).split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_admin_invites_and_the_mail_carries_the_link(
    client, org_a, django_capture_on_commit_callbacks
):
    client.force_login(org_a.admin.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = _invite(client, org_a, email="Collega@Example.nl")
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.email == "collega@example.nl"
    assert invitation.organisation == org_a.organisation
    assert invitation.invited_by == org_a.admin.user
    queued = OutboxMail.objects.get(template="organisation_invitation")
    assert queued.key == f"invitation:{invitation.pk}"
    (message,) = mail.outbox
    assert org_a.organisation.name in message.subject
    link = re.search(r"https?://\S+/invitations/\S+/", message.body).group(0)
    assert link == queued.context["accept_url"]
    page = client.get(_members_url(org_a)).content.decode()
    assert "Er is een uitnodiging gestuurd naar collega@example.nl." in page
    assert "collega@example.nl" in page  # listed under open invitations


def test_only_admins_can_invite(client, org_a):
    client.force_login(org_a.member.user)
    response = _invite(client, org_a)
    assert response.status_code == 403
    assert Invitation.objects.count() == 0
    assert OutboxMail.objects.filter(template="organisation_invitation").count() == 0
    page = client.get(_members_url(org_a)).content.decode()
    assert "Alleen beheerders van uw organisatie kunnen collega's uitnodigen." in page
    assert 'action="' + _members_url(org_a, "member_invite") not in page


def test_invitation_service_refuses_non_admins(org_a):
    with pytest.raises(RuleViolation) as exc:
        services.invitation_create(
            organisation=org_a.organisation,
            email="x@example.nl",
            role="member",
            invited_by=org_a.member.user,
        )
    assert exc.value.code == "not_allowed"
    assert Invitation.objects.count() == 0


def test_inviting_an_existing_member_is_a_field_error(client, org_a):
    client.force_login(org_a.admin.user)
    response = _invite(client, org_a, email=org_a.member.user.email.upper())
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_email_error"' in html
    assert "Deze persoon is al lid van de organisatie." in html
    assert Invitation.objects.count() == 0


def test_invalid_invitation_input_is_shown_per_field(client, org_a):
    client.force_login(org_a.admin.user)
    response = _invite(client, org_a, email="geen-adres", role="baas")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'aria-describedby="id_email_error"' in html
    assert 'aria-describedby="id_role_helptext id_role_error"' in html


def _make_invitation(world, email="nieuw@example.nl", role="member"):
    return services.invitation_create(
        organisation=world.organisation, email=email, role=role, invited_by=world.admin.user
    )


def test_accepting_creates_the_account_and_membership_once(client, org_a):
    invitation = _make_invitation(org_a)
    url = _accept_path(invitation)
    page = client.get(url)
    assert page.status_code == 200
    assert "Maak uw account aan" in page.content.decode()

    # Bad input: field errors, nothing created.
    bad = client.post(url, {"first_name": "", "last_name": "", "password": "123"})
    assert bad.status_code == 400
    assert 'id="id_first_name_error"' in bad.content.decode()
    assert not User.objects.filter(email="nieuw@example.nl").exists()

    response = client.post(url, {"first_name": "Nina", "last_name": "Nieuw", "password": ""})
    assert response.status_code == 302
    user = User.objects.get(email="nieuw@example.nl")
    assert not user.has_usable_password()  # logs in with e-mailed links
    membership = Membership.objects.get(user=user)
    assert membership.organisation == org_a.organisation
    assert membership.role == Membership.Role.MEMBER
    assert client.session["_auth_user_id"] == str(user.pk)
    assert response["Location"] == _members_url(org_a, "dashboard")
    invitation.refresh_from_db()
    assert invitation.accepted_by == user

    # The link is used up, also for someone else.
    other = client.__class__()
    again = other.post(url, {"first_name": "Kwaad", "last_name": "Willend", "password": ""})
    assert again.status_code == 400
    assert "Deze uitnodiging is al gebruikt." in again.content.decode()
    assert Membership.objects.filter(organisation=org_a.organisation).count() == 3
    assert "_auth_user_id" not in other.session


def test_a_password_chosen_on_acceptance_must_be_strong(client, org_a):
    url = _accept_path(_make_invitation(org_a))
    weak = client.post(url, {"first_name": "Nina", "last_name": "Nieuw", "password": "12345678"})
    assert weak.status_code == 400
    assert 'id="id_password_error"' in weak.content.decode()
    assert not User.objects.filter(email="nieuw@example.nl").exists()
    ok = client.post(
        url, {"first_name": "Nina", "last_name": "Nieuw", "password": "lange-zin-als-wachtwoord"}
    )
    assert ok.status_code == 302
    assert User.objects.get(email="nieuw@example.nl").check_password("lange-zin-als-wachtwoord")


def test_existing_account_must_log_in_to_accept(client, org_a, org_b):
    # B's member is invited to A too.
    existing = org_b.member.user
    invitation = _make_invitation(org_a, email=existing.email, role="admin")
    url = _accept_path(invitation)
    page = client.get(url).content.decode()
    assert "Er bestaat al een account" in page
    refused = client.post(url)
    assert refused.status_code == 409
    assert not Membership.objects.filter(user=existing, organisation=org_a.organisation).exists()

    # Logged in as somebody else: still refused.
    client.force_login(org_a.member.user)
    assert client.post(url).status_code == 409

    client.force_login(existing)
    response = client.post(url)
    assert response.status_code == 302
    membership = Membership.objects.get(user=existing, organisation=org_a.organisation)
    assert membership.role == Membership.Role.ADMIN


def test_expired_and_tampered_invitations_fail(client, org_a):
    with freeze_time(timezone.now() - timedelta(days=8)):
        invitation = _make_invitation(org_a)
    url = _accept_path(invitation)
    response = client.post(url, {"first_name": "Te", "last_name": "Laat", "password": ""})
    assert response.status_code == 409
    assert "verlopen" in response.content.decode()
    assert not User.objects.filter(email="nieuw@example.nl").exists()

    tampered = url[:-3] + ("A" if url[-3] != "A" else "B") + url[-2:]
    response = client.get(tampered)
    assert response.status_code == 400
    assert "niet geldig" in response.content.decode()


def test_admin_changes_roles_but_the_last_admin_stays(client, org_a):
    client.force_login(org_a.admin.user)
    member_url = _members_url(org_a, "member_role", membership_id=org_a.member.pk)
    admin_url = _members_url(org_a, "member_role", membership_id=org_a.admin.pk)

    # The only admin cannot step down.
    response = client.post(admin_url, {f"m{org_a.admin.pk}-role": "member"}, follow=True)
    assert "De organisatie heeft ten minste één beheerder nodig." in response.content.decode()
    org_a.admin.refresh_from_db()
    assert org_a.admin.role == Membership.Role.ADMIN

    client.post(member_url, {f"m{org_a.member.pk}-role": "admin"})
    org_a.member.refresh_from_db()
    assert org_a.member.role == Membership.Role.ADMIN

    # With two admins, one may step down.
    client.post(admin_url, {f"m{org_a.admin.pk}-role": "member"})
    org_a.admin.refresh_from_db()
    assert org_a.admin.role == Membership.Role.MEMBER
    # ...and has then lost the admin pages.
    assert client.post(member_url, {f"m{org_a.member.pk}-role": "member"}).status_code == 403
    org_a.member.refresh_from_db()
    assert org_a.member.role == Membership.Role.ADMIN


def test_members_cannot_change_roles(client, org_a):
    client.force_login(org_a.member.user)
    url = _members_url(org_a, "member_role", membership_id=org_a.member.pk)
    assert client.post(url, {f"m{org_a.member.pk}-role": "admin"}).status_code == 403
    org_a.member.refresh_from_db()
    assert org_a.member.role == Membership.Role.MEMBER
    with pytest.raises(RuleViolation):
        services.membership_role_change(
            membership=org_a.member, role="admin", changed_by=org_a.member.user
        )


def test_admin_removes_a_member_but_not_the_last_admin(client, org_a):
    client.force_login(org_a.admin.user)
    remove_admin = _members_url(org_a, "member_remove", membership_id=org_a.admin.pk)
    response = client.post(remove_admin, follow=True)
    assert "De organisatie heeft ten minste één beheerder nodig." in response.content.decode()
    assert Membership.objects.filter(pk=org_a.admin.pk).exists()

    response = client.post(
        _members_url(org_a, "member_remove", membership_id=org_a.member.pk), follow=True
    )
    assert "is geen lid meer van de organisatie" in response.content.decode()
    assert not Membership.objects.filter(pk=org_a.member.pk).exists()
    assert User.objects.filter(pk=org_a.member.user_id).exists()  # the account stays

    # The removed person has lost access at once.
    client.force_login(org_a.member.user)
    assert client.get(_members_url(org_a, "dashboard")).status_code == 404


def test_members_cannot_remove_anyone(client, org_a):
    client.force_login(org_a.member.user)
    url = _members_url(org_a, "member_remove", membership_id=org_a.admin.pk)
    assert client.post(url).status_code == 403
    assert Membership.objects.filter(pk=org_a.admin.pk).exists()
