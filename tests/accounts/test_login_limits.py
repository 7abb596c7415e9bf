"""Failed-login limits (accounts/login_limits.py, django-axes) through the whole middleware
stack: the login page, the Django admin login and the second-factor step, per account from many
addresses and per address over many accounts, with the Dutch 429 answer and the audit log."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from freezegun import freeze_time

from accounts.models import OrganiserRole
from privacy.models import AuditEntry
from tests.accounts.conftest import ADMIN_LOGIN, LOGIN, PASSWORD, logged_in_id, login

pytestmark = pytest.mark.django_db

# (failures per account, failures per address, lockout minutes): the defaults and another set,
# so nothing below depends on one choice of numbers.
LIMITS = [(5, 20, 15), (3, 7, 2)]


@pytest.fixture(params=LIMITS, ids=lambda p: f"account{p[0]}-address{p[1]}-{p[2]}min")
def limits(request, settings):
    account, address, minutes = request.param
    settings.AXES_FAILURE_LIMIT = account
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = address
    settings.AXES_COOLOFF_TIME = timedelta(minutes=minutes)
    return request.param


def assert_locked_out(response, minutes: int | None = None):
    assert response.status_code == 429, response.status_code
    body = response.content.decode()
    assert "<h1>Inloggen is tijdelijk geblokkeerd</h1>" in body
    assert "Te veel mislukte inlogpogingen. Om uw account te beschermen" in body
    assert 'role="alert"' in body
    assert response["Cache-Control"] == "no-store"
    seconds = int(response["Retry-After"])
    if minutes is not None:
        assert 0 < seconds <= minutes * 60
        assert f"over {-(-seconds // 60)} minu" in body
    # The way out that proves the mailbox, not a guess.
    assert reverse("accounts:magic_link_request") in body


def test_one_account_guessed_from_many_addresses_is_locked(client, limits, addresses, make_user):
    account_limit, _address_limit, minutes = limits
    victim = make_user("victim")
    # Every guess from another address (IPv4 and IPv6 networks mixed).
    ips = [addresses.ipv4(n) if n % 2 else addresses.ipv6(n) for n in range(account_limit + 3)]
    for ip in ips[: account_limit - 1]:
        response = login(client, victim.email, "wrong-guess", ip)
        assert response.status_code == 200  # the form again, with its error
    # The guess that reaches the limit is answered with the lockout already.
    assert_locked_out(login(client, victim.email, "wrong-guess", ips[account_limit - 1]), minutes)
    # From yet another address, even the right password is not checked now.
    assert_locked_out(login(client, victim.email.upper(), PASSWORD, ips[account_limit]), minutes)
    assert logged_in_id(client) is None
    # Control: another account from a fresh address is not affected.
    other = make_user("other")
    response = login(client, other.email, PASSWORD, ips[account_limit + 1])
    assert response.status_code == 302 and logged_in_id(client) == str(other.pk)


def test_one_address_trying_many_accounts_is_locked(client, limits, addresses, make_user):
    account_limit, address_limit, minutes = limits
    attacker_ip = addresses.ipv4(1)
    accounts = [make_user(f"staff{n}") for n in range(address_limit)]
    unknown = [f"nobody{n}@example.nl" for n in range(address_limit)]
    # Spread over real and made-up accounts, each far below the per-account limit.
    names = [a.email if n % 2 else unknown[n] for n, a in enumerate(accounts)]
    for name in names[: address_limit - 1]:
        assert login(client, name, "Welkom2026!", attacker_ip).status_code == 200
    assert_locked_out(login(client, names[address_limit - 1], "Welkom2026!", attacker_ip), minutes)
    # The whole address is locked out, whichever account it names, right password or not.
    fresh = make_user("fresh")
    assert_locked_out(login(client, fresh.email, PASSWORD, attacker_ip), minutes)
    # Control: the accounts themselves are fine from their own addresses.
    response = login(client, accounts[0].email, PASSWORD, addresses.ipv4(2))
    assert response.status_code == 302


def test_ipv6_addresses_of_one_network_count_as_one_client(client, settings, addresses, make_user):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 4
    for host in range(1, 4):
        name = f"x{host}@example.nl"
        assert login(client, name, "nope", addresses.ipv6(7, host)).status_code == 200
    assert login(client, "x9@example.nl", "nope", addresses.ipv6(7, 0xFFFF)).status_code == 429
    # Another /64 is another client.
    user = make_user()
    assert login(client, user.email, PASSWORD, addresses.ipv6(8)).status_code == 302


def test_behind_a_proxy_the_forwarded_client_counts(client, settings, addresses, make_user):
    # Both through the settings fixture: mixed with override_settings, one would leak.
    settings.RATELIMIT_TRUSTED_PROXIES = 1
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3
    proxy, client_a, client_b = addresses.ipv4(1), addresses.ipv4(2), addresses.ipv4(3)
    for n in range(2):
        login(client, f"a{n}@example.nl", "nope", proxy, HTTP_X_FORWARDED_FOR=client_a)
    # A forged entry in front of what the proxy appended does not make a new client.
    forged = f"192.0.2.50, {client_a}"
    response = login(client, "a9@example.nl", "nope", proxy, HTTP_X_FORWARDED_FOR=forged)
    assert response.status_code == 429
    # Another client behind the same proxy is not punished.
    user = make_user()
    ok = login(client, user.email, PASSWORD, proxy, HTTP_X_FORWARDED_FOR=client_b)
    assert ok.status_code == 302


def test_a_complete_login_clears_the_accounts_failures(client, limits, addresses, make_user):
    account_limit = limits[0]
    user = make_user()
    ip = addresses.ipv4(1)
    for _ in range(account_limit - 1):
        login(client, user.email, "typo", ip)
    assert login(client, user.email, PASSWORD, ip).status_code == 302
    client.logout()
    for _ in range(account_limit - 1):
        assert login(client, user.email, "typo", ip).status_code == 200
    assert login(client, user.email, PASSWORD, ip).status_code == 302


def test_control_without_the_login_in_between_the_same_failures_lock(
    client, limits, addresses, make_user
):
    account_limit = limits[0]
    user = make_user()
    ip = addresses.ipv4(1)
    for _ in range(account_limit - 1):
        login(client, user.email, "typo", ip)
    assert login(client, user.email, "typo", ip).status_code == 429


def test_logging_into_your_own_account_does_not_clear_guesses_at_others(
    client, settings, addresses, make_user
):
    """axes' own reset-on-success would clear everything from the address; ours clears only
    the account that logged in, so an attacker's own account is no reset button."""
    settings.AXES_FAILURE_LIMIT = 3
    victim, own = make_user("victim"), make_user("own")
    ip = addresses.ipv4(1)
    for _ in range(2):
        login(client, victim.email, "guess", ip)
    assert login(client, own.email, PASSWORD, ip).status_code == 302
    client.logout()
    assert login(client, victim.email, "guess", ip).status_code == 429


