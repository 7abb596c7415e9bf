"""Who may do what: the role checks and queryset scoping every app calls.

Roles (see docs/permissions.md):
- organiser administrator: everything, incl. the Django admin.
- every organiser role (administrator, campaign manager, check-in staff, ...): verified TOTP
  two-factor when OTP_REQUIRED_FOR_ORGANISERS is on (always with the production settings).
- campaign manager: the organiser pages of the campaigns assigned to them (events, bookings,
  payments, certificates, check-in, dashboards of those campaigns).
- check-in staff: the check-in page / API of the events assigned to them.
- organisation administrator / member: their organisation (organisations.Membership).
- ambassador: their own sessions and availability (schools.Ambassador.user).
- journalist: their own invitations (press; signed links, no login).

Compatibility: a staff account (`is_staff`) without any OrganiserRole row counts as an
organiser administrator, as every organiser page used `is_staff` before roles existed. A staff
account that has only limited roles is limited to them. Superusers are always administrators.

Apps scope their querysets through the helpers here (`campaigns_for`, `events_for`,
`scope_events`, ...) from one `scoped_*` function in their selectors, so the rule lives in one
place per app and one place overall.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Literal

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

ADMIN = "admin"
CAMPAIGN_MANAGER = "campaign_manager"
CHECKIN_STAFF = "checkin_staff"
ORGANISER_ROLES = (ADMIN, CAMPAIGN_MANAGER, CHECKIN_STAFF)

Purpose = Literal["manage", "checkin"]

_CACHE_ATTR = "_organiser_roles_cache"


def _active(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def organiser_roles(user) -> frozenset[str]:
    """The organiser roles of a user (cached on the user object for the request)."""
    if not _active(user):
        return frozenset()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    from accounts.models import OrganiserRole

    roles = set(OrganiserRole.objects.filter(user=user).values_list("role", flat=True))
    if user.is_superuser or (user.is_staff and not roles):
        roles.add(ADMIN)
    result = frozenset(roles)
    setattr(user, _CACHE_ATTR, result)
    return result


def clear_role_cache(user) -> None:
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def user_is_organiser_admin(user) -> bool:
    return ADMIN in organiser_roles(user)


def user_is_organiser(user) -> bool:
    """Any organiser role (admin, campaign manager, check-in staff)."""
    return bool(organiser_roles(user))


def user_has_role(user, role: str) -> bool:
    return role in organiser_roles(user)


def campaigns_for(user) -> QuerySet:
    """Campaigns whose organiser pages the user may use: all for an administrator, the
    assigned ones for a campaign manager, none otherwise."""
    from events.models import Campaign

    roles = organiser_roles(user)
    if ADMIN in roles:
        return Campaign.objects.all()
    if CAMPAIGN_MANAGER in roles:
        return Campaign.objects.filter(
            organiser_roles__user=user, organiser_roles__role=CAMPAIGN_MANAGER
        ).distinct()
    return Campaign.objects.none()


def _event_filter(user, purpose: Purpose) -> Q | None:
    """None: every event. Q(pk__in=[]) style: nothing."""
    roles = organiser_roles(user)
    if ADMIN in roles:
        return None
    q = Q(pk__in=[])
    if CAMPAIGN_MANAGER in roles:
        q |= Q(campaign__in=campaigns_for(user))
    if purpose == "checkin" and CHECKIN_STAFF in roles:
        q |= Q(
            pk__in=_assigned_checkin_event_ids(user),
        )
    return q


def _assigned_checkin_event_ids(user):
    from accounts.models import OrganiserRole

    return OrganiserRole.objects.filter(user=user, role=CHECKIN_STAFF).values("events")


def events_for(user, purpose: Purpose = "manage") -> QuerySet:
    """Events the user may manage (purpose "manage": admin all, campaign manager their
    campaigns' events) or check people in for ("checkin": also check-in staff's events)."""
    from events.models import Event

    return scope_events(Event.objects.all(), user, purpose=purpose)


def scope_events(
    queryset: QuerySet, user, *, purpose: Purpose = "manage", field: str = ""
) -> QuerySet:
    """Narrow any queryset to rows of events the user may see. `field` is the path from the
    queryset's model to the event ("" for Event itself, "event" for a Registration, ...)."""
    if purpose not in ("manage", "checkin"):
        raise ValueError(f"unknown purpose {purpose!r}")
    if not user_is_organiser(user):
        return queryset.none()
    q = _event_filter(user, purpose)
    if q is None:
        return queryset
    if not field:
        return queryset.filter(q).distinct()
    from events.models import Event

    return queryset.filter(**{f"{field}__in": Event.objects.filter(q)})


def scope_campaigns(queryset: QuerySet, user, *, field: str = "") -> QuerySet:
    """Narrow a queryset to rows of campaigns the user may see (`field`: path to the campaign)."""
    if user_is_organiser_admin(user):
        return queryset
    allowed = campaigns_for(user)
    if not field:
        return queryset.filter(pk__in=allowed.values("pk"))
    return queryset.filter(**{f"{field}__in": allowed.values("pk")})


