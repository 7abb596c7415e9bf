# The browser fixtures (package-scoped Chromium, page with problem collection) of tests/browser.
from tests.browser.conftest import browser, browser_context, live_url, page  # noqa: F401
