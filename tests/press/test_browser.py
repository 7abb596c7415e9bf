"""The journalist-facing press pages in a real browser (Chromium): served under the
Content-Security-Policy without console errors, one main landmark, and no serious WCAG 2.1 AA
violations (axe-core), including the error states of the forms."""

from datetime import timedelta

import pytest
from django.utils import timezone

from press import links, services
from tests.browser.helpers import assert_no_page_problems, assert_no_serious_axe_violations

from . import helpers as h

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def check(page, path: str, status: int = 200) -> None:
    page.problems.clear()
    response = page.goto(path)
    assert response.status == status, f"{path}: HTTP {response.status}"
    assert page.locator("main").count() == 1
    assert_no_serious_axe_violations(page)
    if status < 400:
        assert_no_page_problems(page)


def test_press_pages(page, live_url, settings, tmp_path):
    settings.PRESS_MATERIAL_ROOT = tmp_path
    sp = h.spokesperson()
    m = h.moment(embargo_until=timezone.now() + timedelta(days=1), spokespersons=[sp])
    services.interview_slot_create(
        moment=m,
        spokesperson=sp,
        starts_at=m.event.starts_at,
        ends_at=m.event.starts_at + timedelta(minutes=20),
    )
    services.press_material_add(
        moment=m, kind="press_release", title="Persbericht", file=h.pdf_upload()
    )
    j = h.journalist()
    inv = h.invite(m, j)
    token = links.invitation_token(inv)

    check(page, "/nl/pers/")
    check(page, f"/nl/pers/uitnodiging/{token}/")
    # Error state: accreditation without a name and with crew size 0.
    page.fill("#id_name", "")
    page.fill("#id_crew_size", "0")
    page.click("text=Accreditatie aanvragen")
    assert page.locator("#id_name_error").count() == 1
    assert_no_serious_axe_violations(page)
    page.click("text=Ja, ik kom")
    assert page.locator("#id_slot").count() == 1
    assert_no_serious_axe_violations(page)
    check(page, f"/nl/pers/mijn/{links.journalist_token(j)}/")
    check(page, f"/nl/pers/afmelden/{links.removal_token(j)}/")
    page.click("text=Haal mij eraf")
    assert page.locator("#id_confirm_error").count() == 1
    assert_no_serious_axe_violations(page)
    check(page, "/en/pers/uitnodiging/forged/", status=404)