def may_manage_event(user, event) -> bool:
    if event is None:
        return False
    return events_for(user, "manage").filter(pk=event.pk).exists()


def may_check_in(user, event) -> bool:
    if event is None:
        return False
    return events_for(user, "checkin").filter(pk=event.pk).exists()


def may_manage_campaign(user, campaign) -> bool:
    if campaign is None:
        return False
    return campaigns_for(user).filter(pk=campaign.pk).exists()


def user_may_use_django_admin(user) -> bool:
    """The Django admin: organiser administrators with the staff flag (Django's own gate; the
    admin site additionally asks for a verified second factor, see accounts.apps)."""
    return bool(_active(user) and user.is_staff and user_is_organiser_admin(user))


def organiser_users() -> QuerySet:
    """Accounts that act as organisers: any OrganiserRole row, a superuser, or a staff account
    (the compatibility administrator). For pickers such as the audit log's actor filter."""
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(Q(organiser_roles__isnull=False) | Q(is_staff=True) | Q(is_superuser=True))
        .distinct()
    )


# --- Organisations (portal) ---------------------------------------------------------------------


def organisations_for(user, *, admin_only: bool = False) -> QuerySet:
    """Organisations the user belongs to (as administrator only with admin_only)."""
    from organisations.models import Membership, Organisation

    if not _active(user):
        return Organisation.objects.none()
    memberships = Membership.objects.filter(user=user)
    if admin_only:
        memberships = memberships.filter(role=Membership.Role.ADMIN)
    return Organisation.objects.filter(pk__in=memberships.values("organisation_id"))


# --- Two-factor -----------------------------------------------------------------------------------


def two_factor_enforced() -> bool:
    return bool(getattr(settings, "OTP_REQUIRED_FOR_ORGANISERS", True))


def user_has_confirmed_device(user) -> bool:
    if not _active(user):
        return False
    from django_otp import user_has_device

    return user_has_device(user, confirmed=True)


def two_factor_state(user) -> str:
    """ "ok", "setup" (must create a device first) or "verify" (must enter a code).

    Every organiser (any role: they all see personal data, and check-in staff's phones leave
    the building) must have a confirmed device and a verified session; anyone else who turned
    2FA on must verify too (a device they can skip would protect nothing)."""
    if not _active(user) or not two_factor_enforced():
        return "ok"
    # is_verified comes from django_otp's OTPMiddleware; a user loaded elsewhere is unverified.
    is_verified = getattr(user, "is_verified", None)
    if is_verified is not None and is_verified():
        return "ok"
    has_device = user_has_confirmed_device(user)
    if has_device:
        return "verify"
    if user_is_organiser(user):
        return "setup"
    return "ok"


# --- View guards ----------------------------------------------------------------------------------


def _allowed(user, roles: Iterable[str] | None) -> bool:
    have = organiser_roles(user)
    if not have:
        return False
    if roles is None:
        return True
    return ADMIN in have or bool(have.intersection(roles))


def organiser_check(request, role: str | Iterable[str] | None = ADMIN) -> None:
    """Raise PermissionDenied unless the request's user has one of the roles (an administrator
    always has). `role=None`: any organiser role. The view then scopes its objects with
    `events_for` / `campaigns_for`."""
    roles = [role] if isinstance(role, str) else role
    if not _allowed(request.user, roles):
        raise PermissionDenied


def organiser_required(view: Callable | None = None, *, role: str | Iterable[str] | None = ADMIN):
    """Page decorator: anonymous to the login page; without the role 403.

    Usable bare (`@organiser_required`: administrators) or with `role=` (`CAMPAIGN_MANAGER`,
    `CHECKIN_STAFF`, a tuple, or None for any organiser). Two-factor enforcement happens in
    accounts.middleware.OrganiserTwoFactorMiddleware before any view runs."""

    def decorator(func):
        @wraps(func)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            organiser_check(request, role)
            return func(request, *args, **kwargs)

        return wrapper

    if view is not None:
        return decorator(view)
    return decorator


class OrganiserRequiredMixin:
    """Class-based views: `organiser_role = ADMIN | CAMPAIGN_MANAGER | ... | None`."""

    organiser_role: str | Iterable[str] | None = ADMIN

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        organiser_check(request, self.organiser_role)
        return super().dispatch(request, *args, **kwargs)


try:  # DRF permission classes, for API views
    from rest_framework.permissions import BasePermission

    class IsOrganiserAdmin(BasePermission):
        def has_permission(self, request, view) -> bool:
            return user_is_organiser_admin(request.user)

    class IsOrganiser(BasePermission):
        """Any organiser role; the view scopes its objects."""

        def has_permission(self, request, view) -> bool:
            return user_is_organiser(request.user)

except ImportError:  # pragma: no cover - DRF is a dependency
    pass
