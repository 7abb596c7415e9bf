"""Reads of bookings, tickets and the waiting list shared by pages, the API and exports.

The definition of "a place is taken" lives here, once: a ticket whose status is in
``Ticket.HOLDS_PLACE``, or an open waiting-list offer (status offered, not yet expired), which
keeps a place free for the person it was offered to. The capacity check in
``participants.services`` counts with these same querysets while it holds the event lock.
"""

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from common.prepared import PreparedQuery, attach_prefetched
from events.models import Event, Question, TicketType
from organisations.models import Organisation

from .models import CampaignParticipation, Person, Registration, Ticket, WaitingListEntry

# Registration statuses in which a booking still has (or may get) places.
ACTIVE_REGISTRATION_STATUSES = (
    Registration.Status.PENDING_APPROVAL,
    Registration.Status.AWAITING_PAYMENT,
    Registration.Status.CONFIRMED,
)


def tickets_holding_places(*, event_id: int) -> QuerySet[Ticket]:
    return Ticket.objects.filter(event_id=event_id, status__in=Ticket.HOLDS_PLACE)


# Under the event lock on every booking: compiled once per number of addresses and people.
_people_by_address = PreparedQuery(
    lambda emails, exclude_ids: (
        Person.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower__in=emails)
        .exclude(pk__in=exclude_ids)
        .order_by()
        .values_list("pk", "email_lower")
    )
)


def emails_holding_places(
    *,
    event_id: int,
    emails: set[str],
    exclude_ticket_id: int | None = None,
    exclude_person_ids: Iterable[int] = (),
) -> set[str]:
    """Which of these (lower-cased) addresses already hold a place on the event.

    Asked from the people side, in two steps: the ``Lower(email)`` index finds the people with
    these addresses, and only if there are any are their tickets on this event looked up.
    Asked from the tickets side in one query, the planner joins every ticket of the event to
    its person whenever its statistics think the event is small (always, for a new event):
    ~1 ms per booking at 800 tickets, under the event lock. ``exclude_person_ids``: people
    the caller created in this transaction (they have no tickets yet), so a booking by new
    addresses costs one index lookup."""
    people = dict(_people_by_address(sorted(emails), sorted(exclude_person_ids)))
    if not people:
        return set()
    holding = tickets_holding_places(event_id=event_id).filter(person_id__in=list(people))
    if exclude_ticket_id is not None:
        holding = holding.exclude(pk=exclude_ticket_id)
    return {people[pk] for pk in holding.order_by().values_list("person_id", flat=True)}


# The booking request reads these three on every call: compiled once (common.prepared). The
# children order by their own columns: the models' default ordering starts with ``event``, which
# would join the event table again only to sort one event's rows.
_published_event = PreparedQuery(
    lambda pk: Event.objects.filter(pk=pk, status=Event.Status.PUBLISHED)[:1]
)
_event_ticket_types = PreparedQuery(
    lambda event_id: TicketType.objects.filter(event_id=event_id).order_by("position", "name")
)
_event_questions = PreparedQuery(
    lambda event_id: Question.objects.filter(event_id=event_id).order_by("position", "id")
)


def event_for_booking(*, event_id: int) -> Event | None:
    """A published event with its ticket types and questions, as the booking path needs it:
    ``event.ticket_types.all()`` and ``event.questions.all()`` are filled, as by
    ``prefetch_related``, with each child's ``event`` set to this instance."""
    event = _published_event.first(event_id)
    if event is None:
        return None
    for name, query in (("ticket_types", _event_ticket_types), ("questions", _event_questions)):
        rows = query(event_id)
        for row in rows:
            row.event = event
        attach_prefetched(event, name, rows)
    return event


def offers_holding_places(*, event_id: int, at: datetime | None = None) -> QuerySet:
    at = at or timezone.now()
    return WaitingListEntry.objects.filter(
        event_id=event_id, status=WaitingListEntry.Status.OFFERED, offer_expires_at__gt=at
    )


