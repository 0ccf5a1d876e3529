"""Charts drawn on the server as inline SVG: no script, no library, readable by screen readers.

A chart is an <svg role="img"> named by its <title> and described, value by value, in its
<desc>; each bar carries its own <title> too (a tooltip on hover). Every text is escaped:
poll options come from staff and from leaders' SMS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from bot.i18n.console import gettext as _

WIDTH = 640
ROW = 30  # the height of one bar's row
BAR = 20
LABEL = 200  # the width of the labels' column
VALUE = 150  # the width of the values' column, right of the longest bar
LABEL_CHARS = 28  # longer labels are cut (the whole label is in the bar's title)
COLOR = "#0b4f6c"
TRACK = "#e3eaed"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the value as shown, e.g. "12 (60%)"


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar], scale: float | None = None) -> Markup:
    """Horizontal bars, one per row; lengths relative to `scale` (default: the largest value)."""
    top = scale if scale is not None else max((b.value for b in bars), default=0)
    room = WIDTH - LABEL - VALUE
    height = max(len(bars), 1) * ROW + 6
    described = "; ".join(f"{b.label}: {b.text}" for b in bars) or _("Sin datos.")
    parts = [
        f'<svg id="{escape(chart_id)}" class="chart" role="img" '
        f'aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        'xmlns="http://www.w3.org/2000/svg" font-family="system-ui,sans-serif" font-size="14">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-d">{escape(described)}</desc>',
    ]
    for row, bar in enumerate(bars):
        y = row * ROW + 3
        length = round(room * bar.value / top) if top > 0 else 0
        shown = bar.label if len(bar.label) <= LABEL_CHARS else bar.label[: LABEL_CHARS - 1] + "…"
        parts.append(
            f"<g><title>{escape(bar.label)}: {escape(bar.text)}</title>"
            f'<text x="{LABEL - 8}" y="{y + BAR - 5}" text-anchor="end">{escape(shown)}</text>'
            f'<rect x="{LABEL}" y="{y}" width="{room}" height="{BAR}" fill="{TRACK}"/>'
            f'<rect x="{LABEL}" y="{y}" width="{length}" height="{BAR}" fill="{COLOR}"/>'
            f'<text x="{LABEL + length + 6}" y="{y + BAR - 5}">{escape(bar.text)}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # every value above went through escape()
