"""Which events the public sees: one rule (events.selectors.public_event_list) on every route.

An event is public if and only if it was published as a public event: its kind is not a
private one (school sessions carry the school's address, the pupils' level and number and the
ambassador's name; intervision meetings are closed groups) and it is published, or cancelled
after having been published (then shown as cancelled). A draft, a draft that was cancelled, and
any event of a private kind in any status is never shown: not on its page, its .ics, the
booking pages, the feeds, the listings, the public API or the press page.

The sweep takes every kind and every status from the model's choices, reaches each status by
the roads that lead there (cancelled straight from draft, or after publication), and looks at
every public route; no private detail of a hidden event may appear in any response.
"""

from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from icalendar import Calendar

from communications.feeds import organisation_feed_url
from events.models import Event
from events.services import event_cancel
from press.models import MediaMoment
from schools import links as school_links
from schools import services as school_services
from schools.models import SchoolSession
from tests.factories import (
    CampaignFactory,
    EventFactory,
    OrganisationFactory,
    RegistrationFactory,
    TicketFactory,
    TicketTypeFactory,
    UserFactory,
)
from tests.schools.conftest import AmbassadorFactory, make_request

pytestmark = pytest.mark.django_db

# Written out here rather than read from the model, so the test notices a kind that changes
# sides. Every kind must be classified (test_every_kind_is_classified).
PRIVATE_KINDS = {"school_session", "intervision"}
# Routes that show one event by its slug; the guard below finds every such route in the URLconf.
SLUG_ROUTES = {
    "events:detail",
    "feeds:event_calendar",
    "participants:booking_create",
    "participants:waitlist_join",
    "participants:participation_create",
    "participants:participation_list",
}
CAMPAIGN_WEEK_ONLY = {"participants:participation_create", "participants:participation_list"}


def _histories():
    """(status, was it ever published) for every status of the model: each way to get there."""
    for status in Event.Status.values:
        for was_published in (False, True):
            if status == Event.Status.PUBLISHED and not was_published:
                continue
            yield status, was_published


def _expected_public(kind: str, status: str, was_published: bool) -> bool:
    return (
        kind not in PRIVATE_KINDS
        and was_published
        and status in (Event.Status.PUBLISHED, Event.Status.CANCELLED)
    )


def _patterns(resolver, prefix="", namespace=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}" if entry.namespace else namespace
            yield from _patterns(entry, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}".lstrip(":")
            yield name, prefix + str(entry.pattern)


def test_every_slug_route_of_an_event_is_in_the_sweep():
    """Guard: a new public route showing an event by its slug must join SLUG_ROUTES."""
    found = {name for name, route in _patterns(get_resolver()) if "events/<slug:slug>" in route}
    assert found == SLUG_ROUTES


def test_every_kind_is_classified():
    assert set(Event.Kind.values) > PRIVATE_KINDS
    assert set(Event.PRIVATE_KINDS) == PRIVATE_KINDS


def _build(campaign, organisation, kind: str, status: str, was_published: bool, n: int):
    marker = f"GEHEIM{n:03d}X"
    start = timezone.now() + timedelta(days=10 + n)
    event = EventFactory(
        campaign=campaign,
        kind=kind,
        status=Event.Status.DRAFT,
        slug=f"zichtbaarheid-{n}",
        title=f"Sessie {marker}",
        description=f"Voor 27 leerlingen (vmbo-t) door ambassadeur Joke {marker}.",
        venue_name=f"Scholengemeenschap {marker}",
        venue_address=f"Geheimstraat {marker}, 1234 AB Ergens",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        capacity=27,
    )
    TicketTypeFactory(event=event, name="Standaard")
    if was_published:
        event.status = Event.Status.PUBLISHED
        event.save()
    if status == Event.Status.CANCELLED:
        event_cancel(event=event)
    elif status != event.status:
        event.status = status
        event.save()
    event.refresh_from_db()
    assert event.status == status
    if kind == Event.Kind.MEDIA_MOMENT:
        MediaMoment.objects.create(event=event, sub_kind=MediaMoment.SubKind.PRESS_CONFERENCE)
    # Someone of the organisation holds a ticket: the organisation's feed considers it.
    TicketFactory(registration=RegistrationFactory(event=event, organisation=organisation))
    return event, marker