def places_taken(*, event_id: int, at: datetime | None = None) -> int:
    """Places taken on the event as a whole (tickets holding a place plus open offers)."""
    return (
        tickets_holding_places(event_id=event_id).count()
        + offers_holding_places(event_id=event_id, at=at).count()
    )


def places_taken_per_ticket_type(*, event_id: int, at: datetime | None = None) -> dict[int, int]:
    """{ticket_type_id: places taken}; ticket types with nothing taken are absent. The values
    add up to ``places_taken``.

    The booking path runs this while holding the event lock, so it is one statement written
    out once: the same two conditions as ``tickets_holding_places`` and
    ``offers_holding_places`` (a test holds the two definitions equal), without building the
    ORM's UNION ALL for every booking, which was an eighth of a booking request's CPU."""
    at = at or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _places_taken_sql(),
            [
                event_id,
                *Ticket.HOLDS_PLACE,
                event_id,
                WaitingListEntry.Status.OFFERED,
                connection.ops.adapt_datetimefield_value(at),
            ],
        )
        taken: dict[int, int] = {}
        for ticket_type_id, n in cursor.fetchall():
            taken[ticket_type_id] = taken.get(ticket_type_id, 0) + n
    return taken


@functools.cache
def _places_taken_sql() -> str:
    qn = connection.ops.quote_name
    statuses = ", ".join(["%s"] * len(Ticket.HOLDS_PLACE))
    # Only table names from the models and placeholders go into the text; values are params.
    tickets, offers = qn(Ticket._meta.db_table), qn(WaitingListEntry._meta.db_table)
    return (
        f"SELECT ticket_type_id, COUNT(*) FROM {tickets}"  # noqa: S608
        f" WHERE event_id = %s AND status IN ({statuses}) GROUP BY ticket_type_id"
        f" UNION ALL SELECT ticket_type_id, COUNT(*) FROM {offers}"
        " WHERE event_id = %s AND status = %s AND offer_expires_at > %s GROUP BY ticket_type_id"
    )


def event_places_taken_subquery() -> Coalesce:
    """An expression for ``Event`` querysets: places taken, for annotating lists of events."""

    def _count(qs):
        return Coalesce(
            Subquery(
                qs.order_by().values("event_id").annotate(n=Count("id")).values("n")[:1],
            ),
            Value(0),
        )

    tickets = Ticket.objects.filter(event_id=OuterRef("pk"), status__in=Ticket.HOLDS_PLACE)
    offers = WaitingListEntry.objects.filter(
        event_id=OuterRef("pk"),
        status=WaitingListEntry.Status.OFFERED,
        offer_expires_at__gt=timezone.now(),
    )
    return _count(tickets) + _count(offers)


@dataclass(frozen=True)
class TicketTypeAvailability:
    ticket_type: TicketType
    taken: int
    # None: no limit of its own and the event has none either.
    places_left: int | None

    @property
    def sold_out(self) -> bool:
        return self.places_left == 0


@dataclass(frozen=True)
class EventAvailability:
    event: Event
    capacity: int | None
    taken: int
    places_left: int | None
    waiting: int
    ticket_types: list[TicketTypeAvailability]

    @property
    def sold_out(self) -> bool:
        return self.places_left == 0


def event_availability_get(*, event: Event) -> EventAvailability:
    """Places left for the event and each active ticket type, and the waiting-list length.

    A ticket type's places left is the smaller of its own remaining capacity and the event's.
    A snapshot for display only: bookings re-check under the event lock.
    """
    now = timezone.now()
    taken = places_taken(event_id=event.pk, at=now)
    per_type = places_taken_per_ticket_type(event_id=event.pk, at=now)
    left = None if event.capacity is None else max(event.capacity - taken, 0)
    types = []
    for tt in TicketType.objects.filter(event=event, is_active=True).order_by("position", "name"):
        tt_taken = per_type.get(tt.pk, 0)
        tt_left = None if tt.capacity is None else max(tt.capacity - tt_taken, 0)
        if left is not None:
            tt_left = left if tt_left is None else min(tt_left, left)
        types.append(TicketTypeAvailability(ticket_type=tt, taken=tt_taken, places_left=tt_left))
    waiting = WaitingListEntry.objects.filter(
        event=event, status=WaitingListEntry.Status.WAITING
    ).count()
    return EventAvailability(
        event=event,
        capacity=event.capacity,
        taken=taken,
        places_left=left,
        waiting=waiting,
        ticket_types=types,
    )


