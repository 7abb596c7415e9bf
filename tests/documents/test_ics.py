"""Calendar files: parsed with icalendar; feeds checked for who sees which events."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from communications.documents import event_ics, ticket_ics
from communications.feeds import (
    campaign_feed_url,
    event_calendar_url,
    organisation_feed_token,
    organisation_feed_url,
)
from events.models import Event
from events.services import event_cancel
from participants.models import Ticket
from tests.factories import (
    CampaignFactory,
    EventFactory,
    OrganisationFactory,
    PersonFactory,
    RegistrationFactory,
    TicketFactory,
)

pytestmark = pytest.mark.django_db
AMS = ZoneInfo("Europe/Amsterdam")


def _events(content: bytes) -> list:
    return [c for c in Calendar.from_ical(content).walk("VEVENT")]


def _event(**kwargs):
    defaults = {
        "starts_at": datetime(2030, 6, 3, 13, 0, tzinfo=AMS),  # summer time: UTC+2
        "ends_at": datetime(2030, 6, 3, 17, 0, tzinfo=AMS),
    }
    return EventFactory(**{**defaults, **kwargs})


def test_invite_is_valid_itip_request_in_amsterdam_time(settings):
    settings.SITE_URL = "https://events.werkstress.example.nl"
    ticket = TicketFactory(registration__event=_event(revision=3), person__name="Jan Jansen")
    cal = Calendar.from_ical(ticket_ics(ticket=ticket, method="REQUEST"))
    assert cal["METHOD"] == "REQUEST"
    assert cal["VERSION"] == "2.0" and cal["PRODID"]
    timezones = [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")]
    assert timezones == ["Europe/Amsterdam"]
    (vevent,) = cal.walk("VEVENT")
    assert str(vevent["UID"]) == f"event-{ticket.event_id}@events.werkstress.example.nl"
    assert vevent["SEQUENCE"] == 3
    start = vevent.decoded("DTSTART")
    assert vevent["DTSTART"].params["TZID"] == "Europe/Amsterdam"
    assert start == datetime(2030, 6, 3, 13, 0, tzinfo=AMS)
    assert start.utcoffset().total_seconds() == 7200
    assert vevent.decoded("DTSTAMP").tzinfo is not None
    assert str(vevent["ORGANIZER"]) == f"mailto:{settings.ORGANISER_EMAIL}"
    assert str(vevent["ATTENDEE"]) == f"mailto:{ticket.person.email}"
    assert vevent["ATTENDEE"].params["CN"] == "Jan Jansen"
    assert str(vevent["STATUS"]) == "CONFIRMED"
    assert "Jaarbeurs" in str(vevent["LOCATION"])


def test_uid_stable_across_revisions_and_sequence_follows_revision():
    ticket = TicketFactory(registration__event=_event())
    first = _events(ticket_ics(ticket=ticket, method="REQUEST"))[0]
    Event.objects.filter(pk=ticket.event_id).update(revision=1, venue_name="Beurs van Berlage")
    ticket.refresh_from_db()
    ticket.event.refresh_from_db()
    second = _events(ticket_ics(ticket=ticket, method="REQUEST"))[0]
    assert str(first["UID"]) == str(second["UID"])
    assert (first["SEQUENCE"], second["SEQUENCE"]) == (0, 1)
    assert "Beurs van Berlage" in str(second["LOCATION"])


def test_cancel_invite_and_cancelled_event():
    ticket = TicketFactory(registration__event=_event(revision=2))
    cal = Calendar.from_ical(ticket_ics(ticket=ticket, method="CANCEL"))
    assert cal["METHOD"] == "CANCEL"
    (vevent,) = cal.walk("VEVENT")
    assert str(vevent["STATUS"]) == "CANCELLED"
    assert vevent["SEQUENCE"] == 2

    event = _event(status=Event.Status.CANCELLED)
    (published,) = _events(event_ics(events=[event], method="PUBLISH"))
    assert str(published["STATUS"]) == "CANCELLED"


def test_event_download(client):
    event = _event()
    response = client.get(event_calendar_url(event).replace("http://127.0.0.1:8000", ""))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.content)
    assert cal["METHOD"] == "PUBLISH"
    assert [str(e["SUMMARY"]) for e in cal.walk("VEVENT")] == [event.title]
    draft = _event(status=Event.Status.DRAFT)
    assert client.get(f"/events/{draft.slug}/calendar.ics").status_code == 404


def test_campaign_feed_lists_its_published_events_only(client):
    campaign = CampaignFactory()
    published = _event(campaign=campaign, title="Open dag")
    cancelled = _event(campaign=campaign, title="Afgelast")
    event_cancel(event=cancelled)  # published first: it stays in the feed, as cancelled
    _event(campaign=campaign, title="Concept", status=Event.Status.DRAFT)
    # Never published: cancelling it does not make it public (the sweep over every kind and
    # status: tests/pages/test_event_visibility.py).
    event_cancel(event=_event(campaign=campaign, title="Concept afgelast", status="draft"))
    _event(title="Andere campagne")
    response = client.get(campaign_feed_url(campaign).replace("http://127.0.0.1:8000", ""))
    assert response.status_code == 200
    titles = {str(e["SUMMARY"]) for e in _events(response.content)}
    assert titles == {published.title, cancelled.title}


def test_organisation_feed_shows_only_its_own_events(client):
    org_a, org_b = OrganisationFactory(), OrganisationFactory()
    booked_by_a = _event(title="Via boeking A")
    member_of_a = _event(title="Medewerker A")
    of_b = _event(title="Alleen B")
    cancelled_ticket = _event(title="Geannuleerd ticket A")
    TicketFactory(registration=RegistrationFactory(event=booked_by_a, organisation=org_a))
    TicketFactory(registration__event=member_of_a, person=PersonFactory(organisation=org_a))
    TicketFactory(registration=RegistrationFactory(event=of_b, organisation=org_b))
    TicketFactory(
        registration=RegistrationFactory(event=cancelled_ticket, organisation=org_a),
        status=Ticket.Status.CANCELLED,
    )
    url_a = organisation_feed_url(org_a).replace("http://127.0.0.1:8000", "")
    response = client.get(url_a)
    assert response.status_code == 200
    assert {str(e["SUMMARY"]) for e in _events(response.content)} == {
        "Via boeking A",
        "Medewerker A",
    }
    url_b = organisation_feed_url(org_b).replace("http://127.0.0.1:8000", "")
    assert {str(e["SUMMARY"]) for e in _events(client.get(url_b).content)} == {"Alleen B"}


def test_organisation_feed_tampered_or_forged_token_is_404(client):
    org_a, org_b = OrganisationFactory(), OrganisationFactory()
    token = organisation_feed_token(org_a)
    value, signature = token.rsplit(":", 1)
    forged = f"{org_b.pk}:{signature}"
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (forged, flipped, str(org_b.pk), "x"):
        assert client.get(f"/calendar/organisations/{bad}.ics").status_code == 404
