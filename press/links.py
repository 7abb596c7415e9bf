"""Signed personal links for journalists: one invitation, all of one's invitations, removal.

Same scheme as participants.links: the row's random secret signed with a salt per purpose,
expiring after settings.SIGNED_LINK_MAX_AGE_DAYS. Also the organiser's confirmed selection of
journalists to invite (`invite_selection_token`), carried from the confirmation step to the
confirm button.
"""

from django.conf import settings
from django.core import signing
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


# The confirmation step of "invite journalists": the selection the organiser saw, signed for
# this moment and this organiser, so the confirm button sends exactly that list and a changed
# or replayed one is refused. An hour is ample to read the list and click.
_SELECTION_SALT = "press.links.invite_selection"
INVITE_SELECTION_MAX_AGE = 3600


def invite_selection_token(*, moment_id: int, user_id: int, journalist_ids) -> str:
    ids = sorted({int(pk) for pk in journalist_ids})
    return signing.dumps(
        {"moment": moment_id, "user": user_id, "journalists": ids},
        salt=_SELECTION_SALT,
        compress=False,
    )


def invite_selection_from_token(token: str, *, moment_id: int, user_id: int) -> list[int]:
    """The journalist ids of a selection token; raises signing.BadSignature (also for an
    expired token, or one made for another moment or organiser)."""
    data = signing.loads(token, salt=_SELECTION_SALT, max_age=INVITE_SELECTION_MAX_AGE)
    if not isinstance(data, dict):
        raise signing.BadSignature("not a selection token")
    ids = data.get("journalists")
    if (
        data.get("moment") != moment_id
        or data.get("user") != user_id
        or not isinstance(ids, list)
        or not ids
        or not all(isinstance(pk, int) for pk in ids)
    ):
        raise signing.BadSignature("selection token for another moment or organiser")
    return ids
