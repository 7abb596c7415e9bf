"""TOTP two-factor: setup with a real TOTP code, verification after login, and enforcement
for organisers (pages, Django admin, session API)."""

import re

import pytest
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY, devices_for_user
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import OrganiserRole
from tests.factories import EventFactory, UserFactory

pytestmark = pytest.mark.django_db

OUTBOX = "/nl/communications/outbox/"
ADMIN_INDEX = "/nl/admin/"


@pytest.fixture(autouse=True)
def enforce(settings):
    settings.OTP_REQUIRED_FOR_ORGANISERS = True
    settings.RATELIMIT_ENABLED = False


def current_code(device: TOTPDevice) -> str:
    """What the authenticator app shows now (RFC 6238 from the device's key)."""
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{code:06d}"


@pytest.fixture
def admin_user():
    user = UserFactory(email="beheer@ministerie.example.nl", is_staff=True, is_superuser=True)
    OrganiserRole.objects.create(user=user, role=OrganiserRole.Role.ADMIN)
    return user


def test_admin_without_device_is_sent_to_setup_everywhere(client, admin_user):
    client.force_login(admin_user)
    for path in (OUTBOX, ADMIN_INDEX, "/nl/beheer/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:otp_setup"))
        assert "next=" in response["Location"]
    api = client.get("/api/v1/schools/requests/")
    assert api.status_code == 403
    assert api.json()["code"] == "two_factor_required"


def test_setup_shows_secret_and_inline_qr_then_a_real_code_turns_it_on(client, admin_user):
    client.force_login(admin_user)
    page = client.get(reverse("accounts:otp_setup"), {"next": OUTBOX})
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "otp-secret" in html
    assert "http" not in re.search(r"<svg.*?</svg>", html, re.S).group(0).replace(
        "http://www.w3.org", ""
    ), "the QR code is drawn inline, never fetched from a service"
    device = TOTPDevice.objects.get(user=admin_user, confirmed=False)
    # Reloading keeps the same secret (the person may be halfway typing it in).
    client.get(reverse("accounts:otp_setup"))
    assert TOTPDevice.objects.get(user=admin_user).pk == device.pk

    wrong = client.post(reverse("accounts:otp_setup"), {"token": "000000", "next": OUTBOX})
    assert wrong.status_code == 400
    assert "aria-describedby" in wrong.content.decode() or "field-error" in wrong.content.decode()
    device.refresh_from_db()
    assert device.confirmed is False

    done = client.post(
        reverse("accounts:otp_setup"), {"token": current_code(device), "next": OUTBOX}
    )
    # The answer shows the backup codes once, with a link on to where the person was going.
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z0-9]+)</code></li>", done.content.decode())
    assert len(codes) == 10
    assert f'href="{OUTBOX}"' in done.content.decode()
    device.refresh_from_db()
    assert device.confirmed is True
    assert client.get(OUTBOX).status_code == 200
    assert client.get(ADMIN_INDEX).status_code == 200


def test_device_but_unverified_session_is_refused_until_a_code_is_entered(client, admin_user):
    device = TOTPDevice.objects.create(user=admin_user, name="authenticator", confirmed=True)
    # A fresh login (password or magic link) gives an unverified session.
    client.force_login(admin_user)
    response = client.get(OUTBOX)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:otp_verify"))
    assert client.get(ADMIN_INDEX).status_code == 302
    assert client.get("/api/v1/press/journalists/").status_code == 403
    # The setup page cannot be used to swap in another device without the current one.
    assert client.get(reverse("accounts:otp_setup"))["Location"].startswith(
        reverse("accounts:otp_verify")
    )

    bad = client.post(reverse("accounts:otp_verify"), {"token": "12345", "next": OUTBOX})
    assert bad.status_code == 400
    assert client.get(OUTBOX).status_code == 302
    # django-otp throttles after a failure: right now even the right code is refused ...
    throttled = client.post(reverse("accounts:otp_verify"), {"token": current_code(device)})
    assert throttled.status_code == 400
    # ... until the back-off has passed (reset here instead of sleeping).
    device.refresh_from_db()
    device.throttle_reset()

    ok = client.post(
        reverse("accounts:otp_verify"), {"token": current_code(device), "next": OUTBOX}
    )
    assert ok.status_code == 302 and ok["Location"] == OUTBOX
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get(OUTBOX).status_code == 200
    assert client.get(ADMIN_INDEX).status_code == 200


