"""Login-related writes: requesting and redeeming e-mailed login links."""

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from common.errors import RuleViolation
from communications.services import mail_enqueue

from .tokens import MAGIC_LINK_MAX_AGE, magic_link_token_make, magic_link_user_from_token

# Per e-mail address, so nobody can flood an inbox; above the limit we stay silent, exactly
# like for an unknown address.
MAGIC_LINK_RATE_LIMIT = 5
MAGIC_LINK_RATE_WINDOW_SECONDS = 15 * 60


def _rate_limit_allows(email: str) -> bool:
    digest = hashlib.sha256(email.encode()).hexdigest()[:32]
    key = f"magic_link_rate:{digest}"
    cache.add(key, 0, timeout=MAGIC_LINK_RATE_WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=MAGIC_LINK_RATE_WINDOW_SECONDS)
        count = 1
    return count <= MAGIC_LINK_RATE_LIMIT


def magic_link_url(*, user, language: str = "nl", next_url: str = "") -> str:
    token = magic_link_token_make(user=user)
    with translation.override(language):
        path = reverse("accounts:magic_link_login", kwargs={"token": token})
    if next_url:
        from urllib.parse import urlencode

        path = f"{path}?{urlencode({'next': next_url})}"
    return f"{settings.SITE_URL}{path}"


def magic_link_request(*, email: str, language: str = "nl", next_url: str = "") -> None:
    """Mail a login link to the active user with this address; do nothing for any other
    address. Callers show the same message either way, so the answer reveals no accounts."""
    email = email.strip().lower()
    if not _rate_limit_allows(email):
        return
    user = get_user_model().objects.filter(email__iexact=email, is_active=True).first()
    if user is None:
        return
    with transaction.atomic():
        mail_enqueue(
            # A fresh key per request: every request is a new link (the old ones stay valid
            # until used or expired, which is harmless: each logs in the same person once).
            key=f"magic_link:{user.pk}:{secrets.token_hex(6)}",
            template="magic_link",
            to_email=user.email,
            to_name=user.get_full_name(),
            language=language,
            context={
                "login_url": magic_link_url(user=user, language=language, next_url=next_url),
                "valid_minutes": int(MAGIC_LINK_MAX_AGE.total_seconds() // 60),
            },
        )


def password_reset_request(*, email: str, language: str = "nl") -> None:
    """Mail a password-reset link (Django's reset token: void once the password changes) to
    the active user with this address; silent for any other address, like magic links."""
    email = email.strip().lower()
    if not _rate_limit_allows(f"reset:{email}"):
        return
    user = get_user_model().objects.filter(email__iexact=email, is_active=True).first()
    if user is None:
        return
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    with translation.override(language):
        path = reverse("accounts:password_reset_confirm", kwargs={"uidb64": uidb64, "token": token})
    with transaction.atomic():
        mail_enqueue(
            key=f"password_reset:{user.pk}:{secrets.token_hex(6)}",
            template="password_reset",
            to_email=user.email,
            to_name=user.get_full_name(),
            language=language,
            context={"reset_url": f"{settings.SITE_URL}{path}"},
        )


def magic_link_redeem(*, token: str):
    """Check the token and use it up; returns the user to log in.

    The user row is locked and last_login moved on inside the same transaction, so the same
    link can never log in twice, not even when clicked twice at the same moment."""
    with transaction.atomic():
        user = magic_link_user_from_token(token, for_update=True)
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])
    return user


# --- Two-factor (TOTP) ---------------------------------------------------------------------------

TOTP_DEVICE_NAME = "authenticator"


def totp_device_pending(*, user):
    """The unconfirmed authenticator device being set up (created once, so reloading the setup
    page keeps the same secret)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .order_by("pk")
            .first()
        )
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def _invalid_code():
    from django.utils.translation import gettext as _  # noqa: PLC0415 - keeps `_` local

    message = _("That code is not right (or has expired). Enter the current 6-digit code.")
    return RuleViolation(message, code="invalid_otp", field="token", conflict=False)


def totp_device_confirm(*, user, token: str, request=None):
    """Confirm the pending device with a code from the app. Nothing changes on a wrong code.
    Turning it on (or replacing a lost phone's device) is written to the audit log."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from privacy.services import audit_record

    token = (token or "").replace(" ", "")
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .order_by("pk")
            .first()
        )
        if device is None or not token.isdigit() or not device.verify_token(token):
            raise _invalid_code()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        # One authenticator per person: older confirmed ones (a lost phone) stop working.
        replaced, _deleted = TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        audit_record(
            actor=user, action="two_factor.enable", obj=user, request=request, replaced=replaced
        )
    return device


def otp_check(*, user, token: str):
    """The confirmed device that accepts the code, or RuleViolation(code="invalid_otp").
    verify_token counts failures per device (django-otp's throttling) and refuses replays."""
    from django_otp import devices_for_user

    token = (token or "").replace(" ", "")
    # Authenticator codes are digits; backup codes (otp_static) are 8 letters and digits.
    if token.isalnum():
        for device in devices_for_user(user, confirmed=True):
            if device.verify_token(token):
                return device
    raise _invalid_code()


BACKUP_CODE_COUNT = 10


def backup_codes_create(*, user) -> list[str]:
    """New single-use backup codes for a lost phone (the old ones stop working). Shown once:
    django-otp's StaticToken keeps them for matching, we never show them again."""
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name="backup codes", confirmed=True)
        codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes
