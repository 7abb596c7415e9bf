"""Reads of events shared by pages, the API and exports."""

from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from participants.selectors import event_places_taken_subquery, places_taken

from .models import Event


def public_event_list() -> QuerySet[Event]:
    """Every event the public may see, on any route: the event page, its .ics download, the
    public calendar feeds, the listings, the booking pages, the public API, the press page.

    An event is public if and only if it was published as a public event: its kind is not
    private (Event.PRIVATE_KINDS, never visible in any status) and it is published now, or
    cancelled after having been published (shown as cancelled). A draft, and a draft that was
    cancelled, is never shown. Personal signed-link pages (a school's own session, a ticket's
    calendar file) do not come through here: the link itself is the right to see them.
    """
    return Event.objects.exclude(kind__in=Event.PRIVATE_KINDS).filter(
        Q(status=Event.Status.PUBLISHED)
        | Q(status=Event.Status.CANCELLED, published_at__isnull=False)
    )


def event_list_upcoming(
    *, campaign_slug: str | None = None, kind: str | None = None
) -> QuerySet[Event]:
    """Public, published events that have not ended yet, soonest first, with places taken
    annotated."""
    qs = (
        public_event_list()
        .filter(status=Event.Status.PUBLISHED, ends_at__gte=timezone.now())
        .select_related("campaign")
        # One definition of "taken" (tickets holding a place + open waiting-list offers).
        .annotate(places_taken=event_places_taken_subquery())
        # NULL capacity (no limit) stays NULL: templates show no count then.
        .annotate(places_left=Greatest(F("capacity") - F("places_taken"), Value(0)))
        .order_by("starts_at", "id")
    )
    if campaign_slug:
        qs = qs.filter(campaign__slug=campaign_slug)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def event_places_left(*, event: Event) -> int | None:
    """Places still free for the event as a whole; None when the event has no limit."""
    if event.capacity is None:
        return None
    taken = places_taken(event_id=event.pk)
    return max(event.capacity - taken, 0)
