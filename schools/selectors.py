"""Reads shared by the planning board, the personal pages, the API and dashboards."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from events.models import Event
from press.models import MediaMoment

from .models import (
    AMSTERDAM,
    Ambassador,
    AvailabilityWindow,
    PreferredSlot,
    SchoolSession,
    SchoolSessionRequest,
    SessionFeedback,
)

DEFAULT_TRAVEL_MARGIN_MINUTES = 60


def travel_margin() -> timedelta:
    """Time an ambassador needs between two sessions.

    Setting SCHOOL_SESSION_TRAVEL_MARGIN_MINUTES (default 60).
    """
    minutes = getattr(
        settings, "SCHOOL_SESSION_TRAVEL_MARGIN_MINUTES", DEFAULT_TRAVEL_MARGIN_MINUTES
    )
    return timedelta(minutes=int(minutes))


# --- Conflicts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    code: str  # double_booking | travel_margin | monthly_maximum | ambassador_inactive
    message: str


def month_bounds(moment: datetime) -> tuple[datetime, datetime]:
    """The Amsterdam calendar month around `moment`, as aware datetimes."""
    local = moment.astimezone(AMSTERDAM)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following


def active_sessions(ambassador: Ambassador) -> QuerySet[SchoolSession]:
    return SchoolSession.objects.filter(ambassador=ambassador).exclude(
        status=SchoolSession.Status.CANCELLED
    )


def sessions_in_month(*, ambassador: Ambassador, moment: datetime, exclude_id=None) -> int:
    start, end = month_bounds(moment)
    qs = active_sessions(ambassador).filter(event__starts_at__gte=start, event__starts_at__lt=end)
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return qs.count()


def ambassador_conflicts(
    *,
    ambassador: Ambassador,
    starts_at: datetime,
    ends_at: datetime,
    exclude_session_id: int | None = None,
) -> list[Conflict]:
    """Every reason the ambassador cannot take a session at this time (empty: free).

    Rules: no two sessions overlap (double booking); between two sessions there is at least
    the travel margin; no more sessions in a calendar month than the ambassador's maximum.
    The assign service calls this again while it holds the ambassador's row lock.
    """
    conflicts: list[Conflict] = []
    if not ambassador.is_active:
        conflicts.append(
            Conflict("ambassador_inactive", _("This ambassador is not active at the moment."))
        )
    margin = travel_margin()
    others = active_sessions(ambassador).select_related("event", "request__school")
    if exclude_session_id:
        others = others.exclude(pk=exclude_session_id)
    nearby = others.filter(
        event__starts_at__lt=ends_at + margin, event__ends_at__gt=starts_at - margin
    )
    for other in nearby:
        local = timezone.localtime(other.event.starts_at, AMSTERDAM)
        values = {
            "name": ambassador.person.name,
            "school": other.request.school.name,
            "when": local.strftime("%d-%m-%Y %H:%M"),
        }
        if other.event.starts_at < ends_at and other.event.ends_at > starts_at:
            conflicts.append(
                Conflict(
                    "double_booking",
                    _("%(name)s already has a session at %(school)s at that time (%(when)s).")
                    % values,
                )
            )
        else:
            values["minutes"] = int(margin.total_seconds() // 60)
            conflicts.append(
                Conflict(
                    "travel_margin",
                    _(
                        "%(name)s has a session at %(school)s (%(when)s) less than "
                        "%(minutes)s minutes before or after; there is no time to travel."
                    )
                    % values,
                )
            )
    taken = sessions_in_month(
        ambassador=ambassador, moment=starts_at, exclude_id=exclude_session_id
    )
    if taken >= ambassador.max_sessions_per_month:
        conflicts.append(
            Conflict(
                "monthly_maximum",
                _("%(name)s already has %(count)s sessions that month (maximum %(max)s).")
                % {
                    "name": ambassador.person.name,
                    "count": taken,
                    "max": ambassador.max_sessions_per_month,
                },
            )
        )
    return conflicts


# --- Matching --------------------------------------------------------------------------------


@dataclass
class SlotOption:
    slot: PreferredSlot
    available: bool  # inside one of the ambassador's availability windows
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def possible(self) -> bool:
        return not self.conflicts


@dataclass
class Suggestion:
    ambassador: Ambassador
    region_match: bool
    work_field_match: bool
    sessions_this_month: int
    options: list[SlotOption]

    @property
    def available(self) -> bool:
        """Free and available in at least one of the school's preferred windows."""
        return any(o.available and o.possible for o in self.options)

    @property
    def load(self) -> float:
        return self.sessions_this_month / max(self.ambassador.max_sessions_per_month, 1)

    @property
    def best_slot(self) -> PreferredSlot | None:
        for option in self.options:
            if option.available and option.possible:
                return option.slot
        return None

    def rank_key(self) -> tuple:
        # Region first (travel), then the work field the school asked for, then whether the
        # ambassador can come at all in a preferred window, then the least busy ambassador.
        return (
            not self.region_match,
            not self.work_field_match,
            not self.available,
            self.load,
            self.ambassador.person.name,
        )


