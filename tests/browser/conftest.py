"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

No `playwright install`: the browser is the distribution's package (scripts/system-deps.sh
--with-browser, which `make test` runs), launched headless by path. Pages are checked for what a
person would notice (the console stays clean: no CSP violation, no script error, no missing
file) and scanned with axe-core (shipped inside the axe-playwright-python wheel) for WCAG 2.1 AA.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.helpers import PageProblems

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the whole package: starting it costs about a second."""
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM}: run scripts/system-deps.sh --with-browser"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must run them; a silent skip would hide a broken setup
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an asyncio loop in this thread; Django then refuses ORM calls
    # here (factories, the live server's flush) unless told the thread is really synchronous.
    # Scoped to this package so other tests keep Django's check.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def live_url(live_server) -> str:
    return live_server.url


@pytest.fixture
def browser_context(browser, live_url):
    context = browser.new_context(base_url=live_url, locale="nl-NL", timezone_id="Europe/Amsterdam")
    # Pages here answer in milliseconds; fail fast instead of Playwright's 30 s default.
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(browser_context):
    """A fresh page; `page.problems` collects console errors and failed requests."""
    page = browser_context.new_page()
    page.problems = PageProblems()
    page.problems.attach(page)
    yield page
    page.close()
