"""Who may use the back office, in one place; the rules themselves live in common.permissions.

Organiser administrators see every campaign; a campaign manager sees the dashboards and
exports of the campaigns assigned to them; check-in staff and everyone else get 403.
`campaigns_visible` is the one scope that dashboards, exports and export jobs go through.
"""

from __future__ import annotations

from django.db.models import QuerySet

from common.permissions import (
    CAMPAIGN_MANAGER,
    campaigns_for,
    user_has_role,
    user_is_organiser_admin,
)
from common.permissions import organiser_required as _organiser_required
from events.models import Campaign


def is_organiser(user) -> bool:
    """Administrators and campaign managers (not check-in staff)."""
    return user_is_organiser_admin(user) or user_has_role(user, CAMPAIGN_MANAGER)


def is_organiser_admin(user) -> bool:
    return user_is_organiser_admin(user)


def campaigns_visible(user) -> QuerySet[Campaign]:
    if not is_organiser(user):
        return Campaign.objects.none()
    return campaigns_for(user)


def may_see_campaign(user, campaign_id: int | None) -> bool:
    return campaign_id is not None and campaigns_visible(user).filter(pk=campaign_id).exists()


def may_download_job(user, job) -> bool:
    """The requester (while still an organiser), or an organiser administrator."""
    return is_organiser(user) and (job.requested_by_id == user.pk or is_organiser_admin(user))


# Anonymous: to the login page; logged in without the role: 403 (an administrator always passes).
organiser_required = _organiser_required(role=CAMPAIGN_MANAGER)
