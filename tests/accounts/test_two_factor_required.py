"""Two-factor is required for every organiser role with the production settings (whatever the
environment says) and optional in the `make run` demo; an organiser without a device reaches
nothing but the set-up, and check-in staff can set it up and check people in on a phone."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import OrganiserRole
from tests.accounts.conftest import PASSWORD, login
from tests.factories import EventFactory, MembershipFactory

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'otp': settings.OTP_REQUIRED_FOR_ORGANISERS, "
    "'axes': settings.AXES_ENABLED}))"
)
SETUP = "/nl/account/two-factor/setup/"
SESSION_API = "/api/v1/schools/requests/"  # session-authenticated organiser API


def settings_probe(module: str, tmp_path, **env_extra: str) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE")
        and not k.startswith(("OTP_", "RATELIMIT_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": module,
            "VAR_DIR": str(tmp_path),
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            "DJANGO_ALLOWED_HOSTS": "events.example.nl",
            "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
            **env_extra,
        }
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def production(tmp_path_factory) -> dict:
    """The production settings, with an environment that tries to switch both off."""
    return settings_probe(
        "config.settings.production",
        tmp_path_factory.mktemp("production"),
        OTP_REQUIRED_FOR_ORGANISERS="false",
        RATELIMIT_ENABLED="false",
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict:
    """The base settings as `make run` starts them (scripts/run.sh exports the variable)."""
    script = (ROOT / "scripts" / "run.sh").read_text()
    exported = re.search(r"^export OTP_REQUIRED_FOR_ORGANISERS=\$\{\w+:-(\w+)\}$", script, re.M)
    assert exported, "scripts/run.sh no longer sets the setting the settings read"
    return settings_probe(
        "config.settings.base",
        tmp_path_factory.mktemp("demo"),
        OTP_REQUIRED_FOR_ORGANISERS=exported.group(1),
    )


def test_production_always_requires_it_and_keeps_the_lockout(production):
    assert production == {"otp": True, "axes": True}


def test_the_demo_makes_it_optional_and_the_base_default_requires_it(demo, tmp_path):
    assert demo["otp"] is False
    assert settings_probe("config.settings.base", tmp_path)["otp"] is True


# --- Behaviour under each setting: a sweep over every organiser role ------------------------------


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.fixture
def event(db):
    return EventFactory()


def organiser(make_user, role: str, event):
    """An account per kind of organiser: every OrganiserRole, the staff flag alone (counts as
    an administrator) and a superuser."""
    if role == "staff_flag_only":
        return make_user(role, is_staff=True)
    if role == "superuser":
        return make_user(role, is_staff=True, is_superuser=True)
    user = make_user(role)
    row = OrganiserRole.objects.create(user=user, role=role)
    row.campaigns.add(event.campaign)
    row.events.add(event)
    return user


# A page each kind of organiser works on. A new role must be added here (the test below fails
# until it is), so nobody adds one that skips two-factor by accident.
def role_page(role: str, event) -> str:
    return {
        OrganiserRole.Role.ADMIN: "/nl/communications/outbox/",
        OrganiserRole.Role.CAMPAIGN_MANAGER: reverse(
            "communications:certificate_runs", args=[event.pk]
        ),
        OrganiserRole.Role.CHECKIN_STAFF: reverse("participants:event_checkin", args=[event.pk]),
        "staff_flag_only": "/nl/communications/outbox/",
        "superuser": "/nl/admin/",
    }[role]


ORGANISER_KINDS = [*OrganiserRole.Role.values, "staff_flag_only", "superuser"]


def test_every_role_is_in_the_sweep():
    assert set(OrganiserRole.Role.values) <= set(ORGANISER_KINDS)


@pytest.mark.parametrize("role", ORGANISER_KINDS)
def test_with_the_production_setting_every_organiser_must_set_it_up_first(
    client, settings, production, make_user, event, role
):
    settings.OTP_REQUIRED_FOR_ORGANISERS = production["otp"]
    user = organiser(make_user, role, event)
    page = role_page(role, event)
    client.force_login(user)
    for path in (page, "/nl/", "/nl/beheer/"):
        response = client.get(path)
        assert response.status_code == 302, (role, path)
        assert response["Location"].startswith(SETUP), (role, path)
    api = client.get(SESSION_API)
    assert api.status_code == 403 and api.json()["code"] == "two_factor_required"
    # Setting it up with a real code opens the role's page, without another step.
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert client.post(SETUP, {"token": current_code(device)}).status_code == 200
    assert client.get(page).status_code == 200, role
    # The next login asks for the code before anything else.
    client.logout()
    client.force_login(user)
    assert client.get(page)["Location"].startswith(reverse("accounts:otp_verify"))


@pytest.mark.parametrize("role", ORGANISER_KINDS)
def test_in_the_demo_no_organiser_is_asked_for_it(client, settings, demo, make_user, event, role):
    settings.OTP_REQUIRED_FOR_ORGANISERS = demo["otp"]
    user = organiser(make_user, role, event)
    client.force_login(user)
    assert client.get(role_page(role, event)).status_code == 200, role
    assert not TOTPDevice.objects.filter(user=user).exists()


@pytest.mark.parametrize("kind", ["plain account", "organisation member"])
def test_control_people_who_are_not_organisers_are_not_asked(
    client, settings, production, make_user, kind
):
    settings.OTP_REQUIRED_FOR_ORGANISERS = production["otp"]
    user = make_user("someone")
    if kind == "organisation member":
        MembershipFactory(user=user)
    client.force_login(user)
    assert client.get("/nl/").status_code == 200


PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36"
)


def test_check_in_staff_set_it_up_on_the_phone_and_reach_the_check_in_page(
    client, settings, make_user, event, addresses
):
    settings.OTP_REQUIRED_FOR_ORGANISERS = True
    user = organiser(make_user, OrganiserRole.Role.CHECKIN_STAFF, event)
    checkin = reverse("participants:event_checkin", args=[event.pk])
    ip = addresses.ipv4(1)
    phone = {"HTTP_USER_AGENT": PHONE, "REMOTE_ADDR": ip}
    # The door: the check-in link, the login page, then straight to the set-up.
    to_login = client.get(checkin, **phone)
    assert to_login.status_code == 302
    logged_in = client.post(
        reverse("accounts:login"),
        {"username": user.email, "password": PASSWORD, "next": checkin},
        follow=True,
        **phone,
    )
    assert logged_in.redirect_chain[-1][0].startswith(SETUP)
    page = logged_in.content.decode()
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page
    # The same phone cannot scan its own screen: the key comes as an otpauth:// link as well.
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    link = re.search(r'href="(otpauth://totp/[^"]+)"', page)
    assert link and f"secret={device.config_url.split('secret=')[1].split('&')[0]}" in link.group(
        1
    ).replace("&amp;", "&")
    done = client.post(
        SETUP, {"token": current_code(device), "next": checkin}, **phone
    ).content.decode()
    assert f'href="{checkin}"' in done  # on from the backup codes to the door
    response = client.get(checkin, **phone)
    assert response.status_code == 200
    assert 'name="viewport"' in response.content.decode()


def test_a_locked_out_organiser_is_told_so_in_dutch_on_the_phone(
    client, settings, make_user, event, addresses
):
    settings.AXES_FAILURE_LIMIT = 2
    user = organiser(make_user, OrganiserRole.Role.CHECKIN_STAFF, event)
    for n in range(2):
        response = login(client, user.email, "wrong", addresses.ipv4(n), HTTP_USER_AGENT=PHONE)
    assert response.status_code == 429
    assert "Inloggen is tijdelijk geblokkeerd" in response.content.decode()
