"""One-time, expiring login links ("magic links").

The token is a signed, timestamped reference to the user plus a fingerprint of the user's
state (password hash, last login, active flag). Logging in changes `last_login`, so a link
stops working the moment it has been used - the same idea as Django's password-reset tokens,
without a table of issued links.
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from common.errors import RuleViolation

MAGIC_LINK_SALT = "accounts.magic_link"
MAGIC_LINK_MAX_AGE = timedelta(minutes=15)


def _user_state(user) -> str:
    # Full precision on last_login: two logins in the same second must still differ.
    last_login = user.last_login.isoformat() if user.last_login else ""
    value = f"{user.pk}|{user.password}|{last_login}|{user.is_active}"
    return salted_hmac(MAGIC_LINK_SALT, value, algorithm="sha256").hexdigest()[:32]


def magic_link_token_make(*, user) -> str:
    return signing.dumps({"u": user.pk, "s": _user_state(user)}, salt=MAGIC_LINK_SALT)


def magic_link_user_from_token(token: str, *, for_update: bool = False):
    """Return the active user the token was made for, or raise RuleViolation.

    With for_update the user row is locked (call inside transaction.atomic) so that two
    simultaneous uses of one link cannot both succeed."""
    try:
        data = signing.loads(
            token, salt=MAGIC_LINK_SALT, max_age=MAGIC_LINK_MAX_AGE.total_seconds()
        )
    except signing.SignatureExpired:
        raise RuleViolation(
            _("This login link has expired. Request a new one below."), code="link_expired"
        ) from None
    except signing.BadSignature:
        raise RuleViolation(
            _("This login link is not valid. Request a new one below."), code="invalid_link"
        ) from None
    users = get_user_model().objects.filter(is_active=True)
    if for_update:
        users = users.select_for_update()
    user = users.filter(pk=data.get("u") if isinstance(data, dict) else None).first()
    if user is None or not constant_time_compare(_user_state(user), str(data.get("s", ""))):
        raise RuleViolation(
            _("This login link has already been used. Request a new one below."),
            code="invalid_link",
        )
    return user