def _is_available(windows: list[AvailabilityWindow], slot: PreferredSlot) -> bool:
    return any(w.covers(slot.starts_at, slot.ends_at) for w in windows)


def ambassador_suggestions(*, request: SchoolSessionRequest) -> list[Suggestion]:
    """Active ambassadors for an open request, best match first (see Suggestion.rank_key)."""
    slots = list(request.slots.all())
    region_id = request.school.region_id
    ambassadors = (
        Ambassador.objects.filter(is_active=True)
        .select_related("person", "work_field")
        .prefetch_related("regions", Prefetch("availability"))
    )
    # Load is counted in the month of the first preferred date (or now without dates).
    moment = slots[0].starts_at if slots else timezone.now()
    suggestions = []
    for ambassador in ambassadors:
        windows = list(ambassador.availability.all())
        options = [
            SlotOption(
                slot=slot,
                available=_is_available(windows, slot),
                conflicts=ambassador_conflicts(
                    ambassador=ambassador, starts_at=slot.starts_at, ends_at=slot.ends_at
                ),
            )
            for slot in slots
        ]
        suggestions.append(
            Suggestion(
                ambassador=ambassador,
                region_match=region_id is not None
                and any(r.pk == region_id for r in ambassador.regions.all()),
                work_field_match=request.work_field_id is None
                or ambassador.work_field_id == request.work_field_id,
                sessions_this_month=sessions_in_month(ambassador=ambassador, moment=moment),
                options=options,
            )
        )
    suggestions.sort(key=Suggestion.rank_key)
    return suggestions


# --- Lists -------------------------------------------------------------------------------------


def request_list(*, status: str | None = None) -> QuerySet[SchoolSessionRequest]:
    qs = SchoolSessionRequest.objects.select_related(
        "school", "school__region", "contact", "work_field", "campaign"
    ).prefetch_related("slots")
    if status:
        qs = qs.filter(status=status)
    return qs


def open_requests() -> QuerySet[SchoolSessionRequest]:
    return request_list(status=SchoolSessionRequest.Status.OPEN).order_by("created_at")


def session_list(*, ambassador: Ambassador | None = None) -> QuerySet[SchoolSession]:
    qs = SchoolSession.objects.select_related(
        "event", "request", "request__school", "request__contact", "ambassador__person"
    ).order_by("event__starts_at")
    if ambassador is not None:
        qs = qs.filter(ambassador=ambassador)
    return qs


def linked_media_moment(session: SchoolSession) -> MediaMoment | None:
    """The media moment the session was opened to the press with, unless none or cancelled."""
    if session.media_moment_id is None:
        return None
    return (
        MediaMoment.objects.select_related("event")
        .filter(event_id=session.media_moment_id)
        .exclude(event__status=Event.Status.CANCELLED)
        .first()
    )


def ambassador_list() -> QuerySet[Ambassador]:
    return (
        Ambassador.objects.select_related("person", "work_field")
        .prefetch_related("regions", "availability")
        .annotate(
            planned_sessions=Count(
                "sessions", filter=Q(sessions__status=SchoolSession.Status.PLANNED)
            )
        )
        .order_by("person__name", "pk")
    )


# --- Statistics ------------------------------------------------------------------------------


@dataclass
class StatRow:
    label: str
    sessions: int = 0
    pupils: int = 0


def pupils_reached(session: SchoolSession) -> int:
    """What the school reported, else the ambassador, else the number the school asked for."""
    by_role = {f.role: f.pupils_reached for f in session.feedback.all()}
    for role in (SessionFeedback.Role.SCHOOL, SessionFeedback.Role.AMBASSADOR):
        if role in by_role:
            return by_role[role]
    return session.request.pupils


def session_statistics(*, since: date | None = None, until: date | None = None) -> dict:
    """Sessions held and pupils reached, per labour-market region and per work field.

    Returns {"regions": [StatRow], "work_fields": [StatRow], "total": StatRow}, biggest first.
    """
    qs = (
        SchoolSession.objects.filter(status=SchoolSession.Status.DONE)
        .select_related("request__school__region", "ambassador__work_field", "request")
        .prefetch_related("feedback")
    )
    if since:
        qs = qs.filter(event__starts_at__date__gte=since)
    if until:
        qs = qs.filter(event__starts_at__date__lte=until)
    regions: dict[str, StatRow] = {}
    fields: dict[str, StatRow] = {}
    total = StatRow(label=_("Total"))
    for session in qs:
        pupils = pupils_reached(session)
        region = session.request.school.region
        region_label = region.name if region else _("Unknown region")
        for table, label in (
            (regions, region_label),
            (fields, session.ambassador.work_field.name),
        ):
            row = table.setdefault(label, StatRow(label=label))
            row.sessions += 1
            row.pupils += pupils
        total.sessions += 1
        total.pupils += pupils

    def ordered(table):
        return sorted(table.values(), key=lambda r: (-r.sessions, -r.pupils, r.label))

    return {"regions": ordered(regions), "work_fields": ordered(fields), "total": total}
