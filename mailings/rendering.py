"""Placeholders and paragraphs in a mailing's text. Pure functions: text in, text out.

The organiser's text is never run through the Django template engine (that would let a
mailing read any template variable or tag); only the fixed placeholders below are replaced,
and the HTML version escapes everything.
"""

import re

from django.utils.html import escape

PLACEHOLDER = re.compile(r"\{\{\s*([^{}\s]*)\s*\}\}")

# Dutch and English spellings of the same value.
PLACEHOLDERS = {
    "naam": "name",
    "name": "name",
    "email": "email",
    "e-mail": "email",
    "organisatie": "organisation",
    "organisation": "organisation",
    "evenement": "event",
    "event": "event",
}


def unknown_placeholders(text: str) -> list[str]:
    return sorted({m.group(1) for m in PLACEHOLDER.finditer(text or "")} - set(PLACEHOLDERS))


def fill_placeholders(text: str, values: dict) -> str:
    def replace(match: re.Match) -> str:
        key = PLACEHOLDERS.get(match.group(1))
        return str(values.get(key, "") or "") if key else match.group(0)

    return PLACEHOLDER.sub(replace, text or "")


def paragraphs(text: str) -> list[str]:
    """Blank lines separate paragraphs; single line breaks stay within a paragraph."""
    text = (text or "").replace("\r\n", "\n").strip()
    return [part.strip("\n") for part in re.split(r"\n\s*\n", text) if part.strip()]


def paragraphs_html(text: str) -> list[str]:
    return [escape(part).replace("\n", "<br>") for part in paragraphs(text)]
