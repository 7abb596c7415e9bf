"""Dashboards with a known data set (tests/backoffice/conftest.py) show every figure right."""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backoffice import selectors

from .conftest import add_press, add_school_sessions

pytestmark = pytest.mark.django_db


def figures(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-figure="([a-z_]+)">([^<]*)<', html))


def test_campaign_dashboard_shows_every_figure(staff_client, dataset):
    add_school_sessions(dataset)
    add_press(dataset)
    response = staff_client.get(
        reverse("backoffice:campaign_dashboard", args=[dataset.campaign.pk])
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert figures(html) == {
        "bookings": "3",
        "waiting": "2",
        "offered": "1",
        "valid": "3",
        "checked_in": "2",
        "checkin_rate": "66,7%",
        "certificates_attendee": "1",
        "certificates_organisation": "1",
        "certificates_revoked": "1",
        "mail_sent": "3",
        "mail_retrying": "1",
        "mail_failed": "2",
        "mail_pending": "2",
        "schools_planned": "1",
        "schools_held": "2",
        "schools_cancelled": "0",
        "schools_pupils": "110",
        "press_invited": "3",
        "press_accepted": "1",
        "press_declined": "1",
        "press_open": "1",
        "press_accreditations": "1",
        "coverage_items": "2",
        "coverage_reach": "1750",
    }
    # The other campaign's event, mails and organisation never show.
    assert "Ander congres" not in html
    assert "Ander bedrijf" not in html


def _table(html: str, table_id: str) -> list[list[str]]:
    body = re.search(rf'<table class="table" id="{table_id}">(.*?)</table>', html, re.S).group(1)
    body = body.split("<tbody>")[1]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)
        ]
        for r in rows
    ]


def test_campaign_dashboard_tables(staff_client, dataset):
    html = staff_client.get(
        reverse("backoffice:campaign_dashboard", args=[dataset.campaign.pk])
    ).content.decode()
    # Amsterdam days: the booking at 23:30 UTC on 2 March counts on 3 March.
    assert _table(html, "bookings-table") == [
        ["2 maart 2030", "1", "1"],
        ["3 maart 2030", "1", "2"],
        ["4 maart 2030", "1", "3"],
    ]
    assert _table(html, "fill-events-table") == [
        ["Congres Werkdruk", "4", "10", "40,0%"],
        ["Campagneweek 2030", "0", "-", "-"],
    ]
    assert _table(html, "fill-types-table") == [
        ["Dagkaart", "Congres Werkdruk", "3", "4", "75,0%"],
        ["Middag", "Congres Werkdruk", "1", "-", "-"],
    ]
    assert _table(html, "regions-table") == [["Midden-Utrecht", "2"], ["Groningen", "1"]]
    assert _table(html, "sectors-table") == [["ICT", "2"], ["Zorg en welzijn", "1"]]


def test_charts_on_the_page_carry_the_table_values(staff_client, dataset):
    html = staff_client.get(
        reverse("backoffice:campaign_dashboard", args=[dataset.campaign.pk])
    ).content.decode()
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(svgs) == 5  # bookings, fill per event, per ticket type, regions, sectors
    for svg in svgs:
        assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    bars = dict(re.findall(r'<rect [^>]*data-label="([^"]+)" data-value="([^"]+)"', html))
    assert bars["Congres Werkdruk"] == "40.0"
    assert bars["Dagkaart (Congres Werkdruk)"] == "75.0"
    assert bars["Midden-Utrecht"] == "2"
    assert bars["Groningen"] == "1"
    assert bars["ICT"] == "2"
    points = re.findall(
        r'<circle class="point"[^>]*data-label="([^"]+)" data-value="([^"]+)"', html
    )
    # The line is the running total.
    assert points == [("02-03", "1"), ("03-03", "2"), ("04-03", "3")]


def test_event_dashboard_counts_only_that_event(staff_client, dataset):
    html = staff_client.get(
        reverse("backoffice:event_dashboard", args=[dataset.congress.pk])
    ).content.decode()
    got = figures(html)
    assert (got["bookings"], got["valid"], got["checked_in"], got["mail_sent"]) == (
        "3",
        "3",
        "2",
        "3",
    )
    assert got["certificates_organisation"] == "0"  # issued on the campaign week, not here
    assert _table(html, "regions-table") == [["Midden-Utrecht", "2"]]  # org1 and org4 booked
    # Links to this event's other organiser pages.
    for name in ("participants:event_checkin", "payments:event_payments"):
        assert reverse(name, kwargs={"event_id": dataset.congress.pk}) in html


