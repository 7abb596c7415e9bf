"""Reads shared by press pages, the API and dashboards."""

import datetime as dt

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from common.permissions import user_is_organiser_admin
from events.selectors import public_event_list

from .models import (
    Coverage,
    InterviewSlot,
    Journalist,
    MediaHook,
    MediaMoment,
    PressInvitation,
    PressMaterial,
)


def journalist_list(
    *,
    media_type: str = "",
    region=None,
    topic: str = "",
    outlet=None,
    include_removed: bool = False,
) -> QuerySet[Journalist]:
    """The press list filtered the way staff select recipients (removed ones left out)."""
    qs = Journalist.objects.select_related("person", "outlet", "region")
    if not include_removed:
        qs = qs.filter(removed_at__isnull=True)
    if media_type:
        qs = qs.filter(media_type=media_type)
    if region:
        qs = qs.filter(region=region)
    if outlet:
        qs = qs.filter(outlet=outlet)
    if topic:
        qs = qs.filter(topics__icontains=topic.strip())
    return qs.order_by("person__name")


def invitation_list(*, moment: MediaMoment | None = None) -> QuerySet[PressInvitation]:
    qs = PressInvitation.objects.select_related(
        "journalist__person", "journalist__outlet", "moment__event"
    ).order_by("moment__event__starts_at", "journalist__person__name")
    if moment is not None:
        qs = qs.filter(moment=moment)
    return qs


def invitation_list_for_journalist(*, journalist: Journalist) -> QuerySet[PressInvitation]:
    """Only this journalist's own invitations: the one filter every journalist route uses."""
    return invitation_list().filter(journalist=journalist)


def moment_list_public() -> QuerySet[MediaMoment]:
    return (
        MediaMoment.objects.select_related("event")
        # The one rule for what the public sees of an event (events.selectors).
        .filter(event__in=public_event_list())
        .order_by("-event__starts_at")
    )


def slot_overlaps(
    *, spokesperson_id: int, starts_at: dt.datetime, ends_at: dt.datetime, exclude_pk=None
) -> bool:
    """Whether the spokesperson already has a slot that overlaps [starts_at, ends_at) (back to
    back is fine). Read by the slot services under the spokesperson lock, and by the admin
    form for an early field error."""
    qs = InterviewSlot.objects.filter(
        spokesperson_id=spokesperson_id, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def moment_list_staff() -> QuerySet[MediaMoment]:
    """The staff overview: each moment with its invitations and the coverage that followed
    (items and estimated reach). Subqueries, so the two sums do not multiply each other."""

    def per_moment(aggregate):
        rows = (
            Coverage.objects.filter(moment=OuterRef("pk"))
            .order_by()
            .values("moment")
            .annotate(value=aggregate)
            .values("value")
        )
        return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))

    return (
        moment_list_public()
        .prefetch_related("invitations")
        .annotate(
            coverage_items=per_moment(Count("id")),
            coverage_reach=per_moment(Sum("estimated_reach")),
        )
    )


def free_slots(*, moment: MediaMoment) -> QuerySet[InterviewSlot]:
    return (
        moment.slots.filter(invitation__isnull=True, starts_at__gt=timezone.now())
        .select_related("spokesperson__person")
        .order_by("starts_at")
    )


def material_public(*, moment: MediaMoment, at: dt.datetime | None = None) -> bool:
    """Public (anyone, on the press page) once the embargo has passed, or if there is none."""
    return not moment.under_embargo(at)


def material_may_download(
    *,
    material: PressMaterial,
    invitation: PressInvitation | None = None,
    user=None,
    at: dt.datetime | None = None,
) -> bool:
    """The one embargo check for every route that serves a file.

    After the embargo: everyone. Before it: staff, and a journalist through the signed link of
    an invitation to this very moment who is still on the press list.
    """
    moment = material.moment
    if material_public(moment=moment, at=at):
        return True
    if user is not None and user_is_organiser_admin(user):
        return True
    return (
        invitation is not None
        and invitation.moment_id == moment.pk
        and invitation.journalist.removed_at is None
    )


def media_hook_list(*, campaign=None, upcoming_only: bool = False) -> QuerySet[MediaHook]:
    qs = MediaHook.objects.select_related("campaign")
    if campaign is not None:
        qs = qs.filter(campaign=campaign)
    if upcoming_only:
        today = timezone.localdate()
        qs = qs.filter(Q(ends_on__gte=today) | Q(ends_on__isnull=True, starts_on__gte=today))
    return qs.order_by("starts_on", "title")


def coverage_totals_per_campaign() -> list[dict]:
    """[{campaign_id, campaign, items, reach}] for dashboards, biggest reach first."""
    rows = (
        Coverage.objects.values("moment__event__campaign_id", "moment__event__campaign__name")
        .annotate(items=Count("id"), reach=Sum("estimated_reach"))
        .order_by("-reach", "moment__event__campaign__name")
    )
    return [
        {
            "campaign_id": row["moment__event__campaign_id"],
            "campaign": row["moment__event__campaign__name"],
            "items": row["items"],
            "reach": row["reach"] or 0,
        }
        for row in rows
    ]


def coverage_list(*, moment: MediaMoment | None = None) -> QuerySet[Coverage]:
    qs = Coverage.objects.select_related("moment__event", "outlet")
    if moment is not None:
        qs = qs.filter(moment=moment)
    return qs