def waitlist_position_get(*, entry: WaitingListEntry) -> int | None:
    """1-based place in the queue for a waiting entry; None when it is no longer waiting."""
    if entry.status != WaitingListEntry.Status.WAITING:
        return None
    ahead = WaitingListEntry.objects.filter(
        event_id=entry.event_id, status=WaitingListEntry.Status.WAITING
    ).filter(Q(created_at__lt=entry.created_at) | Q(created_at=entry.created_at, id__lt=entry.pk))
    return ahead.count() + 1


def waitlist_list(*, event: Event, status: str | None = None) -> QuerySet[WaitingListEntry]:
    qs = WaitingListEntry.objects.filter(event=event).select_related("person", "ticket_type")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("created_at", "id")


def registration_list_for_organisation(
    *, organisation: Organisation, event: Event | None = None, active_only: bool = False
) -> QuerySet[Registration]:
    """Bookings of one organisation (never another's), newest first, with ticket counts."""
    qs = Registration.objects.filter(organisation=organisation)
    if event is not None:
        qs = qs.filter(event=event)
    if active_only:
        qs = qs.filter(status__in=ACTIVE_REGISTRATION_STATUSES)
    return (
        qs.select_related("event", "booker")
        .annotate(active_tickets=Count("tickets", filter=Q(tickets__status__in=Ticket.HOLDS_PLACE)))
        .order_by("-created_at", "-id")
    )


def ticket_list_for_organisation(
    *, organisation: Organisation, event: Event | None = None, active_only: bool = True
) -> QuerySet[Ticket]:
    """Tickets on bookings of one organisation, by event and attendee name."""
    qs = Ticket.objects.filter(registration__organisation=organisation)
    if event is not None:
        qs = qs.filter(event=event)
    if active_only:
        qs = qs.filter(status__in=Ticket.HOLDS_PLACE)
    return qs.select_related("event", "ticket_type", "person", "registration").order_by(
        "event__starts_at", "person__name", "id"
    )


def ticket_list_for_registration(*, registration: Registration) -> QuerySet[Ticket]:
    return (
        Ticket.objects.filter(registration=registration)
        .select_related("ticket_type", "person")
        .prefetch_related("answers__question")
        .order_by("id")
    )


def ticket_list_for_event(*, event: Event, active_only: bool = True) -> QuerySet[Ticket]:
    """Attendee list of an event (check-in, exports)."""
    qs = Ticket.objects.filter(event=event)
    if active_only:
        qs = qs.filter(status__in=Ticket.HOLDS_PLACE)
    return qs.select_related("ticket_type", "person", "registration__organisation").order_by(
        "person__name", "id"
    )


def participation_list_for_organisation(
    *, organisation: Organisation
) -> QuerySet[CampaignParticipation]:
    return (
        CampaignParticipation.objects.filter(organisation=organisation)
        .select_related("event", "contact")
        .order_by("-event__starts_at", "-id")
    )


def participation_list_public(*, event: Event) -> QuerySet[CampaignParticipation]:
    """Participants of a campaign week that consented to being listed publicly."""
    return (
        CampaignParticipation.objects.filter(event=event, organisation__listed_publicly=True)
        .exclude(status=CampaignParticipation.Status.CANCELLED)
        .select_related("organisation", "organisation__region")
        .order_by("organisation__name")
    )
