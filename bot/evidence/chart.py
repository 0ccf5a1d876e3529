"""Small line charts as SVG text, drawn on the server: no JavaScript, prints as it shows."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

COLOURS = ("#1f5f8b", "#c0392b", "#2e7d32", "#6d4c41")


def line_chart(
    labels: Sequence[str],
    lines: Sequence[tuple[str, Sequence[float | None]]],
    *,
    width: int = 640,
    height: int = 220,
    title: str = "",
) -> str:
    """One SVG with a line per (name, values); None values leave a gap. Values start at 0."""
    left, right, top, bottom = 40, 10, 24, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _name, series in lines for v in series if v is not None]
    peak = max(values, default=0) or 1
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / peak

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 4}" font-size="10" text-anchor="end">'
        f"{_number(peak)}</text>",
        f'<text x="{left - 4}" y="{top + plot_h}" font-size="10" text-anchor="end">0</text>',
    ]
    step = max(1, n // 8)
    for i, label in enumerate(labels):
        if i % step == 0:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - bottom + 14}" font-size="10" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    for k, (name, series) in enumerate(lines):
        colour = COLOURS[k % len(COLOURS)]
        points = [(x(i), y(v)) for i, v in enumerate(series) if v is not None]
        if points:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>'
            )
            parts += [
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{colour}"/>'
                for px, py in points
            ]
        parts.append(
            f'<text x="{left + 8 + 150 * k}" y="{top - 8}" font-size="11" fill="{colour}">'
            f"{escape(name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.2f}"
