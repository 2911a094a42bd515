"""A table of figures as the statistics pages show it: a chart drawn on the server as SVG (no
script, nothing from elsewhere: the CSP allows neither), the same numbers as a table beside it,
and as CSV."""

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from register.spreadsheets import spreadsheet_safe

# Colours told apart by people with the common colour-vision deficiencies (Okabe and Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 8, 12, 56


@dataclass(frozen=True)
class Figures:
    """Numbers in rows (periods, stages, companies) and columns (the series a chart draws)."""

    title: str
    heading: str
    rows: list[str]
    columns: list[str]
    cells: list[list[int | Decimal]]
    # Bars of a row on top of each other (parts of one whole), else side by side.
    stacked: bool = False
    # One line per column instead of bars: a level over time rather than counts.
    line: bool = False
    # Links per row, e.g. to a company's admin page; "" for none.
    links: list[str] = field(default_factory=list)
    # The chart draws the first this many columns (0: all); the others are volumes on another
    # scale (records scrubbed beside scrubs), for the table only.
    drawn: int = 0
    # The chart draws the first this many rows (0: all): the largest, where rows are sorted so.
    drawn_rows: int = 0

    @property
    def colours(self) -> list[tuple[str, str]]:
        """The drawn columns and their colours: the chart's legend."""
        drawn = self.columns[: self.drawn or None]
        return [(column, PALETTE[i % len(PALETTE)]) for i, column in enumerate(drawn)]

    @property
    def table(self) -> list[tuple[str, str, list]]:
        links = self.links or [""] * len(self.rows)
        return list(zip(self.rows, links, self.cells, strict=True))

    def totals(self) -> list:
        return [sum(row[i] for row in self.cells) for i in range(len(self.columns))]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(
            [spreadsheet_safe(str(self.heading))] + [spreadsheet_safe(str(c)) for c in self.columns]
        )
        for row, cells in zip(self.rows, self.cells, strict=True):
            writer.writerow([spreadsheet_safe(str(row)), *cells])
        return out.getvalue()

    def svg(self) -> SafeString:
        return chart_svg(self)


def _nice_top(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ at least `value`: the top of the scale."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _short(value: float) -> str:
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def chart_svg(figures: Figures) -> SafeString:
    """A bar or line chart of `figures`, scaled to its container (viewBox); its title and the
    table beside it tell the numbers to screen readers, so the drawing itself is hidden."""
    labels = figures.rows[: figures.drawn_rows or None]
    values = [
        [float(v) for v in row[: figures.drawn or None]]
        for row in figures.cells[: figures.drawn_rows or None]
    ]
    rows, series = len(labels), len(figures.colours)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    if figures.stacked:
        high = max((sum(v for v in row if v > 0) for row in values), default=0)
    else:
        high = max((max(row, default=0) for row in values), default=0)
    low = min((min(row, default=0) for row in values), default=0)
    top = _nice_top(high)
    bottom = -_nice_top(-low) if low < 0 else 0

    def y(value: float) -> float:
        return TOP + plot_h * (top - value) / (top - bottom)

    parts: list[SafeString] = []
    for tick in range(5):
        value = bottom + (top - bottom) * tick / 4
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#ddd"/>'
                '<text x="{}" y="{}" text-anchor="end" font-size="11">{}</text>',
                LEFT,
                WIDTH - RIGHT,
                f"{y(value):.1f}",
                f"{y(value):.1f}",
                LEFT - 4,
                f"{y(value) + 4:.1f}",
                _short(value),
            )
        )
    slot = plot_w / max(rows, 1)
    # Labels under the axis, thinned out so that they never overlap.
    every = max(1, round(rows / 12))
    for index, label in enumerate(labels):
        if index % every:
            continue
        x = LEFT + slot * (index + 0.5)
        parts.append(
            format_html(
                '<text x="{}" y="{}" font-size="11" text-anchor="end"'
                ' transform="rotate(-35 {} {})">{}</text>',
                f"{x:.1f}",
                HEIGHT - BOTTOM + 14,
                f"{x:.1f}",
                HEIGHT - BOTTOM + 14,
                label[:24],
            )
        )
    if figures.line:
        for column in range(series):
            points = " ".join(
                f"{LEFT + slot * (i + 0.5):.1f},{y(row[column]):.1f}"
                for i, row in enumerate(values)
            )
            parts.append(
                format_html(
                    '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>',
                    points,
                    PALETTE[column % len(PALETTE)],
                )
            )
    else:
        gap = slot * 0.15
        for index, row in enumerate(values):
            x0 = LEFT + slot * index + gap
            width = slot - 2 * gap
            base = 0.0
            for column, value in enumerate(row):
                if figures.stacked:
                    y_top, y_bottom = y(base + value), y(base)
                    x, w = x0, width
                    base += value
                else:
                    w = width / series
                    x = x0 + w * column
                    y_top, y_bottom = y(max(value, 0)), y(min(value, 0))
                if y_bottom - y_top <= 0:
                    continue
                parts.append(
                    format_html(
                        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>',
                        f"{x:.1f}",
                        f"{y_top:.1f}",
                        f"{max(w, 0.5):.1f}",
                        f"{y_bottom - y_top:.1f}",
                        PALETTE[column % len(PALETTE)],
                    )
                )
    parts.append(
        format_html(
            '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#333"/>',
            LEFT,
            WIDTH - RIGHT,
            f"{y(0):.1f}",
            f"{y(0):.1f}",
        )
    )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-hidden="true"'
        ' xmlns="http://www.w3.org/2000/svg">{}</svg>',
        WIDTH,
        HEIGHT,
        mark_safe("".join(parts)),  # noqa: S308 (each part made by format_html above)
    )
