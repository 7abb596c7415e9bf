"""Accessibility basics checked on every public page, with the standard library parser."""

from html.parser import HTMLParser

LABELLED_INPUT_EXEMPT = {"hidden", "submit", "button", "image", "reset"}


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.h1 = 0
        self.html_lang = None
        self.inline_scripts = 0
        self.style_blocks = 0
        self.style_attributes = 0
        self.ids: list[str] = []
        self.label_for: set[str] = set()
        self.controls: list[dict] = []
        self.described_by: list[str] = []
        self.label_depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if "style" in a:
            self.style_attributes += 1
        if a.get("aria-describedby"):
            self.described_by.extend(a["aria-describedby"].split())
        if tag == "html":
            self.html_lang = a.get("lang")
        elif tag == "h1":
            self.h1 += 1
        elif tag == "script" and not a.get("src"):
            self.inline_scripts += 1
        elif tag == "style":
            self.style_blocks += 1
        elif tag == "label":
            self.label_depth += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        elif tag in ("input", "select", "textarea"):
            if tag == "input" and a.get("type", "text") in LABELLED_INPUT_EXEMPT:
                return
            self.controls.append(
                {
                    "tag": tag,
                    "id": a.get("id"),
                    "name": a.get("name"),
                    "wrapped": self.label_depth > 0,
                    "aria": bool(a.get("aria-label") or a.get("aria-labelledby")),
                }
            )

    def handle_endtag(self, tag):
        if tag == "label":
            self.label_depth = max(0, self.label_depth - 1)


def assert_accessible_basics(html: str) -> None:
    page = _PageParser()
    page.feed(html)
    assert page.html_lang in ("nl", "en"), f"html lang is {page.html_lang!r}"
    assert page.h1 == 1, f"expected exactly one h1, found {page.h1}"
    assert page.inline_scripts == 0, "inline <script> found"
    assert page.style_blocks == 0, "inline <style> found"
    assert page.style_attributes == 0, "style= attribute found"
    unlabelled = [
        c
        for c in page.controls
        if not (c["wrapped"] or c["aria"] or (c["id"] and c["id"] in page.label_for))
    ]
    assert not unlabelled, f"inputs without a label: {unlabelled}"
    duplicates = {i for i in page.ids if page.ids.count(i) > 1}
    assert not duplicates, f"duplicate ids: {duplicates}"
    missing = [i for i in page.described_by if i not in page.ids]
    assert not missing, f"aria-describedby points at missing ids: {missing}"
