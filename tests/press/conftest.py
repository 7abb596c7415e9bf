# The browser fixtures (package-scoped Chromium, page with problem collection) of tests/browser.
# Imported in this conftest (not a test module) so "package" scope means tests/press and the
# environment they set (DJANGO_ALLOW_ASYNC_UNSAFE) is restored when this package ends.
from tests.browser.conftest import browser, browser_context, live_url, page  # noqa: F401
