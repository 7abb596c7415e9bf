"""The public pages and the back-office login in a real browser, in Dutch and English:
served under the Content-Security-Policy without a console error, usable by keyboard, and free
of serious WCAG 2.1 AA violations according to axe-core."""

import pytest

from tests.browser.helpers import (
    PageProblems,
    assert_no_page_problems,
    assert_no_serious_axe_violations,
)
from tests.factories import EventFactory, TicketTypeFactory

# Transactional like every live-server test; the marker also makes pytest-django run these
# after the tests that rely on data from migrations (the flush removes it).
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LANGUAGES = ["nl", "en"]
PAGES = {
    "home": "/{lang}/",
    "event list": "/{lang}/events/",
    "event detail": "/{lang}/events/{slug}/",
    "login": "/{lang}/account/login/",
    "admin login": "/{lang}/admin/login/",
}


@pytest.fixture
def event(db):
    event = EventFactory(title="Congres Gezond Werken", slug="congres-gezond-werken")
    TicketTypeFactory(event=event, name="Deelnemer", price_cents=0)
    TicketTypeFactory(event=event, name="Deelnemer met lunch", price_cents=4500)
    return event


@pytest.mark.parametrize("lang", LANGUAGES)
def test_pages_are_clean_and_accessible(page, event, lang):
    """All pages of one language in one test: each live-server test ends with a flush of every
    table, which costs more than the page visits. Failures are collected per page, not stopped
    at the first, so one run shows everything that is wrong."""
    failures = {}
    for name, path in PAGES.items():
        page.problems.clear()
        try:
            check_page(page, path.format(lang=lang, slug=event.slug), lang)
        except AssertionError as error:
            failures[name] = str(error)
    assert not failures, "\n\n".join(f"{name}: {error}" for name, error in failures.items())


def check_page(page, path: str, lang: str) -> None:
    response = page.goto(path)
    assert response.status == 200, f"HTTP {response.status}"
    assert page.locator("html").get_attribute("lang") == lang
    assert page.title().strip(), "no title"
    # The stylesheet arrived and applies (a CSP or static-files mistake would drop it).
    assert page.evaluate("document.styleSheets.length") >= 1, "no stylesheet"
    assert page.locator("main, [role=main]").count() >= 1, "no main landmark"
    assert_no_page_problems(page)
    assert_no_serious_axe_violations(page)


def test_keyboard_users_can_skip_to_the_content(page, event):
    page.goto("/nl/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main"
    assert page.locator(".skip-link").is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_language_switch_works_without_inline_script(page, event):
    page.goto("/nl/events/")
    page.get_by_role("button", name="English").click()
    page.wait_for_url("**/en/events/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert_no_page_problems(page)


def test_organiser_logs_in_to_the_back_office_under_the_csp(page, db, django_user_model):
    django_user_model.objects.create_user(
        email="organisator@example.nl",
        password="werkstress-test",
        is_staff=True,
        is_superuser=True,
    )
    page.goto("/nl/admin/login/")
    page.fill("#id_username", "organisator@example.nl")
    page.fill("#id_password", "werkstress-test")
    page.locator("#login-form [type=submit]").click()
    page.wait_for_url("**/nl/admin/")
    assert page.locator("#user-tools").is_visible()
    # A change form loads the admin's own scripts (no inline ones).
    page.goto("/nl/admin/events/event/add/")
    assert page.locator("form#event_form").is_visible()
    assert_no_page_problems(page)


def test_swagger_ui_renders_under_the_csp(page):
    page.goto("/api/docs/")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "Werkstress" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.locator(".opblock").count() > 0
    assert_no_page_problems(page)


def test_redoc_renders_with_its_inline_styles_allowed(page):
    page.goto("/api/redoc/")
    page.get_by_text("Werkstress events API").first.wait_for()
    # Redoc's "powered by" logo comes from its CDN, which the policy blocks on purpose.
    problems = [p for p in page.problems if "cdn.redoc.ly" not in p]
    assert problems == [], "\n".join(problems)


@pytest.mark.urls("tests.ops.urls")
@pytest.mark.parametrize("lang", LANGUAGES)
def test_rate_limit_page_is_clean_and_accessible(browser, live_url, lang):
    # Not under /nl/ or /en/: the language comes from the browser's Accept-Language.
    context = browser.new_context(base_url=live_url, locale={"nl": "nl-NL", "en": "en-GB"}[lang])
    page = context.new_page()
    page.problems = PageProblems()
    page.problems.attach(page)
    assert page.goto("/_test/page/").status == 200
    response = page.goto("/_test/page/")
    assert response.status == 429
    assert int(response.headers["retry-after"]) > 0
    heading = {"nl": "Te veel pogingen", "en": "Too many attempts"}[lang]
    assert page.get_by_role("heading", level=1).inner_text() == heading
    assert page.get_by_role("alert").is_visible()
    # The 429 of the page itself is the point; its stylesheet and the rest must load cleanly.
    problems = [p for p in page.problems if "/_test/page/" not in p]
    assert problems == [], "\n".join(problems)
    assert_no_serious_axe_violations(page)
    context.close()
