"""Dashboard figures. Each function is one aggregated query over a set of events (a campaign's
events or one event); nothing is counted in Python, so a figure costs the same for 10 or
100,000 rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from django.apps import apps
from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils.translation import gettext as _

from communications.models import Certificate, OutboxMail
from events.models import Campaign, Event, TicketType
from organisations.models import Organisation
from participants.models import CampaignParticipation, Registration, Ticket, WaitingListEntry

from .permissions import campaigns_visible, is_organiser_admin


def campaign_list_for(*, user) -> QuerySet[Campaign]:
    return campaigns_visible(user).order_by("-is_active", "-created_at", "name")


def events_of_campaign(*, campaign: Campaign) -> QuerySet[Event]:
    return Event.objects.filter(campaign=campaign)


def events_of_event(*, event: Event) -> QuerySet[Event]:
    return Event.objects.filter(pk=event.pk)


# --- bookings -------------------------------------------------------------------------------

# Bookings that never became one (payment not made in time, refused by the organiser) are not
# counted as bookings made.
_NOT_BOOKINGS = (Registration.Status.EXPIRED, Registration.Status.REJECTED)


def bookings_per_day(*, events: QuerySet[Event]) -> list[tuple[date, int]]:
    """[(day in Europe/Amsterdam, bookings made that day)], oldest first."""
    rows = (
        Registration.objects.filter(event__in=events)
        .exclude(status__in=_NOT_BOOKINGS)
        .annotate(day=TruncDate("created_at", tzinfo=ZoneInfo(settings.TIME_ZONE)))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("day")
    )
    return [(row["day"], row["n"]) for row in rows]


@dataclass(frozen=True)
class FillRow:
    label: str
    taken: int
    capacity: int | None
    event_id: int | None = None
    event_title: str = ""

    @property
    def rate(self) -> float | None:
        """Percentage of places taken, None without a capacity (unlimited)."""
        if not self.capacity:
            return None
        return round(100 * self.taken / self.capacity, 1)


_HOLDS = Q(tickets__status__in=Ticket.HOLDS_PLACE)


def fill_per_event(*, events: QuerySet[Event]) -> list[FillRow]:
    """Places held by reserved and valid tickets against each event's capacity."""
    rows = (
        events.annotate(taken=Count("tickets", filter=_HOLDS))
        .values("id", "title", "capacity", "taken")
        .order_by("starts_at", "id")
    )
    return [
        FillRow(label=r["title"], taken=r["taken"], capacity=r["capacity"], event_id=r["id"])
        for r in rows
    ]


def fill_per_ticket_type(*, events: QuerySet[Event]) -> list[FillRow]:
    rows = (
        TicketType.objects.filter(event__in=events)
        .annotate(taken=Count("tickets", filter=_HOLDS))
        .values("name", "capacity", "taken", "event_id", "event__title")
        .order_by("event__starts_at", "event_id", "position", "id")
    )
    return [
        FillRow(
            label=r["name"],
            taken=r["taken"],
            capacity=r["capacity"],
            event_id=r["event_id"],
            event_title=r["event__title"],
        )
        for r in rows
    ]


def waiting_list_figures(*, events: QuerySet[Event]) -> dict[str, int]:
    """People still waiting, and people holding an offer they have not answered yet."""
    return WaitingListEntry.objects.filter(event__in=events).aggregate(
        waiting=Count("id", filter=Q(status=WaitingListEntry.Status.WAITING)),
        offered=Count("id", filter=Q(status=WaitingListEntry.Status.OFFERED)),
    )


def checkin_figures(*, events: QuerySet[Event]) -> dict:
    """Valid tickets and how many of them were checked in; rate in percent (None if none)."""
    figures = Ticket.objects.filter(event__in=events, status=Ticket.Status.VALID).aggregate(
        valid=Count("id"), checked_in=Count("id", filter=Q(checked_in_at__isnull=False))
    )
    figures["rate"] = (
        round(100 * figures["checked_in"] / figures["valid"], 1) if figures["valid"] else None
    )
    return figures


def certificate_figures(*, events: QuerySet[Event]) -> dict[str, int]:
    active = Q(revoked_at__isnull=True)
    return Certificate.objects.filter(event__in=events).aggregate(
        attendee=Count("id", filter=active & Q(kind=Certificate.Kind.ATTENDEE)),
        organisation=Count("id", filter=active & Q(kind=Certificate.Kind.ORGANISATION)),
        revoked=Count("id", filter=Q(revoked_at__isnull=False)),
    )


