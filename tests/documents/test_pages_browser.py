"""The check-in page and the certificate pages in a real browser: no CSP or console problems,
no serious axe-core (WCAG 2.1 AA) violations, and the check-in flow works by keyboard."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from communications.documents import certificate_issue
from tests.browser.helpers import assert_no_page_problems, assert_no_serious_axe_violations
from tests.factories import EventFactory, TicketFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(browser_context, live_url, user) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    browser_context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_url}])


def test_checkin_page_by_keyboard(page, browser_context, live_url):
    ticket = TicketFactory(
        person__name="Sanne Visser",
        # Under way: inside its check-in window.
        registration__event=EventFactory(starts_at=timezone.now() - timedelta(hours=1)),
    )
    _log_in(browser_context, live_url, UserFactory(is_staff=True))
    page.goto(f"/nl/events/{ticket.event_id}/checkin/")
    assert_no_serious_axe_violations(page)
    # Focus starts in the code field: a USB scanner types the code and presses Enter.
    page.keyboard.type(ticket.secret)
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert "Sanne Visser" in page.get_by_role("status").inner_text()
    page.keyboard.type(ticket.secret)
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert "Al ingecheckt" in page.get_by_role("alert").inner_text()
    page.problems.clear()  # the refused scan answers 409 on purpose
    assert_no_serious_axe_violations(page)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_certificate_pages(page, browser_context, live_url, lang):
    # Ended yesterday; the ticket was checked in at the door.
    event = EventFactory(
        title="Congres Browser",
        starts_at=timezone.now() - timedelta(days=1, hours=6),
        ends_at=timezone.now() - timedelta(days=1),
    )
    ticket = TicketFactory(registration__event=event, checked_in_at=event.starts_at)
    certificate = certificate_issue(ticket=ticket)
    page.goto(f"/{lang}/certificates/verify/")
    assert_no_page_problems(page)
    assert_no_serious_axe_violations(page)
    page.get_by_label("Verificatiecode" if lang == "nl" else "Verification code").fill(
        certificate.display_code
    )
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert ticket.person.name in page.get_by_role("status").inner_text()
    assert_no_page_problems(page)
    assert_no_serious_axe_violations(page)

    _log_in(browser_context, live_url, UserFactory(is_staff=True))
    page.goto(f"/{lang}/communications/events/{event.pk}/certificates/")
    assert_no_page_problems(page)
    assert_no_serious_axe_violations(page)
