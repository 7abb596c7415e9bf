"""Template context for the organiser menu in templates/base.html.

`organiser_menu` says which organiser links the request's user may open, from the same checks
the pages themselves use (common/permissions.py), so the menu never shows a link that answers
403 and never hides one a role may use. It is lazy: a page that does not render the menu (or an
anonymous visitor) costs no query; otherwise the roles are read once per request (cached on the
user object, shared with the view's own checks) and, for check-in staff only, their events once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from common.permissions import (
    ADMIN,
    CAMPAIGN_MANAGER,
    CHECKIN_STAFF,
    organiser_roles,
    user_has_confirmed_device,
    user_may_use_django_admin,
)

# Check-in staff see a link per assigned event that has not ended; more would not fit a menu.
CHECKIN_LINKS_MAX = 5


@dataclass(frozen=True)
class OrganiserMenu:
    admin: bool = False  # administrator-only pages: outbox, school sessions, mailings, privacy
    django_admin: bool = False  # the Django admin ("Back office")
    dashboards: bool = False  # back-office dashboards (administrators, campaign managers)
    checkin_events: list = field(default_factory=list)  # check-in staff's upcoming events
    # Every organiser role may turn on two-factor login (administrators must); the link shows
    # until a device is confirmed, also for check-in staff, who never see the dashboards.
    two_factor_setup: bool = False

    def __bool__(self) -> bool:
        return self.admin or self.dashboards or bool(self.checkin_events)


def organiser_menu_for(user) -> OrganiserMenu:
    roles = organiser_roles(user)
    if not roles:
        return OrganiserMenu()
    is_admin = ADMIN in roles
    checkin_events = []
    if CHECKIN_STAFF in roles and not is_admin:
        from events.models import Event

        checkin_events = list(
            Event.objects.filter(
                organiser_roles__user=user,
                organiser_roles__role=CHECKIN_STAFF,
                ends_at__gte=timezone.now(),
            )
            .order_by("starts_at", "pk")
            .only("pk", "title", "starts_at")[:CHECKIN_LINKS_MAX]
        )
    return OrganiserMenu(
        admin=is_admin,
        django_admin=user_may_use_django_admin(user),
        dashboards=is_admin or CAMPAIGN_MANAGER in roles,
        checkin_events=checkin_events,
        two_factor_setup=not user_has_confirmed_device(user),
    )


def organiser_menu(request) -> dict:
    user = getattr(request, "user", None)
    return {"organiser_menu": SimpleLazyObject(lambda: organiser_menu_for(user))}