def test_the_lockout_ends_after_the_lockout_time(client, limits, addresses, make_user):
    account_limit, _, minutes = limits
    user = make_user()
    ip = addresses.ipv4(1)
    with freeze_time("2030-11-04 09:00:00") as frozen:
        for _ in range(account_limit):
            login(client, user.email, "typo", ip)
        frozen.tick(timedelta(minutes=minutes) - timedelta(seconds=5))
        locked = login(client, user.email, PASSWORD, ip)
        assert_locked_out(locked)
        # Refused attempts did not extend it; Retry-After says what is left.
        assert int(locked["Retry-After"]) == 5
        frozen.tick(timedelta(seconds=6))
        assert login(client, user.email, PASSWORD, ip).status_code == 302


def test_english_page_and_json_answer(client, settings, addresses, make_user):
    settings.AXES_FAILURE_LIMIT = 2
    user = make_user()
    for _ in range(2):
        login(client, user.email, "typo", addresses.ipv4(1), url="/en/account/login/")
    english = login(client, user.email, PASSWORD, addresses.ipv4(2), url="/en/account/login/")
    assert english.status_code == 429
    assert "Too many failed login attempts. To protect your account" in english.content.decode()
    as_json = login(client, user.email, PASSWORD, addresses.ipv4(3), HTTP_ACCEPT="application/json")
    assert as_json.status_code == 429 and as_json["Retry-After"]
    body = as_json.json()
    assert body["code"] == "login_locked" and body["errors"] == {}
    assert body["detail"].startswith("Te veel mislukte inlogpogingen.")


