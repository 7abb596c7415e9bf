"""Signed one-click unsubscribe links.

The token carries the hashed address and the scope, never the address itself (URLs end up in
logs). No expiry: an unsubscribe link in a mail from years ago must still work.

Not on common.signed_links on purpose: its links expire after SIGNED_LINK_MAX_AGE_DAYS and
stand for a row's rotatable secret, while an opt-out must keep working for good and outlive
the person's row (erasure). tests/mailings/test_links.py pins the token format of mailed links.
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext as _

from common.errors import RuleViolation

SALT = "mailings.unsubscribe"


def unsubscribe_token(*, email_hash: str, scope: str) -> str:
    return signing.dumps({"h": email_hash, "s": scope}, salt=SALT, compress=True)


_PLACEHOLDER = "TOKEN"


def _path_template(language: str) -> str:
    # reverse() under translation.override costs milliseconds; a mailing builds thousands of
    # links, so reverse once per language and put each token into the same path.
    from django.utils import translation

    with translation.override(language):
        return reverse("mailings:unsubscribe", kwargs={"token": _PLACEHOLDER})


def unsubscribe_url(*, email_hash: str, scope: str, language: str = "nl", _cache={}) -> str:  # noqa: B006
    language = language if language in ("nl", "en") else "nl"
    if language not in _cache:
        _cache[language] = _path_template(language)
    token = unsubscribe_token(email_hash=email_hash, scope=scope)
    return f"{settings.SITE_URL}{_cache[language].replace(_PLACEHOLDER, token)}"


def unsubscribe_from_token(token: str) -> tuple[str, str]:
    """(email hash, scope) or RuleViolation(invalid_link)."""
    try:
        data = signing.loads(token, salt=SALT)
        email_hash, scope = str(data["h"]), str(data["s"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise RuleViolation(
            _("This link is not valid. Copy the complete link from the e-mail."),
            code="invalid_link",
            conflict=False,
        ) from None
    return email_hash, scope
