# Shared real parts: the browser fixtures of tests/browser (package-scoped Chromium, page with
# problem collection) and the SMTP server, Redis broker and Celery worker of the mail tests.
from tests.browser.conftest import browser, browser_context, live_url, page  # noqa: F401
from tests.mail.conftest import (  # noqa: F401
    redis_broker,
    smtp_server,
    smtp_settings,
    start_worker,
)
