"""The public forms and personal pages in headless Chromium: served under the CSP without a
console error, free of serious WCAG 2.1 AA violations (axe-core), including pages with errors,
and the two small scripts work (error summary focus, payment choice only for paid tickets)."""

import importlib

import pytest

from participants import links, services
from tests.browser.helpers import assert_no_page_problems, assert_no_serious_axe_violations
from tests.factories import (
    CampaignFactory,
    CampaignParticipationFactory,
    CampaignWeekFactory,
    EventFactory,
    QuestionFactory,
    TicketTypeFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _ensure_regions() -> None:
    """Each live-server test ends with a flush of every table, which also removes the 35
    regions a data migration loads; the sign-up form and participants list need them."""
    from django.apps import apps as django_apps

    from organisations.models import Region

    if not Region.objects.exists():
        migration = importlib.import_module("organisations.migrations.0002_load_regions")
        migration.load_regions(django_apps, None)


@pytest.fixture
def site(db):
    _ensure_regions()
    campaign = CampaignFactory(name="Week van de Werkstress", slug="wvdw")
    congress = EventFactory(campaign=campaign, title="Congres", slug="congres", capacity=40)
    free = TicketTypeFactory(event=congress, name="Gratis", price_cents=0, position=0)
    TicketTypeFactory(event=congress, name="Met lunch", price_cents=4500, position=1)
    week = CampaignWeekFactory(campaign=campaign, title="Week 2031", slug="week-2031")
    participation = CampaignParticipationFactory(event=week, organisation__listed_publicly=True)
    lunch = QuestionFactory(event=congress, label="Blijft u lunchen?", kind="yes_no", required=True)
    registration = services.registration_create(
        event=congress,
        booker_name="Bea",
        booker_email="bea@example.nl",
        attendees=[
            services.AttendeeInput(
                name="Ans",
                email="ans@example.nl",
                ticket_type_id=free.pk,
                answers={lunch.pk: "yes"},
            )
        ],
    )
    return {
        "congress": congress,
        "week": week,
        "booking_token": links.booking_token(registration),
        "ticket_token": links.ticket_token(registration.tickets.get()),
        "participation_token": links.participation_token(participation),
    }


def check(page, path, lang):
    page.problems.clear()
    response = page.goto(path)
    assert response.status < 500
    assert page.locator("html").get_attribute("lang") == lang
    assert_no_page_problems(page)
    assert_no_serious_axe_violations(page)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_public_pages_are_clean_and_accessible(page, site, lang):
    paths = [
        "/{lang}/campaigns/",
        "/{lang}/campaigns/wvdw/",
        "/{lang}/events/congres/",
        "/{lang}/events/week-2031/",
        "/{lang}/events/congres/book/",
        "/{lang}/events/congres/waiting-list/",
        "/{lang}/events/week-2031/sign-up/",
        "/{lang}/events/week-2031/participants/",
        f"/{{lang}}/booking/{site['booking_token']}/",
        f"/{{lang}}/booking/{site['booking_token']}/confirmation/",
        f"/{{lang}}/booking/{site['booking_token']}/cancel/",
        f"/{{lang}}/ticket/{site['ticket_token']}/",
        f"/{{lang}}/ticket/{site['ticket_token']}/cancel/",
        f"/{{lang}}/sign-up/{site['participation_token']}/",
    ]
    failures = {}
    for path in paths:
        path = path.format(lang=lang)
        try:
            check(page, path, lang)
        except AssertionError as error:
            failures[path] = str(error)
    assert not failures, "\n\n".join(f"{p}: {e}" for p, e in failures.items())


def test_failed_sign_up_focuses_the_error_summary_and_passes_axe(page, site):
    page.goto("/nl/events/week-2031/sign-up/")
    page.fill("#id_kvk_number", "123")
    page.fill("#id_postcode", "0000 AA")
    page.click("button[type=submit]:has-text('Aanmelden')")
    assert page.locator("#error-summary").is_visible()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    # The summary's link takes keyboard users to the field.
    page.click("#error-summary a[href='#id_kvk_number']")
    assert page.evaluate("location.hash") == "#id_kvk_number"
    page.problems.clear()
    assert_no_serious_axe_violations(page)


def test_payment_choice_follows_the_chosen_ticket(page, site):
    page.goto("/nl/events/congres/book/")
    section = page.locator("#payment-section")
    assert section.is_hidden()  # the first ticket type is free
    page.select_option("#id_attendees-0-ticket_type", label="Met lunch (€ 45,00)")
    assert section.is_visible()
    page.select_option("#id_attendees-0-ticket_type", index=0)
    assert section.is_hidden()
    assert_no_page_problems(page)


def test_booking_with_errors_passes_axe_and_add_attendee_keeps_data(page, site):
    page.goto("/nl/events/congres/book/")
    page.fill("#id_booker_name", "Bea Boeker")
    page.fill("#id_booker_email", "bea.boeker@example.nl")
    page.fill("#id_attendees-0-name", "Cor")
    page.click("button[name=add_attendee]")
    assert page.input_value("#id_attendees-0-name") == "Cor"
    assert page.locator("#id_attendees-1-name").count() == 1
    page.fill("#id_attendees-1-name", "Dirk")
    page.click("button[type=submit]:has-text('Nu boeken')")
    assert page.locator("#error-summary").is_visible()
    page.problems.clear()
    assert_no_serious_axe_violations(page)