def test_each_figure_is_one_query(dataset, django_assert_max_num_queries):
    events = selectors.events_of_campaign(campaign=dataset.campaign)
    for figure in (
        selectors.bookings_per_day,
        selectors.fill_per_event,
        selectors.fill_per_ticket_type,
        selectors.waiting_list_figures,
        selectors.checkin_figures,
        selectors.certificate_figures,
        selectors.mail_figures,
        selectors.organisations_by_region,
        selectors.organisations_by_sector,
        selectors.school_figures,
        selectors.press_response_figures,
        selectors.coverage_figures,
    ):
        with CaptureQueriesContext(connection) as queries:
            figure(events=events)
        assert len(queries) == 1, figure.__name__


def test_dashboard_query_count_does_not_grow_with_rows(staff_client, dataset):
    url = reverse("backoffice:campaign_dashboard", args=[dataset.campaign.pk])
    staff_client.get(url)
    with CaptureQueriesContext(connection) as before:
        staff_client.get(url)
    from tests.factories import TicketFactory

    for _ in range(5):
        TicketFactory(registration__event=dataset.congress, ticket_type=dataset.ticket_a)
    with CaptureQueriesContext(connection) as after:
        staff_client.get(url)
    assert len(after) == len(before)


def test_bookings_per_day_in_amsterdam_time(dataset):
    rows = selectors.bookings_per_day(events=selectors.events_of_event(event=dataset.congress))
    assert rows == [(date(2030, 3, 2), 1), (date(2030, 3, 3), 1), (date(2030, 3, 4), 1)]


def test_empty_dashboard_renders(staff_client, db):
    from tests.factories import CampaignFactory

    campaign = CampaignFactory()
    response = staff_client.get(reverse("backoffice:campaign_dashboard", args=[campaign.pk]))
    assert response.status_code == 200
    assert figures(response.content.decode())["checkin_rate"] == "-"


ZERO = {
    "bookings": "0",
    "waiting": "0",
    "offered": "0",
    "valid": "0",
    "checked_in": "0",
    "checkin_rate": "-",
    "certificates_attendee": "0",
    "certificates_organisation": "0",
    "certificates_revoked": "0",
    "mail_sent": "0",
    "mail_retrying": "0",
    "mail_failed": "0",
    "mail_pending": "0",
    "schools_planned": "0",
    "schools_held": "0",
    "schools_cancelled": "0",
    "schools_pupils": "0",
    "press_invited": "0",
    "press_accepted": "0",
    "press_declined": "0",
    "press_open": "0",
    "press_accreditations": "0",
    "coverage_items": "0",
    "coverage_reach": "0",
}


def test_each_event_dashboard_shows_every_figure_of_that_event(staff_client, dataset):
    """The known data set per event: the campaign's figures split over its events."""
    sessions = add_school_sessions(dataset)
    invitations = add_press(dataset)

    def event_figures(event):
        url = reverse("backoffice:event_dashboard", args=[event.pk])
        return figures(staff_client.get(url).content.decode())

    assert event_figures(dataset.congress) == {
        **ZERO,
        "bookings": "3",
        "waiting": "2",
        "offered": "1",
        "valid": "3",
        "checked_in": "2",
        "checkin_rate": "66,7%",
        "certificates_attendee": "1",
        "certificates_revoked": "1",
        "mail_sent": "3",
        "mail_retrying": "1",
        "mail_failed": "2",
        "mail_pending": "2",
    }
    assert event_figures(dataset.week) == {**ZERO, "certificates_organisation": "1"}
    # The held session with feedback: the school's 50 pupils (not the ambassador's 70).
    assert event_figures(sessions[0].event) == {
        **ZERO,
        "schools_held": "1",
        "schools_pupils": "50",
    }
    assert event_figures(sessions[2].event) == {**ZERO, "schools_planned": "1"}
    assert event_figures(invitations[0].moment.event) == {
        **ZERO,
        "press_invited": "3",
        "press_accepted": "1",
        "press_declined": "1",
        "press_open": "1",
        "press_accreditations": "1",
        "coverage_items": "2",
        "coverage_reach": "1750",
    }


def test_bookings_chart_axis_is_time_with_quiet_days_kept(staff_client, dataset):
    """A booking six days after the last one: the line stays flat over the quiet days instead
    of jumping to it in one step; the table lists only the days with bookings."""
    from participants.models import Registration
    from tests.factories import RegistrationFactory

    late = RegistrationFactory(event=dataset.congress)
    Registration.objects.filter(pk=late.pk).update(
        created_at=datetime(2030, 3, 10, 12, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
    )
    html = staff_client.get(
        reverse("backoffice:event_dashboard", args=[dataset.congress.pk])
    ).content.decode()
    points = re.findall(
        r'<circle class="point"[^>]*data-label="([^"]+)" data-value="([^"]+)"', html
    )
    assert points == [
        ("02-03", "1"),
        ("03-03", "2"),
        ("04-03", "3"),
        *[(f"{d:02d}-03", "3") for d in range(5, 10)],
        ("10-03", "4"),
    ]
    assert [row[0] for row in _table(html, "bookings-table")] == [
        "2 maart 2030",
        "3 maart 2030",
        "4 maart 2030",
        "10 maart 2030",
    ]