def test_every_kind_and_status_on_every_public_route(client, settings):
    settings.RATELIMIT_ENABLED = False
    campaign = CampaignFactory(slug="zichtbaarheid", name="Zichtbaarheid")
    organisation = OrganisationFactory()
    world = []
    for kind in Event.Kind.values:
        for status, was_published in _histories():
            event, marker = _build(campaign, organisation, kind, status, was_published, len(world))
            world.append((event, marker, _expected_public(kind, status, was_published)))
    assert any(public for *_rest, public in world) and not all(pub for *_r, pub in world)

    bodies: list[tuple[str, str]] = []

    def get(url: str, **kwargs):
        response = client.get(url, **kwargs)
        assert response.status_code < 500, url
        bodies.append((url, response.content.decode()))
        return response

    # One event at a time: its page, .ics, booking, waiting-list, sign-up pages, API detail.
    for event, _marker, public in world:
        for name in sorted(SLUG_ROUTES):
            url = reverse(name, kwargs={"slug": event.slug})
            shown = public and (
                name not in CAMPAIGN_WEEK_ONLY or event.kind == Event.Kind.CAMPAIGN_WEEK
            )
            response = get(url)
            assert (response.status_code != 404) == shown, (url, event.kind, event.status)
            if shown:
                assert response.status_code == 200, url
        if public:
            vevents = Calendar.from_ical(get(f"/events/{event.slug}/calendar.ics").content).walk(
                "VEVENT"
            )
            cancelled = event.status == Event.Status.CANCELLED
            assert (str(vevents[0].get("STATUS")) == "CANCELLED") == cancelled
        detail = get(f"/api/v1/events/{event.pk}/")
        # The API offers what can be booked: public and published.
        api_shown = public and event.status == Event.Status.PUBLISHED
        assert (detail.status_code == 200) == api_shown, (event.kind, event.status)
        if not api_shown:
            assert detail.status_code == 404

    # Lists and feeds: who is in them.
    def titles_in(body: str) -> set[str]:
        return {marker for _e, marker, _p in world if marker in body}

    public_now = {m for e, m, p in world if p and e.status == Event.Status.PUBLISHED}
    public_all = {m for _e, m, p in world if p}
    listed = set()
    for kind in Event.Kind.values:
        listed |= titles_in(get(reverse("events:list"), data={"kind": kind}).content.decode())
        api = get("/api/v1/events/", data={"kind": kind, "page_size": 100}).content.decode()
        assert titles_in(api) == {m for e, m, p in world if m in public_now and e.kind == kind}
    assert listed == public_now
    campaign_page = get(reverse("events:campaign_detail", kwargs={"slug": campaign.slug}))
    assert titles_in(campaign_page.content.decode()) == public_now
    get(reverse("home"))
    # Feeds keep a public event that was cancelled (as cancelled) and nothing else.
    campaign_feed = get(f"/calendar/campaigns/{campaign.slug}.ics")
    assert titles_in(campaign_feed.content.decode()) == public_all
    org_feed = get(organisation_feed_url(organisation).replace("http://127.0.0.1:8000", ""))
    assert titles_in(org_feed.content.decode()) == public_all
    press = get(reverse("press:page"))
    assert titles_in(press.content.decode()) == {
        m for e, m, p in world if p and e.kind == Event.Kind.MEDIA_MOMENT
    }

    # No private detail of a hidden event in any response, on any route.
    hidden = [(e, m) for e, m, p in world if not p]
    for url, body in bodies:
        for event, marker in hidden:
            assert marker not in body, (url, event.kind, event.status)


def test_cancelled_school_session_stays_private_and_its_signed_link_still_works(client):
    """The reported road: plan a school session (a draft event), cancel it. Before and after,
    its page, .ics and the campaign feed show nothing of it; the school contact's signed link
    shows their own planned session."""
    ambassador = AmbassadorFactory(person__name="Joke Ambassadeur")
    school_request = make_request(pupils=27)
    session = school_services.school_session_assign(
        request=school_request,
        ambassador=ambassador,
        slot=school_request.slots.first(),
        user=UserFactory(is_staff=True),
    )
    event = session.event
    address = event.venue_address
    assert address and "Joke Ambassadeur" in event.description
    private = [address, "Joke Ambassadeur", event.title, event.venue_name]

    signed = reverse(
        "schools:request_manage", kwargs={"token": school_links.request_token(school_request)}
    )
    own_page = client.get(signed)
    assert own_page.status_code == 200 and "Joke Ambassadeur" in own_page.content.decode()

    def public_responses():
        return [
            client.get(reverse("events:detail", kwargs={"slug": event.slug})),
            client.get(f"/events/{event.slug}/calendar.ics"),
            client.get(reverse("participants:booking_create", kwargs={"slug": event.slug})),
            client.get(f"/api/v1/events/{event.pk}/"),
        ], [
            client.get(f"/calendar/campaigns/{event.campaign.slug}.ics"),
            client.get(reverse("events:campaign_detail", kwargs={"slug": event.campaign.slug})),
            client.get(reverse("events:list")),
            client.get("/api/v1/events/"),
        ]

    for moment in ("planned", "cancelled"):
        if moment == "cancelled":
            school_services.school_session_cancel(session=session)
            event.refresh_from_db()
            assert event.status == Event.Status.CANCELLED
        pages, lists = public_responses()
        assert [r.status_code for r in pages] == [404, 404, 404, 404], moment
        for response in pages + lists:
            body = response.content.decode()
            assert not any(value in body for value in private), (moment, response)
    # The signed link keeps working; the cancelled session is no longer offered on it.
    assert client.get(signed).status_code == 200
    assert SchoolSession.objects.get(pk=session.pk).status == SchoolSession.Status.CANCELLED


def test_control_a_selector_without_the_rule_leaks_the_cancelled_draft(client, monkeypatch):
    """Control: with the old rule (status published or cancelled) put back into the one
    selector, a cancelled draft shows up on its page again, so the sweep above can fail."""
    from events import selectors

    event = EventFactory(status=Event.Status.DRAFT, kind=Event.Kind.SCHOOL_SESSION)
    event_cancel(event=event)
    url = reverse("events:detail", kwargs={"slug": event.slug})
    assert client.get(url).status_code == 404
    monkeypatch.setattr(
        selectors,
        "public_event_list",
        lambda: Event.objects.filter(status__in=[Event.Status.PUBLISHED, Event.Status.CANCELLED]),
    )
    monkeypatch.setattr("events.views.public_event_list", selectors.public_event_list)
    assert client.get(url).status_code == 200
