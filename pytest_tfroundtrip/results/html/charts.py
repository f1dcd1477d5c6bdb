"""Small inline SVG charts for the HTML report: dots on a log axis, lines per step, horizontal bars.

Our own few lines instead of a plotting library: the report must open offline and the
package must not depend on one.  Every text drawn is HTML-escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 640
ROW_HEIGHT = 22
LABEL_WIDTH = 170
MARGIN = 12
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")


@dataclass(frozen=True)
class Series:
    """A named list of numbers (None: not measured), drawn in ``colour``; ``dashed`` for a reference line."""

    name: str
    values: tuple[float | None, ...]
    colour: str = PALETTE[0]
    dashed: bool = False


# In every picture, so one stands alone (pytest-html's report, a page of the docs) as well as in our page.
CHART_STYLE = (
    "svg.chart{display:block;margin:4px 0 14px;max-width:100%;height:auto;background:#fff}"
    "svg.chart text{fill:#424242;font-family:system-ui,sans-serif}svg.chart .grid{stroke:#eee}"
    "svg.chart .axis{stroke:#9e9e9e}svg.chart .threshold{stroke:#c62828;stroke-width:2}"
    "svg.chart .threshold-label{fill:#c62828}svg.chart .marker{stroke:#616161;stroke-dasharray:3 3}"
    "svg.chart .dot{fill:#1f77b4;fill-opacity:.6}svg.chart .dot.over{fill:#c62828;fill-opacity:.9}svg.chart .bar{fill:#5c6bc0}"
)


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f'<svg class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title><style>{CHART_STYLE}</style>'
            + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 11, css: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"'
            f'{f" class={chr(34)}{css}{chr(34)}" if css else ""}>{escape(text)}</text>')


def log_strip_chart(rows: Sequence[Series], title: str, threshold: float | None = 1.0, threshold_label: str = "tolerance") -> str:
    """One row of dots per series on a log axis, with a red line at ``threshold`` (None: no line); zeros sit at the left edge.

    Example:
        >>> svg = log_strip_chart([Series("keras <b>", (0.0, 0.25, 2.0))], "errors")
        >>> svg.startswith("<svg") and "keras &lt;b&gt;" in svg and svg.count("<circle") == 3
        True
    """
    positive = [v for row in rows for v in row.values if v is not None and v > 0 and math.isfinite(v)]
    anchors = positive + ([threshold] if threshold else []) or [1.0]
    low = math.floor(math.log10(min(anchors))) - 1
    high = math.ceil(math.log10(max(anchors))) + 1
    plot_left, plot_right = LABEL_WIDTH, WIDTH - MARGIN
    height = MARGIN + ROW_HEIGHT * len(rows) + 34

    def x_of(value: float) -> float:
        exponent = low if value <= 0 else min(max(math.log10(value), low), high)
        return plot_left + (exponent - low) / (high - low) * (plot_right - plot_left)

    body = []
    step = max(1, (high - low) // 8)
    axis_y = MARGIN + ROW_HEIGHT * len(rows) + 4
    for exponent in range(low, high + 1, step):
        x = x_of(10.0 ** exponent)
        body.append(f'<line x1="{x:.1f}" y1="{MARGIN}" x2="{x:.1f}" y2="{axis_y}" class="grid"/>')
        body.append(_text(x, axis_y + 13, "0" if exponent == low else f"1e{exponent}", "middle", 10))
    if threshold:
        tx = x_of(threshold)
        body.append(f'<line x1="{tx:.1f}" y1="{MARGIN - 4}" x2="{tx:.1f}" y2="{axis_y}" class="threshold"/>')
        body.append(_text(tx + 3, axis_y + 26, threshold_label, "start", 10, "threshold-label"))
    for index, row in enumerate(rows):
        y = MARGIN + ROW_HEIGHT * index + ROW_HEIGHT / 2
        body.append(_text(plot_left - 6, y + 4, row.name, "end"))
        for value in row.values:
            if value is None:
                continue
            over = threshold is not None and value > threshold
            body.append(f'<circle cx="{x_of(value):.1f}" cy="{y:.1f}" r="3.5" class="{"dot over" if over else "dot"}">'
                        f"<title>{escape(f'{row.name}: {value:.4g}')}</title></circle>")
    return _svg(WIDTH, height, body, title)


def line_chart(lines: Sequence[Series], title: str, marker: int | None = None, marker_label: str = "") -> str:
    """Each series as a line over steps 1..n; a dashed vertical line after step ``marker`` (e.g. where it was saved).

    Example:
        >>> svg = line_chart([Series("a", (1.0, 0.5, 0.25)), Series("b", (1.0, 0.5, 0.3), dashed=True)], "loss", marker=1)
        >>> svg.count("<polyline"), "stroke-dasharray" in svg
        (2, True)
    """
    values = [v for line in lines for v in line.values if v is not None and math.isfinite(v)]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    steps = max((len(line.values) for line in lines), default=1)
    left, right, top, bottom = 60, WIDTH - MARGIN, MARGIN + 16 * len(lines), 200
    height = bottom + 30

    def point(step: int, value: float) -> tuple[float, float]:
        x = left + (step / max(steps - 1, 1)) * (right - left)
        return x, bottom - (value - low) / (high - low) * (bottom - top)

    body = [f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" class="axis"/>',
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" class="axis"/>',
            _text(left - 4, top + 4, f"{high:.4g}", "end", 10), _text(left - 4, bottom, f"{low:.4g}", "end", 10),
            _text((left + right) / 2, bottom + 26, "training step", "middle", 10)]
    for step in range(steps):
        x, _ = point(step, low)
        if steps <= 20 or step % max(1, steps // 10) == 0:
            body.append(_text(x, bottom + 13, str(step + 1), "middle", 10))
    if marker is not None and 0 < marker < steps:
        x = (point(marker - 1, low)[0] + point(marker, low)[0]) / 2
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" class="marker"/>')
        body.append(_text(x + 3, top + 10, marker_label, "start", 10))
    for index, line in enumerate(lines):
        points = [point(step, v) for step, v in enumerate(line.values) if v is not None and math.isfinite(v)]
        dash = ' stroke-dasharray="6 4"' if line.dashed else ""
        coordinates = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        body.append(f'<polyline points="{coordinates}" fill="none" stroke="{line.colour}" stroke-width="2"{dash}>'
                    f"<title>{escape(line.name)}</title></polyline>")
        body.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{line.colour}"/>' for x, y in points)
        legend_y = MARGIN + 16 * index
        body.append(f'<line x1="{left + 8}" y1="{legend_y}" x2="{left + 32}" y2="{legend_y}" stroke="{line.colour}" '
                    f'stroke-width="2"{dash}/>')
        body.append(_text(left + 38, legend_y + 4, line.name))
    return _svg(WIDTH, height, body, title)


def bar_chart(bars: Sequence[tuple[str, float]], title: str, maximum: float | None = None, unit: str = "") -> str:
    """One horizontal bar per ``(label, value)``, scaled to ``maximum`` (default: the largest value).

    Example:
        >>> svg = bar_chart([("roundtrip mismatch", 3), ("resume <resume>", 1)], "findings")
        >>> svg.count("<rect"), "resume &lt;resume&gt;" in svg
        (2, True)
    """
    top = max([maximum or 0.0] + [value for _label, value in bars]) or 1.0
    left, right = LABEL_WIDTH + 40, WIDTH - 70
    body = []
    for index, (label, value) in enumerate(bars):
        y = MARGIN + ROW_HEIGHT * index
        width = max(0.0, value) / top * (right - left)
        body.append(_text(left - 6, y + 14, label, "end"))
        body.append(f'<rect x="{left}" y="{y + 3}" width="{width:.1f}" height="{ROW_HEIGHT - 7}" class="bar">'
                    f"<title>{escape(f'{label}: {value:.4g}{unit}')}</title></rect>")
        body.append(_text(left + width + 4, y + 14, f"{value:.4g}{unit}", "start", 10))
    return _svg(WIDTH, MARGIN * 2 + ROW_HEIGHT * len(bars), body, title)
