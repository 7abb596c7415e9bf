"""Reads behind the API. Every private read is scoped to the caller's organisation here, so a
view cannot forget the filter."""

from datetime import date, datetime, time

from django.db.models import Count, Prefetch, Q, QuerySet, prefetch_related_objects
from django.utils import timezone

from common.prepared import attach_prefetched
from events.models import Event, Question, TicketType
from events.selectors import event_list_upcoming, public_event_list
from organisations.models import Organisation
from participants.models import (
    CampaignParticipation,
    Registration,
    Ticket,
    WaitingListEntry,
)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def event_list_public(
    *,
    campaign: str | None = None,
    kind: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    has_places: bool | None = None,
) -> QuerySet[Event]:
    """Published, not yet ended events; dates are calendar days in Europe/Amsterdam."""
    qs = event_list_upcoming(campaign_slug=campaign, kind=kind)
    if date_from:
        qs = qs.filter(ends_at__gte=_day_start(date_from))
    if date_to:
        qs = qs.filter(starts_at__lt=_day_start(date_to) + timezone.timedelta(days=1))
    if has_places is True:
        qs = qs.filter(Q(capacity__isnull=True) | Q(places_left__gt=0))
    elif has_places is False:
        qs = qs.filter(capacity__isnull=False, places_left=0)
    return qs


def event_get_public(*, event_id: int) -> Event:
    """A public, published event (events.selectors.public_event_list) with its on-sale ticket
    types and questions; raises DoesNotExist."""
    return (
        public_event_list()
        .filter(status=Event.Status.PUBLISHED)
        .select_related("campaign")
        .prefetch_related(
            Prefetch(
                "ticket_types",
                queryset=TicketType.objects.filter(is_active=True).order_by("position", "id"),
            ),
            Prefetch("questions", queryset=Question.objects.order_by("position", "id")),
        )
        .get(pk=event_id)
    )


def ticket_type_places_left(*, event: Event) -> dict[int, int | None]:
    """Places left per ticket type (None = no limit): the smaller of the event's and the ticket
    type's own remaining places. Held places are tickets in Ticket.HOLDS_PLACE plus open
    waiting-list offers, the same count the booking service enforces."""
    now = timezone.now()
    taken = dict(
        Ticket.objects.filter(event=event, status__in=Ticket.HOLDS_PLACE)
        .values("ticket_type")
        .annotate(n=Count("id"))
        .values_list("ticket_type", "n")
    )
    offered = dict(
        WaitingListEntry.objects.filter(
            event=event, status=WaitingListEntry.Status.OFFERED, offer_expires_at__gt=now
        )
        .values("ticket_type")
        .annotate(n=Count("id"))
        .values_list("ticket_type", "n")
    )
    held = {tt: taken.get(tt, 0) + offered.get(tt, 0) for tt in set(taken) | set(offered)}
    event_left = None if event.capacity is None else max(event.capacity - sum(held.values()), 0)
    result: dict[int, int | None] = {}
    for ticket_type in event.ticket_types.all():
        own_left = (
            None
            if ticket_type.capacity is None
            else max(ticket_type.capacity - held.get(ticket_type.pk, 0), 0)
        )
        candidates = [n for n in (event_left, own_left) if n is not None]
        result[ticket_type.pk] = min(candidates) if candidates else None
    return result


def _bookings(organisation: Organisation) -> QuerySet[Registration]:
    return (
        Registration.objects.filter(organisation=organisation)
        .select_related("event", "booker")
        .prefetch_related(_tickets_for_output())
    )


def _tickets_for_output() -> Prefetch:
    return Prefetch(
        "tickets", queryset=Ticket.objects.select_related("person", "ticket_type").order_by("id")
    )


def booking_prefetch_for_output(*, registration: Registration) -> Registration:
    """Load what BookingOutput renders onto a booking just created (event and booker are
    already on the instance). A booking from registration_create carries the tickets it
    wrote (``created_tickets``, person and ticket type attached): those are used, in id order,
    with no query, since this still runs inside the booking's transaction. Otherwise one
    query, instead of reading the booking again."""
    created = getattr(registration, "created_tickets", None)
    if created is not None:
        attach_prefetched(registration, "tickets", sorted(created, key=lambda t: t.pk))
    else:
        prefetch_related_objects([registration], _tickets_for_output())
    return registration


def booking_list_for_organisation(*, organisation: Organisation) -> QuerySet[Registration]:
    return _bookings(organisation).order_by("-created_at", "-id")


def booking_get_for_organisation(*, organisation: Organisation, code: str) -> Registration:
    """Raises Registration.DoesNotExist for another organisation's booking (shown as 404)."""
    return _bookings(organisation).get(code=code.upper())


def ticket_get_for_organisation(*, organisation: Organisation, ticket_id: int) -> Ticket:
    """Raises Ticket.DoesNotExist for another organisation's ticket (shown as 404)."""
    return Ticket.objects.select_related("registration", "event", "person", "ticket_type").get(
        pk=ticket_id, registration__organisation=organisation
    )


def participation_list_for_organisation(
    *, organisation: Organisation
) -> QuerySet[CampaignParticipation]:
    return (
        CampaignParticipation.objects.filter(organisation=organisation)
        .select_related("event", "contact", "organisation")
        .order_by("-created_at", "-id")
    )
