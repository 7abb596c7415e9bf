"""Server-side SVG charts: pure functions, data in, markup out.

No JavaScript and no external library: the page works without scripts and under the strict
Content-Security-Policy (presentation attributes, no style attributes). Every chart is an
<svg role="img"> with <title> and <desc>; the page shows the same numbers in a table next to it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

_ids = itertools.count(1)

# Colours with at least 3:1 contrast against white (WCAG 1.4.11 for graphical objects).
BAR_FILL = "#1f5f8b"
LINE_STROKE = "#1f5f8b"
AREA_FILL = "#cfe0ec"
AXIS = "#444444"
GRID = "#d0d0d0"
TEXT = "#222222"


def nice_max(value: float) -> int:
    """The smallest 1/2/5 x 10^n at or above `value` (axis end), at least 1."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return int(step * magnitude)
    return int(10 * magnitude)  # pragma: no cover - the loop always returns


def _fmt(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{value:.1f}".replace(".", ",")


def _open(width: int, height: int, title: str, desc: str, css: str) -> tuple[str, list[str]]:
    uid = f"chart{next(_ids)}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css}" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{uid}-title {uid}-desc" font-family="sans-serif" font-size="12">',
        f'<title id="{uid}-title">{escape(title)}</title>',
        f'<desc id="{uid}-desc">{escape(desc)}</desc>',
    ]
    return uid, parts


def bar_chart(
    data: Sequence[tuple[str, float]],
    *,
    title: str,
    desc: str = "",
    unit: str = "",
    max_value: float | None = None,
    width: int = 640,
) -> SafeString:
    """Horizontal bars (labels stay readable however long they are), one per (label, value).

    `max_value` fixes the axis end (e.g. 100 for percentages); otherwise a rounded maximum.
    """
    label_width = 200
    bar_height, gap, top, bottom = 22, 8, 10, 30
    plot_width = width - label_width - 70
    height = top + bottom + max(1, len(data)) * (bar_height + gap)
    axis_max = (
        max_value if max_value is not None else nice_max(max((v for _, v in data), default=0))
    )
    if not desc:
        desc = "; ".join(f"{label}: {_fmt(value)}{unit}" for label, value in data)
    _uid, parts = _open(width, height, title, desc, "chart-bar")
    x0 = label_width
    plot_bottom = height - bottom
    for i in range(5):
        tick = axis_max * i / 4
        x = x0 + plot_width * i / 4
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{plot_bottom}" stroke="{GRID}" '
            f'aria-hidden="true"/>'
            f'<text x="{x:.1f}" y="{plot_bottom + 16}" text-anchor="middle" fill="{TEXT}" '
            f'aria-hidden="true">{_fmt(tick)}{escape(unit)}</text>'
        )
    for index, (label, value) in enumerate(data):
        y = top + index * (bar_height + gap) + gap / 2
        length = 0 if not axis_max else plot_width * min(value, axis_max) / axis_max
        parts.append(
            f'<g class="bar"><text x="{x0 - 8}" y="{y + bar_height * 0.7:.1f}" '
            f'text-anchor="end" fill="{TEXT}">{escape(_truncate(str(label), 30))}</text>'
            f'<rect x="{x0}" y="{y:.1f}" width="{length:.1f}" height="{bar_height}" '
            f'fill="{BAR_FILL}" data-label="{escape(str(label))}" data-value="{value}">'
            f"<title>{escape(str(label))}: {_fmt(value)}{escape(unit)}</title></rect>"
            f'<text x="{x0 + length + 6:.1f}" y="{y + bar_height * 0.7:.1f}" fill="{TEXT}">'
            f"{_fmt(value)}{escape(unit)}</text></g>"
        )
    parts.append(
        f'<line x1="{x0}" y1="{top}" x2="{x0}" y2="{plot_bottom}" stroke="{AXIS}" '
        f'aria-hidden="true"/></svg>'
    )
    return mark_safe("".join(parts))  # noqa: S308 - every text is escaped above


def line_chart(
    points: Sequence[tuple[str, float]],
    *,
    title: str,
    desc: str = "",
    width: int = 640,
    height: int = 260,
) -> SafeString:
    """A line with the area below it over ordered (x label, value) points, with both axes."""
    left, right, top, bottom = 50, 20, 15, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    axis_max = nice_max(max((v for _, v in points), default=0))
    if not desc:
        desc = "; ".join(f"{label}: {_fmt(value)}" for label, value in points)
    _uid, parts = _open(width, height, title, desc, "chart-line")
    plot_bottom = top + plot_h
    for i in range(5):
        tick = axis_max * i / 4
        y = plot_bottom - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{GRID}" '
            f'aria-hidden="true"/><text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
            f'fill="{TEXT}" aria-hidden="true">{_fmt(tick)}</text>'
        )
    n = len(points)

    def xy(index: int, value: float) -> tuple[float, float]:
        x = left + (plot_w / 2 if n == 1 else plot_w * index / (n - 1))
        return x, plot_bottom - plot_h * value / axis_max

    coords = [xy(i, v) for i, (_, v) in enumerate(points)]
    if coords:
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        area = f"{coords[0][0]:.1f},{plot_bottom} {line} {coords[-1][0]:.1f},{plot_bottom}"
        parts.append(
            f'<polygon points="{area}" fill="{AREA_FILL}" aria-hidden="true"/>'
            f'<polyline points="{line}" fill="none" stroke="{LINE_STROKE}" stroke-width="2" '
            f'aria-hidden="true"/>'
        )
    # At most ~8 x labels so they never overlap; always the first and the last.
    every = max(1, math.ceil(n / 8))
    for index, ((label, value), (x, y)) in enumerate(zip(points, coords, strict=True)):
        parts.append(
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{LINE_STROKE}" '
            f'data-label="{escape(str(label))}" data-value="{value}">'
            f"<title>{escape(str(label))}: {_fmt(value)}</title></circle>"
        )
        if index % every == 0 or index == n - 1:
            parts.append(
                f'<text x="{x:.1f}" y="{plot_bottom + 18}" text-anchor="middle" fill="{TEXT}" '
                f'aria-hidden="true">{escape(str(label))}</text>'
            )
    parts.append(
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{plot_bottom}" stroke="{AXIS}" '
        f'aria-hidden="true"/><line x1="{left}" y1="{plot_bottom}" x2="{left + plot_w}" '
        f'y2="{plot_bottom}" stroke="{AXIS}" aria-hidden="true"/></svg>'
    )
    return mark_safe("".join(parts))  # noqa: S308 - every text is escaped above


def _truncate(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
