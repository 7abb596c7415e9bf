"""Find live markup that came from a hostile value, with a real HTML5 parser.

tinyhtml5 (the html5lib parser WeasyPrint ships with, pinned in requirements.lock) builds the
same tree a browser does, so a value that is escaped shows up as text and a value that is not
shows up as an element or attribute. Every markup payload in tests/security/corpus.py carries
the marker "xss" (in a tag name, attribute name or URL), which the page's own markup never has.
"""

from __future__ import annotations

import re

import tinyhtml5

from .corpus import EVIL_HOST, MARKER

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "poster", "data", "background", "srcset"}
HANDLER_ATTRIBUTES = {"onmouseover", "onfocus", "onerror", "onload", "onclick"}
_INVISIBLE = re.compile(r"[\x00-\x20]+")


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].lower()


def _dangerous_url(value: str) -> bool:
    compact = _INVISIBLE.sub("", value).lower()
    return (
        compact.startswith(("javascript:", "vbscript:", "data:text/html")) or EVIL_HOST in compact
    )


def parse(html: str):
    return tinyhtml5.parse(html)


def live_markup(html: str) -> list[str]:
    """Elements and attributes that a hostile value turned into markup (empty if none)."""
    return inspect(html)[0]


def inspect(html: str) -> tuple[list[str], str]:
    """(live markup from hostile values, the page's text), from one parse."""
    tree = parse(html)
    problems: list[str] = []
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue  # comments
        tag = _local(element.tag)
        attributes = {_local(name): value for name, value in element.attrib.items()}
        if MARKER in tag:
            problems.append(f"element <{tag}>")
        for name, value in attributes.items():
            if MARKER in name or name in HANDLER_ATTRIBUTES:
                problems.append(f"attribute {name}= on <{tag}>")
            if name in URL_ATTRIBUTES and _dangerous_url(value):
                problems.append(f"<{tag} {name}={value!r}>")
        if tag == "meta" and "http-equiv" in attributes:
            content = attributes.get("content", "")
            if EVIL_HOST in content or MARKER in content:
                problems.append(f"<meta http-equiv content={content!r}>")
        if tag == "base":
            problems.append(f"<base href={attributes.get('href', '')!r}>")
        if tag == "iframe" and "srcdoc" in attributes and MARKER in attributes["srcdoc"]:
            problems.append("iframe srcdoc from a value")
        if tag == "script" and MARKER in "".join(element.itertext()):
            problems.append("inline script from a value")
    return problems, "".join(tree.itertext())


def text_content(html: str) -> str:
    """The page's text as a browser shows it (escaped values come back as typed)."""
    return "".join(parse(html).itertext())
