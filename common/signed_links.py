"""Signed, expiring personal links: the one scheme every app's links.py uses.

A token signs a value (usually a row's random ``secret``) with a salt per purpose, so a token
for one purpose never opens another's page, and expires after
``settings.SIGNED_LINK_MAX_AGE_DAYS``. Rotating a row's secret invalidates its old links.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db.models import Model, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from common.errors import RuleViolation


def invalid_link() -> RuleViolation:
    return RuleViolation(
        _("This link is invalid or has expired."), code="invalid_link", conflict=False
    )


def sign(value, *, salt: str) -> str:
    return signing.dumps(value, salt=salt)


def unsign(token: str, *, salt: str):
    """The signed value, or RuleViolation(invalid_link) for a bad, tampered or expired token."""
    try:
        return signing.loads(
            token, salt=salt, max_age=timedelta(days=settings.SIGNED_LINK_MAX_AGE_DAYS)
        )
    except signing.BadSignature as exc:  # includes SignatureExpired
        raise invalid_link() from exc


def row_from_token(token: str, *, salt: str, queryset: QuerySet) -> Model:
    """The row whose secret the token signs; invalid_link when the secret was rotated or the
    row is gone (or filtered out by the queryset, e.g. an inactive ambassador)."""
    secret = unsign(token, salt=salt)
    row = queryset.filter(secret=secret).first() if isinstance(secret, str) else None
    if row is None:
        raise invalid_link()
    return row


def absolute_url(url_name: str, token: str) -> str:
    return settings.SITE_URL + reverse(url_name, kwargs={"token": token})
