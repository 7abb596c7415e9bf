"""The harness itself can fail: the checks the page tests rely on catch what they claim to."""

import pytest

from tests.browser.helpers import (
    assert_no_page_problems,
    assert_no_serious_axe_violations,
    axe_violations,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INACCESSIBLE = """<!DOCTYPE html><html><head><title>probe</title></head><body>
<form><input type="text" name="email"></form>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<p style="color:#bbb;background:#fff">low contrast text</p>
</body></html>"""


def test_axe_finds_missing_labels_and_alt_text(page):
    page.set_content(INACCESSIBLE)
    found = {violation["id"] for violation in axe_violations(page)}
    assert {"label", "image-alt", "html-has-lang"} <= found
    with pytest.raises(AssertionError, match="label"):
        assert_no_serious_axe_violations(page)


def test_inline_script_and_style_are_blocked_and_reported(page, live_url):
    """Serve a page with inline code under the site's real policy (taken from a live response):
    Chromium blocks both, and the problems collector reports it."""
    policy = page.goto("/healthz").headers["content-security-policy"]
    page.problems.clear()
    page.route(
        "**/csp-probe",
        lambda route: route.fulfill(
            status=200,
            content_type="text/html",
            headers={"Content-Security-Policy": policy},
            body=(
                "<!DOCTYPE html><html lang=en><head><title>p</title>"
                "<style>body{background:red}</style></head><body>"
                "<script>document.title='ran'</script></body></html>"
            ),
        ),
    )
    page.goto(f"{live_url}/csp-probe")
    assert page.title() == "p"  # the inline script did not run
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(255, 0, 0)"
    with pytest.raises(AssertionError, match="Content Security Policy"):
        assert_no_page_problems(page)
