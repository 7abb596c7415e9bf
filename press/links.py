"""Signed personal links for journalists: one invitation, all of one's invitations, removal.

Same scheme as participants.links: the row's random secret signed with a salt per purpose,
expiring after settings.SIGNED_LINK_MAX_AGE_DAYS.
"""

from django.conf import settings
from django.urls import reverse

from common import signed_links

from .models import Journalist, PressInvitation

_SALTS = {
    "invitation": "press.links.invitation",
    "journalist": "press.links.journalist",
    "removal": "press.links.removal",
}


def _load(purpose: str, token: str, model):
    return signed_links.row_from_token(token, salt=_SALTS[purpose], queryset=model.objects.all())


def invitation_token(invitation: PressInvitation) -> str:
    return signed_links.sign(invitation.secret, salt=_SALTS["invitation"])


def invitation_url(invitation: PressInvitation) -> str:
    path = reverse("press:invitation", kwargs={"token": invitation_token(invitation)})
    return f"{settings.SITE_URL}{path}"


def invitation_from_token(token: str) -> PressInvitation:
    return _load("invitation", token, PressInvitation)


def journalist_token(journalist: Journalist) -> str:
    return signed_links.sign(journalist.secret, salt=_SALTS["journalist"])


def journalist_url(journalist: Journalist) -> str:
    path = reverse("press:my_invitations", kwargs={"token": journalist_token(journalist)})
    return f"{settings.SITE_URL}{path}"


def journalist_from_token(token: str) -> Journalist:
    return _load("journalist", token, Journalist)


def removal_token(journalist: Journalist) -> str:
    return signed_links.sign(journalist.secret, salt=_SALTS["removal"])


def removal_url(journalist: Journalist) -> str:
    path = reverse("press:remove", kwargs={"token": removal_token(journalist)})
    return f"{settings.SITE_URL}{path}"


def journalist_from_removal_token(token: str) -> Journalist:
    return _load("removal", token, Journalist)
