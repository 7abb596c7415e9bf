"""Back-office pages in a real browser: no CSP or console problems (the SVG charts carry no
inline style or script), no serious axe-core (WCAG 2.1 AA) violations, and an export downloads
from the form without JavaScript help."""

from pathlib import Path

import pytest
from django.test import Client

from tests.browser.helpers import assert_no_page_problems, assert_no_serious_axe_violations

from .conftest import add_press, add_school_sessions

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def _log_in(browser_context, live_url, user) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    browser_context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_url}])


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_back_office_pages(page, browser_context, live_url, staff, dataset, lang):
    add_school_sessions(dataset)
    add_press(dataset)
    _log_in(browser_context, live_url, staff)
    for path in (
        f"/{lang}/beheer/",
        f"/{lang}/beheer/campagnes/{dataset.campaign.pk}/",
        f"/{lang}/beheer/evenementen/{dataset.congress.pk}/",
        f"/{lang}/beheer/exports/",
    ):
        page.goto(path)
        assert_no_page_problems(page)
        assert_no_serious_axe_violations(page)
    page.goto(f"/{lang}/beheer/campagnes/{dataset.campaign.pk}/")
    assert page.locator("svg[role=img]").count() == 5


def test_export_downloads_from_the_form(page, browser_context, live_url, staff, dataset):
    _log_in(browser_context, live_url, staff)
    page.goto(f"/nl/beheer/exports/?campaign={dataset.campaign.pk}")
    page.get_by_label("Wat").select_option("attendees")
    with page.expect_download() as info:
        page.get_by_role("button", name="Exporteren").click()
    download = info.value
    assert download.suggested_filename.startswith("deelnemers-")
    body = Path(download.path()).read_text(encoding="utf-8-sig")
    assert body.splitlines()[0].startswith("Evenement;Start evenement;Boekingscode")
    assert len(body.splitlines()) == 6
