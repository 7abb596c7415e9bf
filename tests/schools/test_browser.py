"""The school pages in a real browser (Chromium): served under the Content-Security-Policy
without console errors, a main landmark, and no serious WCAG 2.1 AA violations (axe-core) -
for schools, ambassadors, feedback and the organisers' planning pages, including error states."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from events.models import Event
from schools import links
from schools.services import school_session_assign
from tests.browser.helpers import assert_no_page_problems, assert_no_serious_axe_violations

from .conftest import AmbassadorFactory, make_request, weekly

pytestmark = [
    pytest.mark.browser,
    # Regions and work fields are loaded by the reference_data fixture.
    pytest.mark.django_db(transaction=True),
]


def check(page, path: str, lang: str = "nl", status: int = 200) -> None:
    page.problems.clear()
    response = page.goto(path)
    assert response.status == status, f"{path}: HTTP {response.status}"
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("main").count() == 1
    assert_no_serious_axe_violations(page)
    if status < 400:
        assert_no_page_problems(page)


def login(browser_context, live_url, user) -> None:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    browser_context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": live_url}]
    )


def test_school_ambassador_and_organiser_pages(
    reference_data, page, browser_context, live_url, staff_user
):
    failures = {}

    def visit(name, *args, **kwargs):
        try:
            check(page, *args, **kwargs)
        except AssertionError as error:
            failures[name] = str(error)

    request = make_request()
    ambassador = AmbassadorFactory()
    weekly(ambassador)
    session = school_session_assign(
        request=request, ambassador=ambassador, slot=request.slots.first(), user=None
    )
    open_request = make_request()

    for lang in ("nl", "en"):
        visit(f"request form {lang}", f"/{lang}/scholen/aanvragen/", lang)
    # The error state: submit the empty form without JavaScript validation getting in the way.
    page.goto("/nl/scholen/aanvragen/")
    page.get_by_role("button", name="Aanvraag versturen").click()
    try:
        assert page.locator(".error-summary").is_visible()
        assert page.locator("[aria-invalid=true]").count() >= 5
        assert_no_serious_axe_violations(page)
    except AssertionError as error:
        failures["request form errors"] = str(error)
    visit("request page", f"/nl/scholen/aanvraag/{links.request_token(request)}/")
    visit("ambassador page", f"/nl/scholen/ambassadeur/{links.ambassador_token(ambassador)}/")
    past = timezone.now() - timedelta(days=1)
    Event.objects.filter(pk=session.event_id).update(
        starts_at=past, ends_at=past + timedelta(hours=1)
    )
    visit("feedback", f"/nl/scholen/terugkoppeling/{links.feedback_token(session, 'school')}/")

    login(browser_context, live_url, staff_user)
    visit("board", "/nl/scholen/planning/")
    visit("plan", f"/nl/scholen/planning/aanvragen/{open_request.pk}/")
    visit("session", f"/nl/scholen/planning/sessies/{session.pk}/")
    visit("statistics", "/nl/scholen/statistieken/")
    assert not failures, "\n\n".join(f"{name}: {error}" for name, error in failures.items())
