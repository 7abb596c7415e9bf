"""Mailing and privacy pages in a real browser: no CSP or console problems, no serious axe-core
(WCAG 2.1 AA) violations, including pages with field errors."""

import pytest
from django.test import Client

from communications.models import OutboxMail
from mailings import services as mailing_services
from tests.browser.helpers import assert_no_page_problems, assert_no_serious_axe_violations
from tests.factories import EventFactory, PersonFactory, TicketFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(browser_context, live_url, user) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    browser_context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_url}])


def _check(page, *, errors_expected: bool = False) -> None:
    if errors_expected:
        page.problems.clear()  # a form with errors answers 400 on purpose
    assert_no_page_problems(page)
    assert_no_serious_axe_violations(page)


def test_mailing_pages_and_unsubscribe(page, browser_context, live_url):
    organiser = UserFactory(is_staff=True, is_superuser=True)
    event = EventFactory(title="Congres Browser")
    TicketFactory(
        registration__event=event, person=PersonFactory(name="Anna", email="a@example.nl")
    )
    _log_in(browser_context, live_url, organiser)

    page.goto("/nl/mailings/new/")
    _check(page)
    page.get_by_role("button", name="Concept opslaan").click()
    page.wait_for_load_state()
    assert page.locator("#id_subject_nl_error").count() == 1
    _check(page, errors_expected=True)

    mailing = mailing_services.mailing_create(
        created_by=organiser,
        segment="event_attendees",
        event=event,
        subject_nl="Nieuws",
        body_nl="Beste {{ naam }},\n\nTot ziens.",
    )
    page.goto(f"/nl/mailings/{mailing.pk}/")
    assert "Beste Anna," in page.locator("pre").inner_text()
    _check(page)
    page.goto("/nl/mailings/")
    _check(page)

    mailing_services.mailing_send(mailing=mailing, user=organiser)
    url = OutboxMail.objects.get(template="mailing").context["unsubscribe_url"]
    page.goto(url[url.index("/", len("http://")) :])
    _check(page)
    page.get_by_role("button", name="Afmelden").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").count() == 1
    _check(page)


def test_privacy_pages(page, browser_context, live_url):
    organiser = UserFactory(is_staff=True, is_superuser=True)
    PersonFactory(name="Berend", email="berend@example.nl")
    _log_in(browser_context, live_url, organiser)
    for path in ("/nl/privacy/audit/", "/nl/privacy/retention/", "/en/privacy/audit/"):
        page.goto(path)
        _check(page)
    page.goto("/nl/privacy/person/?email=berend@example.nl")
    _check(page)
    page.get_by_role("button", name="Gegevens van deze persoon wissen").click()
    page.wait_for_load_state()
    assert page.locator("#id_confirm_error").count() == 1
    _check(page, errors_expected=True)