def test_failures_and_the_lockout_are_audited_once_each(client, limits, addresses, make_user):
    account_limit = limits[0]
    user = make_user()
    ip = addresses.ipv4(1)
    for _ in range(account_limit + 3):  # three more while locked out
        login(client, user.email, "typo", ip)
    failed = AuditEntry.objects.filter(action="login.failed")
    locked = AuditEntry.objects.filter(action="login.locked_out")
    assert failed.count() == account_limit - 1
    assert locked.count() == 1, "refused attempts during the lockout are not audited again"
    entry = locked.get()
    assert (entry.actor_id, entry.object_type, entry.object_id) == (
        None,
        "accounts.user",
        str(user.pk),
    )
    assert entry.ip_address == ip
    assert entry.details == {
        "entry": "accounts:login",
        "known_account": True,
        "reasons": ["account"],
    }
    # No e-mail address anywhere in the log.
    for row in AuditEntry.objects.all():
        assert user.email not in str(row.details)


def test_guessing_unknown_accounts_is_audited_without_the_address_typed(
    client, settings, addresses
):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3
    ip = addresses.ipv4(1)
    for n in range(3):
        login(client, f"guess{n}@example.nl", "nope", ip)
    entry = AuditEntry.objects.get(action="login.locked_out")
    assert (entry.object_type, entry.object_id, entry.ip_address) == ("", "", ip)
    assert entry.details == {
        "entry": "accounts:login",
        "known_account": False,
        "reasons": ["address"],
    }
    assert AuditEntry.objects.filter(action="login.failed").count() == 2


@pytest.fixture
def organiser_admin(make_user):
    user = make_user("beheer", is_staff=True, is_superuser=True)
    OrganiserRole.objects.create(user=user, role=OrganiserRole.Role.ADMIN)
    return user


def test_django_admin_login_is_limited_and_shares_the_tally(
    client, limits, addresses, organiser_admin
):
    account_limit, _, minutes = limits
    ip = addresses.ipv4(1)
    for n in range(account_limit - 1):
        # Half on the admin's login page, half on the site's: one tally.
        url = ADMIN_LOGIN if n % 2 else LOGIN
        assert login(client, organiser_admin.email, "wrong", ip, url=url).status_code == 200
    assert_locked_out(login(client, organiser_admin.email, "wrong", ip, url=ADMIN_LOGIN), minutes)
    assert_locked_out(login(client, organiser_admin.email, PASSWORD, addresses.ipv4(2), url=LOGIN))
    entry = AuditEntry.objects.get(action="login.locked_out")
    assert entry.details["entry"] == "admin:login"


def test_control_the_admin_login_works_with_the_right_password(client, addresses, organiser_admin):
    response = login(client, organiser_admin.email, PASSWORD, addresses.ipv4(1), url=ADMIN_LOGIN)
    assert response.status_code == 302 and logged_in_id(client) == str(organiser_admin.pk)


# --- The second factor ------------------------------------------------------------------------


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def wrong_code(device: TOTPDevice) -> str:
    return f"{(int(current_code(device)) + 500_000) % 1_000_000:06d}"


@pytest.fixture
def with_device(settings, organiser_admin):
    settings.OTP_REQUIRED_FOR_ORGANISERS = True
    device = TOTPDevice.objects.create(user=organiser_admin, name="authenticator", confirmed=True)
    return organiser_admin, device


def verify(client, code: str, ip: str):
    return client.post(reverse("accounts:otp_verify"), {"token": code}, REMOTE_ADDR=ip)


