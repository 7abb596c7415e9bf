"""Calendar downloads and subscribable feeds (.ics).

- /events/<slug>/calendar.ics: one public event.
- /calendar/campaigns/<slug>.ics: a campaign's public events.
- /calendar/organisations/<token>.ics: public events an organisation's people hold valid
  tickets for; the token is a signature over the organisation id, so the URL is unguessable and
  can be handed to a calendar app (which cannot log in). Get it with `organisation_feed_url`.

"Public" is events.selectors.public_event_list, the one rule every public page also uses.
"""

from django.conf import settings
from django.core import signing
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from events.models import Campaign, Event
from events.selectors import public_event_list
from participants.models import Ticket

from .documents import event_ics

FEED_SALT = "communications.organisation_feed"


def organisation_feed_token(organisation) -> str:
    return signing.dumps(organisation.pk, salt=FEED_SALT, compress=False)


def organisation_feed_url(organisation) -> str:
    """Absolute, secret subscription URL; show it only to the organisation's members."""
    token = organisation_feed_token(organisation)
    return settings.SITE_URL + reverse("feeds:organisation_feed", kwargs={"token": token})


def campaign_feed_url(campaign: Campaign) -> str:
    return settings.SITE_URL + reverse("feeds:campaign_feed", kwargs={"slug": campaign.slug})


def event_calendar_url(event: Event) -> str:
    return settings.SITE_URL + reverse("feeds:event_calendar", kwargs={"slug": event.slug})


def organisation_feed_events(organisation_id: int):
    """Events someone of the organisation holds a valid ticket for (booked by it or a member)."""
    tickets = Ticket.objects.filter(status=Ticket.Status.VALID).filter(
        Q(registration__organisation_id=organisation_id)
        | Q(person__organisation_id=organisation_id)
    )
    return public_event_list().filter(pk__in=tickets.values("event_id")).order_by("starts_at", "pk")


def _calendar_response(content: bytes, *, filename: str, download: bool) -> HttpResponse:
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    # Calendar apps poll feeds; a short private cache keeps them cheap without going stale.
    response["Cache-Control"] = "private, max-age=900"
    return response


@require_GET
def event_calendar(request: HttpRequest, slug: str) -> HttpResponse:
    event = get_object_or_404(public_event_list(), slug=slug)
    return _calendar_response(
        event_ics(events=[event], method="PUBLISH"), filename=f"{event.slug}.ics", download=True
    )


@require_GET
def campaign_feed(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = get_object_or_404(Campaign, slug=slug)
    events = public_event_list().filter(campaign=campaign).order_by("starts_at", "pk")
    content = event_ics(events=list(events), method="PUBLISH", name=campaign.name)
    return _calendar_response(content, filename=f"{campaign.slug}.ics", download=False)


@require_GET
def organisation_feed(request: HttpRequest, token: str) -> HttpResponse:
    from organisations.models import Organisation

    try:
        organisation_id = signing.loads(token, salt=FEED_SALT)
    except signing.BadSignature as exc:
        raise Http404 from exc
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is None:
        raise Http404
    content = event_ics(
        events=list(organisation_feed_events(organisation.pk)),
        method="PUBLISH",
        name=_("Events of %(organisation)s") % {"organisation": organisation.name},
    )
    return _calendar_response(content, filename="events.ics", download=False)