def test_a_used_code_cannot_be_replayed_in_another_session(client, admin_user):
    device = TOTPDevice.objects.create(user=admin_user, name="authenticator", confirmed=True)
    code = current_code(device)
    client.force_login(admin_user)
    assert client.post(reverse("accounts:otp_verify"), {"token": code}).status_code == 302
    client.logout()
    client.force_login(admin_user)
    assert client.post(reverse("accounts:otp_verify"), {"token": code}).status_code == 400


def test_password_login_leads_to_the_verify_step(client, admin_user):
    TOTPDevice.objects.create(user=admin_user, name="authenticator", confirmed=True)
    response = client.post(
        reverse("accounts:login"),
        {"username": admin_user.email, "password": "secret-pass-123", "next": OUTBOX},
        follow=True,
    )
    final_path = response.redirect_chain[-1][0]
    assert final_path.startswith(reverse("accounts:otp_verify"))
    assert "next=" in final_path


def test_without_enforcement_the_middleware_lets_everyone_through(client, admin_user, settings):
    """Control: the redirect above comes from the enforcement, not from the pages."""
    settings.OTP_REQUIRED_FOR_ORGANISERS = False
    client.force_login(admin_user)
    assert client.get(OUTBOX).status_code == 200


def test_campaign_manager_must_turn_it_on_and_must_then_verify(client):
    event = EventFactory()
    user = UserFactory(is_staff=True)
    role = OrganiserRole.objects.create(user=user, role=OrganiserRole.Role.CAMPAIGN_MANAGER)
    role.campaigns.add(event.campaign)
    page = reverse("communications:certificate_runs", args=[event.pk])
    client.force_login(user)
    # Every organiser role is obliged to use 2FA (tests/accounts sweeps all of them).
    assert client.get(page)["Location"].startswith(reverse("accounts:otp_setup"))
    client.get(reverse("accounts:otp_setup"))
    device = TOTPDevice.objects.get(user=user)
    client.post(reverse("accounts:otp_setup"), {"token": current_code(device)})
    assert client.get(page).status_code == 200
    client.logout()
    client.force_login(user)  # next login: the code is asked for
    assert client.get(page)["Location"].startswith(reverse("accounts:otp_verify"))


def test_django_admin_refuses_a_staff_campaign_manager_even_when_verified(client):
    user = UserFactory(is_staff=True)
    OrganiserRole.objects.create(user=user, role=OrganiserRole.Role.CAMPAIGN_MANAGER)
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    response = client.get(ADMIN_INDEX)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_backup_code_verifies_once(client, admin_user):
    TOTPDevice.objects.create(user=admin_user, name="authenticator", confirmed=True)
    from accounts.services import backup_codes_create

    codes = backup_codes_create(user=admin_user)
    client.force_login(admin_user)
    assert client.post(reverse("accounts:otp_verify"), {"token": codes[0]}).status_code == 302
    assert client.get(OUTBOX).status_code == 200
    client.logout()
    client.force_login(admin_user)
    assert client.post(reverse("accounts:otp_verify"), {"token": codes[0]}).status_code == 400
    # After the failure django-otp throttles; reset instead of waiting out the back-off.
    for device in devices_for_user(admin_user):
        device.throttle_reset()
    assert client.post(reverse("accounts:otp_verify"), {"token": codes[1]}).status_code == 302


def test_turning_it_on_and_replacing_the_device_are_audited(client, admin_user):
    from privacy.models import AuditEntry

    client.force_login(admin_user)
    for replaced in (0, 1):
        client.get(reverse("accounts:otp_setup"))
        device = TOTPDevice.objects.get(user=admin_user, confirmed=False)
        client.post(
            reverse("accounts:otp_setup"), {"token": current_code(device)}, REMOTE_ADDR="192.0.2.9"
        )
        entry = AuditEntry.objects.filter(action="two_factor.enable").latest("id")
        assert (entry.actor_id, entry.object_type, entry.object_id) == (
            admin_user.pk,
            "accounts.user",
            str(admin_user.pk),
        )
        assert (entry.ip_address, entry.details) == ("192.0.2.9", {"replaced": replaced})
    assert AuditEntry.objects.filter(action="two_factor.enable").count() == 2