def test_guessing_codes_after_a_right_password_is_limited(client, limits, addresses, with_device):
    account_limit, _, minutes = limits
    user, device = with_device
    ip = addresses.ipv4(1)
    # The password is known (stolen); the code is guessed.
    assert login(client, user.email, PASSWORD, ip).status_code == 302
    for _ in range(account_limit - 1):
        assert verify(client, wrong_code(device), ip).status_code == 400
    assert_locked_out(verify(client, wrong_code(device), ip), minutes)
    # Now even the right code is not checked, from any address.
    device.refresh_from_db()
    device.throttle_reset()
    assert_locked_out(verify(client, current_code(device), addresses.ipv4(2)), minutes)
    assert client.get("/nl/communications/outbox/").status_code == 302  # still not verified
    # The password step is locked out as well: it is one account.
    client.logout()
    assert login(client, user.email, PASSWORD, addresses.ipv4(3)).status_code == 429
    entry = AuditEntry.objects.get(action="login.locked_out")
    assert entry.details["entry"] == "accounts:otp_verify"


def test_logging_in_again_with_the_password_does_not_reset_code_guesses(
    client, settings, addresses, with_device
):
    """Resetting on the password step would allow limit-1 guesses per fresh login, forever."""
    settings.AXES_FAILURE_LIMIT = 3
    user, device = with_device
    ip = addresses.ipv4(1)
    login(client, user.email, PASSWORD, ip)
    for _ in range(2):
        assert verify(client, wrong_code(device), ip).status_code == 400
    client.logout()
    assert login(client, user.email, PASSWORD, ip).status_code == 302
    assert verify(client, wrong_code(device), ip).status_code == 429


def test_a_right_code_completes_the_login_and_clears_the_count(
    client, settings, addresses, with_device
):
    settings.AXES_FAILURE_LIMIT = 3
    user, device = with_device
    ip = addresses.ipv4(1)
    login(client, user.email, PASSWORD, ip)
    for _ in range(2):
        verify(client, wrong_code(device), ip)
    device.refresh_from_db()
    device.throttle_reset()  # django-otp's own back-off, not what is tested here
    assert verify(client, current_code(device), ip).status_code == 302
    assert client.get("/nl/communications/outbox/").status_code == 200
    client.logout()
    for _ in range(2):
        assert login(client, user.email, "typo", ip).status_code == 200
    assert login(client, user.email, PASSWORD, ip).status_code == 302


# --- The attempts cap against parallel bursts --------------------------------------------------


@freeze_time("2030-11-04 09:00:05")
def test_attempts_per_account_are_capped_even_when_right(client, settings, addresses, make_user):
    """The cap counts attempts before the password is checked (an atomic cache counter), so a
    burst that axes' check-then-record could not stop is stopped; a person's own logins stay
    well below it."""
    settings.AXES_FAILURE_LIMIT = 2
    user = make_user()
    cap = 3 * 2
    for n in range(cap):
        assert login(client, user.email, PASSWORD, addresses.ipv4(n)).status_code == 302
        client.logout()
    response = login(client, user.email, PASSWORD, addresses.ipv4(99))
    assert response.status_code == 429
    assert int(response["Retry-After"]) == 15 * 60 - 5  # the rest of the window
    assert "Te veel mislukte inlogpogingen" in response.content.decode()


@freeze_time("2030-11-04 09:00:05")
def test_control_without_rate_limits_the_cap_is_off(client, settings, addresses, make_user):
    settings.AXES_FAILURE_LIMIT = 2
    settings.RATELIMIT_ENABLED = False
    user = make_user()
    for n in range(3 * 2 + 1):
        assert login(client, user.email, PASSWORD, addresses.ipv4(n)).status_code == 302
        client.logout()


# --- Login links and password resets ----------------------------------------------------------


@pytest.mark.parametrize("url", ["/nl/account/login/link/", "/nl/account/password/reset/"])
def test_mail_link_requests_are_limited_per_address(client, url, addresses):
    ip = addresses.ipv4(1)
    with freeze_time("2030-11-04 09:00:05"):
        for n in range(20):
            response = client.post(url, {"email": f"someone{n}@example.nl"}, REMOTE_ADDR=ip)
            assert response.status_code == 302
        limited = client.post(url, {"email": "more@example.nl"}, REMOTE_ADDR=ip)
        assert limited.status_code == 429
        assert "Te veel pogingen" in limited.content.decode()
        # Another address is not affected.
        other = client.post(url, {"email": "more@example.nl"}, REMOTE_ADDR=addresses.ipv4(2))
        assert other.status_code == 302
