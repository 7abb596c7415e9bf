"""Signed invitation links. The token wraps the invitation's id and secret, so a guessed or
altered link is refused before the database is asked."""

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import translation
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _

from common.errors import RuleViolation

from .models import Invitation

INVITATION_SALT = "organisations.invitation"


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk, "s": invitation.secret}, salt=INVITATION_SALT)


def invitation_url(invitation: Invitation, *, language: str = "nl") -> str:
    with translation.override(language):
        path = reverse(
            "organisations:invitation_accept", kwargs={"token": invitation_token(invitation)}
        )
    return f"{settings.SITE_URL}{path}"


def invitation_from_token(token: str) -> Invitation:
    """The invitation behind a link (used or not; the accept service checks that), or
    RuleViolation(code="invalid_link")."""
    invalid = RuleViolation(_("This invitation link is not valid."), code="invalid_link")
    try:
        data = signing.loads(token, salt=INVITATION_SALT)
    except signing.BadSignature:
        raise invalid from None
    if not isinstance(data, dict):
        raise invalid
    invitation = (
        Invitation.objects.select_related("organisation", "invited_by")
        .filter(pk=data.get("i"))
        .first()
    )
    if invitation is None or not constant_time_compare(invitation.secret, str(data.get("s"))):
        raise invalid
    return invitation
