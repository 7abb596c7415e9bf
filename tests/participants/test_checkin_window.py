"""The check-in window: from CHECKIN_OPENS_BEFORE_START_MINUTES before an event starts until
CHECKIN_CLOSES_AFTER_END_MINUTES after it ends, enforced once, in participants.checkin, so every
entry point refuses outside it.

Entry points: the service itself, the organiser's check-in page (typing, a USB scanner and the
camera's QR scan all post this page's form), the API and the Django admin's ticket action; the
admin's ticket form cannot set the time at all. For a corpus of events (winter, summer, across
midnight, around the switch to summer time) and window settings, each entry point is tried a
microsecond before the window opens (refused, with the opening time in Amsterdam time, nothing
written), at the opening edge and at the closing edge (accepted) and a microsecond after it
closes (refused, nothing written).
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from common.errors import RuleViolation
from participants.checkin import ticket_check_in
from participants.models import Ticket
from privacy.models import AuditEntry
from tests.factories import EventFactory, TicketFactory, UserFactory
from tests.privacy.test_audit_coverage import admin_post_data

pytestmark = pytest.mark.django_db
AMS = ZoneInfo("Europe/Amsterdam")
TICK = timedelta(microseconds=1)
MONTHS = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
]

# (starts, ends, minutes open before the start, minutes open after the end)
CASES = [
    pytest.param(
        datetime(2031, 3, 12, 10, 0, tzinfo=AMS),
        datetime(2031, 3, 12, 17, 0, tzinfo=AMS),
        120,
        0,
        id="winter-default",
    ),
    pytest.param(
        datetime(2031, 6, 20, 19, 30, tzinfo=AMS),
        datetime(2031, 6, 21, 1, 0, tzinfo=AMS),
        30,
        15,
        id="summer-past-midnight",
    ),
    pytest.param(
        # Summer time starts at 02:00 on 30 March 2031: the window opens in winter time.
        datetime(2031, 3, 30, 3, 30, tzinfo=AMS),
        datetime(2031, 3, 30, 5, 0, tzinfo=AMS),
        180,
        90,
        id="across-summer-time",
    ),
    pytest.param(
        datetime(2031, 11, 3, 9, 0, tzinfo=AMS),
        datetime(2031, 11, 7, 16, 0, tzinfo=AMS),
        0,
        1440,
        id="week-no-early-day-late",
    ),
]


def _dutch(moment: datetime) -> str:
    local = moment.astimezone(AMS)
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} {local:%H:%M}"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _service(ticket, user) -> tuple[bool, str]:
    try:
        ticket_check_in(secret=ticket.secret, event=ticket.event, user=user)
    except RuleViolation as exc:
        return False, str(exc.message)
    return True, ""


def _page(ticket, user) -> tuple[bool, str]:
    url = reverse("participants:event_checkin", kwargs={"event_id": ticket.event_id})
    response = _client(user).post(url, {"secret": ticket.secret})
    assert response.status_code in (200, 409), response.status_code
    return response.status_code == 200, response.content.decode()


def _api(ticket, user) -> tuple[bool, str]:
    response = _client(user).post(
        f"/api/v1/events/{ticket.event_id}/checkin/",
        {"secret": ticket.secret},
        content_type="application/json",
    )
    assert response.status_code in (200, 409), response.content
    if response.status_code == 409:
        assert response.json()["code"] in ("checkin_not_open", "checkin_closed")
        return False, response.json()["detail"]
    return True, ""


def _admin_action(ticket, user) -> tuple[bool, str]:
    response = _client(user).post(
        reverse("admin:participants_ticket_changelist"),
        {"action": "check_in", "_selected_action": [ticket.pk]},
        follow=True,
    )
    assert response.status_code == 200
    # The admin answers with messages on the change list; whether it worked is in the database.
    checked_in = Ticket.objects.get(pk=ticket.pk).checked_in_at is not None
    return checked_in, response.content.decode()


ENTRY_POINTS = {"service": _service, "page": _page, "api": _api, "admin": _admin_action}


@pytest.mark.parametrize(("starts", "ends", "before", "after"), CASES)
def test_every_entry_point_refuses_outside_the_window_and_accepts_on_its_edges(
    settings, starts, ends, before, after
):
    settings.CHECKIN_OPENS_BEFORE_START_MINUTES = before
    settings.CHECKIN_CLOSES_AFTER_END_MINUTES = after
    settings.RATELIMIT_ENABLED = False
    # Real minutes, not wall-clock ones: across the switch to summer time they differ (aware
    # arithmetic on one ZoneInfo would count wall-clock time), so count in UTC.
    opens = starts.astimezone(UTC) - timedelta(minutes=before)
    closes = ends.astimezone(UTC) + timedelta(minutes=after)
    event = EventFactory(starts_at=starts, ends_at=ends)
    # A check-in staff member of this event, and an administrator for the admin.
    staff = UserFactory(is_staff=True, is_superuser=True)
    moments = [
        (opens - TICK, False, f"Inchecken kan vanaf {_dutch(opens)}."),
        (opens, True, ""),
        (closes, True, ""),
        (closes + TICK, False, f"Inchecken voor dit evenement was mogelijk tot {_dutch(closes)}."),
    ]
    for name, entry in ENTRY_POINTS.items():
        for moment, accepted, message in moments:
            ticket = TicketFactory(registration__event=event)
            audited = AuditEntry.objects.filter(action="ticket.check_in").count()
            with freeze_time(moment):
                ok, text = entry(Ticket.objects.get(pk=ticket.pk), staff)
            ticket.refresh_from_db()
            label = (name, moment.astimezone(AMS).isoformat())
            assert ok == accepted, label
            if accepted:
                assert ticket.checked_in_at == moment, label
                assert AuditEntry.objects.filter(action="ticket.check_in").count() == audited + 1
            else:
                assert message in text, (label, text[:2000])
                # Nothing written: no time, no audit entry.
                assert ticket.checked_in_at is None, label
                assert AuditEntry.objects.filter(action="ticket.check_in").count() == audited


def test_window_defaults_are_two_hours_before_until_the_end():
    from config.settings import base

    assert (base.CHECKIN_OPENS_BEFORE_START_MINUTES, base.CHECKIN_CLOSES_AFTER_END_MINUTES) == (
        120,
        0,
    )


def test_the_reported_case_december_check_in_for_a_march_event_is_refused(organiser):
    event = EventFactory(
        starts_at=datetime(2031, 3, 12, 10, 0, tzinfo=AMS),
        ends_at=datetime(2031, 3, 12, 17, 0, tzinfo=AMS),
    )
    ticket = TicketFactory(registration__event=event)
    december = datetime(2030, 12, 15, 14, 0, tzinfo=AMS)
    with freeze_time(december), pytest.raises(RuleViolation) as info:
        ticket_check_in(secret=ticket.secret, event=event, user=organiser)
    assert info.value.code == "checkin_not_open"
    assert str(info.value.message) == "Inchecken kan vanaf 12 maart 2031 08:00."
    ticket.refresh_from_db()
    assert ticket.checked_in_at is None


def test_the_admin_ticket_form_cannot_set_the_check_in_time(organiser_client):
    """The time is read-only in the admin: posting one, inside or outside the window, writes
    nothing (the action above is the admin's way to check in)."""
    starts = datetime(2031, 3, 12, 10, 0, tzinfo=AMS)
    ticket = TicketFactory(
        registration__event=EventFactory(starts_at=starts, ends_at=starts + timedelta(hours=7))
    )
    url = reverse("admin:participants_ticket_change", args=[ticket.pk])
    page = organiser_client.get(url)
    assert "checked_in_at" not in page.context["adminform"].form.fields
    for typed in ("2030-12-15", "2031-03-12"):
        data = admin_post_data(
            organiser_client, url, checked_in_at_0=typed, checked_in_at_1="10:00:00"
        )
        response = organiser_client.post(url, data)
        assert response.status_code == 302
        ticket.refresh_from_db()
        assert ticket.checked_in_at is None


def test_the_check_in_page_shows_the_window(organiser_client, settings):
    settings.CHECKIN_OPENS_BEFORE_START_MINUTES = 45
    settings.CHECKIN_CLOSES_AFTER_END_MINUTES = 30
    event = EventFactory(
        starts_at=datetime(2031, 6, 20, 19, 30, tzinfo=AMS),
        ends_at=datetime(2031, 6, 20, 22, 0, tzinfo=AMS),
    )
    page = organiser_client.get(reverse("participants:event_checkin", args=[event.pk]))
    assert "Inchecken kan van 20 juni 2031 18:45 tot 20 juni 2031 22:30." in page.content.decode()