def mail_figures(*, events: QuerySet[Event]) -> dict[str, int]:
    """Delivery of the mails about these events; queued + sending count as pending."""
    status = OutboxMail.Status
    return OutboxMail.objects.filter(event__in=events).aggregate(
        sent=Count("id", filter=Q(status=status.SENT)),
        retrying=Count("id", filter=Q(status=status.RETRYING)),
        failed=Count("id", filter=Q(status=status.FAILED)),
        pending=Count("id", filter=Q(status__in=(status.QUEUED, status.SENDING))),
    )


# --- organisations --------------------------------------------------------------------------


def participating_organisations(*, events: QuerySet[Event]) -> QuerySet[Organisation]:
    """Organisations signed up for one of these campaign weeks, or with a confirmed booking."""
    signed_up = CampaignParticipation.objects.filter(event__in=events).exclude(
        status=CampaignParticipation.Status.CANCELLED
    )
    booked = Registration.objects.filter(
        event__in=events, status=Registration.Status.CONFIRMED, organisation__isnull=False
    )
    return Organisation.objects.filter(
        Q(pk__in=signed_up.values("organisation_id")) | Q(pk__in=booked.values("organisation_id"))
    )


def organisations_by_region(*, events: QuerySet[Event]) -> list[tuple[str, int]]:
    rows = (
        participating_organisations(events=events)
        .values("region__name")
        .annotate(n=Count("id"))
        .order_by("-n", "region__name")
    )
    return [(r["region__name"] or _("Unknown region"), r["n"]) for r in rows]


def organisations_by_sector(*, events: QuerySet[Event]) -> list[tuple[str, int]]:
    labels = dict(Organisation.Sector.choices)
    rows = (
        participating_organisations(events=events)
        .values("sector")
        .annotate(n=Count("id"))
        .order_by("-n", "sector")
    )
    return [(str(labels.get(r["sector"], r["sector"] or _("Unknown"))), r["n"]) for r in rows]


# --- schools and press (other apps; a section says so when the app is not installed) -------


def school_figures(*, events: QuerySet[Event]) -> dict | None:
    """School sessions planned/held and pupils reached by held sessions; None without schools.

    Pupils reached follows schools.selectors.pupils_reached (the school's feedback, else the
    ambassador's, else the number asked for), computed in the database.
    """
    if not apps.is_installed("schools"):
        return None
    from schools.models import SchoolSession, SessionFeedback

    def feedback(role):
        return Subquery(
            SessionFeedback.objects.filter(session=OuterRef("pk"), role=role).values(
                "pupils_reached"
            )[:1],
            output_field=IntegerField(),
        )

    return (
        SchoolSession.objects.filter(event__in=events)
        .annotate(
            reached=Coalesce(
                feedback(SessionFeedback.Role.SCHOOL),
                feedback(SessionFeedback.Role.AMBASSADOR),
                "request__pupils",
                output_field=IntegerField(),
            )
        )
        .aggregate(
            planned=Count("id", filter=Q(status=SchoolSession.Status.PLANNED)),
            held=Count("id", filter=Q(status=SchoolSession.Status.DONE)),
            cancelled=Count("id", filter=Q(status=SchoolSession.Status.CANCELLED)),
            pupils=Coalesce(
                Sum("reached", filter=Q(status=SchoolSession.Status.DONE)),
                Value(0),
                output_field=IntegerField(),
            ),
        )
    )


def press_response_figures(*, events: QuerySet[Event]) -> dict | None:
    if not apps.is_installed("press"):
        return None
    from press.models import PressInvitation

    status = PressInvitation.Status
    return PressInvitation.objects.filter(moment__event__in=events).aggregate(
        invited=Count("id"),
        accepted=Count("id", filter=Q(status=status.ACCEPTED)),
        declined=Count("id", filter=Q(status=status.DECLINED)),
        open=Count("id", filter=Q(status=status.INVITED)),
        accreditations=Count("id", filter=Q(accreditation_requested_at__isnull=False)),
    )


def coverage_figures(*, events: QuerySet[Event]) -> dict | None:
    if not apps.is_installed("press"):
        return None
    from press.models import Coverage

    return Coverage.objects.filter(moment__event__in=events).aggregate(
        items=Count("id"), reach=Coalesce(Sum("estimated_reach"), Value(0))
    )


def export_job_list(*, user) -> QuerySet:
    from .models import ExportJob

    qs = ExportJob.objects.select_related("requested_by")
    if not is_organiser_admin(user):
        qs = qs.filter(requested_by=user)
    return qs[:50]
