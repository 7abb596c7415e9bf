"""Reads of events shared by pages, the API and exports."""

from django.db.models import F, QuerySet, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from participants.selectors import event_places_taken_subquery, places_taken

from .models import Event


def event_list_upcoming(
    *, campaign_slug: str | None = None, kind: str | None = None
) -> QuerySet[Event]:
    """Published events that have not ended yet, soonest first, with places taken annotated."""
    qs = (
        Event.objects.filter(status=Event.Status.PUBLISHED, ends_at__gte=timezone.now())
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
