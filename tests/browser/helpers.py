"""Helpers for browser tests: what a page did wrong, and axe-core's accessibility verdict."""

from __future__ import annotations

import functools
from pathlib import Path

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = ("serious", "critical")


@functools.cache
def _axe_script() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


class PageProblems(list):
    """What went wrong while a page was open: console errors (CSP violations land there),
    uncaught script errors and HTTP errors of the page or its files."""

    def _console(self, msg) -> None:
        # Chromium asks for /favicon.ico on its own; the site does not ship one.
        if msg.type == "error" and not msg.location.get("url", "").endswith("/favicon.ico"):
            self.append(f"console {msg.type}: {msg.text} ({msg.location.get('url')})")

    def attach(self, page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.append(f"script error: {exc}"))
        page.on(
            "response",
            lambda response: (
                self.append(f"HTTP {response.status}: {response.url}")
                if response.status >= 400
                else None
            ),
        )
        page.on("requestfailed", lambda request: self.append(f"request failed: {request.url}"))


def assert_no_page_problems(page) -> None:
    assert list(page.problems) == [], "\n".join(page.problems)


def axe_violations(page, impacts=BLOCKING_IMPACTS) -> list[dict]:
    """Run axe-core's WCAG 2.1 A/AA rules on the page; violations of the given impacts.

    The script is injected through the DevTools protocol, which the page's CSP does not
    govern, so the policy under test stays exactly as served."""
    page.evaluate(_axe_script())
    results = page.evaluate(
        "options => axe.run(document, options)",
        {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]},
    )
    return [v for v in results["violations"] if v.get("impact") in impacts]


def format_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node['failureSummary']}")
    return "\n".join(lines)


def assert_no_serious_axe_violations(page) -> None:
    """Fails on serious or critical WCAG 2.1 AA violations, listing each with its elements."""
    violations = axe_violations(page)
    assert not violations, "axe-core found:\n" + format_violations(violations)


# --- End-to-end flows: what a user does outside the page (log in, read their mail) --------------


def log_in(page, email: str, password: str, *, lang: str = "nl") -> None:
    """Log in through the real login form, as a person would (no session cookie planted)."""
    page.goto(f"/{lang}/account/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.locator("form[action$='/account/login/'] button[type=submit]").click()
    page.wait_for_load_state()


def mails_to(address: str, template_subject: str = "") -> list:
    """Messages the site sent (Django's test mailbox) to one address, optionally only those
    whose subject contains `template_subject`."""
    from django.core import mail

    return [
        m
        for m in mail.outbox
        if any(address.lower() in to.lower() for to in m.to) and template_subject in m.subject
    ]


def link_in_mail(message, path_part: str) -> str:
    """The path of the first link in a mail's text whose path contains `path_part`.

    Mails carry absolute links on SITE_URL; the path is opened on the live server instead,
    so the test follows exactly the link the recipient got."""
    import re

    for match in re.finditer(r"https?://[^/\s]+(/\S+)", message.body):
        if path_part in match.group(1):
            return match.group(1)
    raise AssertionError(f"no link with {path_part!r} in:\n{message.body}")
