"""Public event and campaign pages. Reads come from the selectors; nothing here writes."""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from participants.selectors import event_availability_get

from .models import Campaign, Event
from .selectors import event_list_upcoming, public_event_list

EVENTS_PER_PAGE = 24


def _kind_or_none(value: str | None) -> str | None:
    return value if value in Event.Kind.values else None


@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    campaign = request.GET.get("campaign") or None
    kind = _kind_or_none(request.GET.get("kind"))
    page = Paginator(event_list_upcoming(campaign_slug=campaign, kind=kind), EVENTS_PER_PAGE)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "events/event_list.html",
        {
            "page": page.get_page(request.GET.get("page")),
            "campaigns": Campaign.objects.filter(is_active=True),
            "kinds": Event.Kind.choices,
            "selected_campaign": campaign,
            "selected_kind": kind,
            "query": query.urlencode(),
        },
    )


@require_GET
def event_detail(request: HttpRequest, slug: str) -> HttpResponse:
    event = get_object_or_404(public_event_list().select_related("campaign"), slug=slug)
    availability = event_availability_get(event=event)
    opens = event.registration_opens_at
    return render(
        request,
        "events/event_detail.html",
        {
            "event": event,
            "availability": availability,
            "places_left": availability.places_left,
            "registration_open": event.registration_is_open(),
            "opens_later": bool(
                event.status == Event.Status.PUBLISHED and opens and opens > timezone.now()
            ),
            "some_type_full": any(row.sold_out for row in availability.ticket_types),
        },
    )


@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "events/campaign_list.html",
        {"campaigns": Campaign.objects.filter(is_active=True).order_by("name")},
    )


@require_GET
def campaign_detail(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = get_object_or_404(Campaign, slug=slug, is_active=True)
    kind = _kind_or_none(request.GET.get("kind"))
    events = list(event_list_upcoming(campaign_slug=campaign.slug, kind=kind))
    # Grouped by kind so a visitor finds "the congress" or "the campaign week" at a glance.
    groups = []
    labels = dict(Event.Kind.choices)
    for value in Event.Kind.values:
        items = [e for e in events if e.kind == value]
        if items:
            groups.append({"kind": value, "label": labels[value], "events": items})
    return render(
        request,
        "events/campaign_detail.html",
        {
            "campaign": campaign,
            "groups": groups,
            "kinds": Event.Kind.choices,
            "selected_kind": kind,
        },
    )
