"""Small inline SVG charts for the run report: no library, no network, text escaped, sizes fixed."""
from __future__ import annotations

from html import escape
from typing import Sequence

PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d")


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (f'<svg class="chart" role="img" aria-label="{escape(label)}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" '
            f'font-size="11">{"".join(body)}</svg>')


def bars(rows: Sequence[tuple[str, float]], label: str, unit: str = "", width: int = 520) -> str:
    """Horizontal bars, one per (name, value)."""
    rows = list(rows)
    top = max((value for _, value in rows), default=0) or 1
    height = 18 * len(rows) + 8
    body = []
    for i, (name, value) in enumerate(rows):
        y = 4 + 18 * i
        length = (width - 260) * value / top
        body.append(f'<text x="150" y="{y + 12}" text-anchor="end">{escape(name)}</text>'
                    f'<rect x="156" y="{y + 2}" width="{max(length, 0):.1f}" height="13" fill="{PALETTE[0]}"/>'
                    f'<text x="{160 + length:.1f}" y="{y + 12}">{escape(_number(value))}{escape(unit)}</text>')
    return _svg(width, height, body, label)


def paired_bars(rows: Sequence[tuple[str, float, float]], names: tuple[str, str], label: str, width: int = 520) -> str:
    """Two bars per row (e.g. target and achieved share), with a legend."""
    rows = list(rows)
    top = max((max(a, b) for _, a, b in rows), default=0) or 1
    height = 26 * len(rows) + 24
    body = [f'<rect x="156" y="4" width="10" height="10" fill="{PALETTE[0]}"/><text x="170" y="13">{escape(names[0])}</text>'
            f'<rect x="260" y="4" width="10" height="10" fill="{PALETTE[1]}"/><text x="274" y="13">{escape(names[1])}</text>']
    for i, (name, a, b) in enumerate(rows):
        y = 22 + 26 * i
        body.append(f'<text x="150" y="{y + 14}" text-anchor="end">{escape(name)}</text>')
        for k, (value, colour) in enumerate(((a, PALETTE[0]), (b, PALETTE[1]))):
            length = (width - 240) * value / top
            body.append(f'<rect x="156" y="{y + 1 + 11 * k}" width="{max(length, 0):.1f}" height="10" fill="{colour}"/>'
                        f'<text x="{160 + length:.1f}" y="{y + 10 + 11 * k}">{escape(_number(value))}</text>')
    return _svg(width, height, body, label)


def histogram(values: Sequence[float], label: str, bins: int = 20, low: float = 0.0, high: float = 1.0,
              width: int = 520, height: int = 160) -> str:
    counts = [0] * bins
    for value in values:
        if value == value:  # not NaN
            counts[min(bins - 1, max(0, int((value - low) / (high - low) * bins)))] += 1
    top = max(counts) or 1
    bar = (width - 60) / bins
    body = [f'<line x1="40" y1="{height - 20}" x2="{width - 10}" y2="{height - 20}" stroke="#888"/>']
    for i, count in enumerate(counts):
        h = (height - 40) * count / top
        body.append(f'<rect x="{40 + i * bar:.1f}" y="{height - 20 - h:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" '
                    f'fill="{PALETTE[0]}"><title>{low + i * (high - low) / bins:.2f}: {count}</title></rect>')
    body.append(f'<text x="40" y="{height - 5}">{low:g}</text><text x="{width - 10}" y="{height - 5}" '
                f'text-anchor="end">{high:g}</text><text x="36" y="20" text-anchor="end">{top}</text>')
    return _svg(width, height, body, label)


def lines(series: dict[str, Sequence[tuple[float, float]]], label: str, width: int = 520, height: int = 200) -> str:
    """Line chart of several (x, y) series, e.g. loss per step of each training stage."""
    points = [p for values in series.values() for p in values]
    if not points:
        return ""
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)

    def at(x: float, y: float) -> str:
        return f"{50 + (width - 170) * (x - x0) / (x1 - x0):.1f},{height - 25 - (height - 40) * (y - y0) / (y1 - y0):.1f}"

    body = [f'<line x1="50" y1="{height - 25}" x2="{width - 120}" y2="{height - 25}" stroke="#888"/>'
            f'<line x1="50" y1="10" x2="50" y2="{height - 25}" stroke="#888"/>'
            f'<text x="46" y="16" text-anchor="end">{_number(y1)}</text>'
            f'<text x="46" y="{height - 25}" text-anchor="end">{_number(y0)}</text>'
            f'<text x="50" y="{height - 8}">{_number(x0)}</text>'
            f'<text x="{width - 120}" y="{height - 8}" text-anchor="end">{_number(x1)}</text>']
    for i, (name, values) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        if values:
            body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                        f'points="{" ".join(at(x, y) for x, y in values)}"/>')
        body.append(f'<rect x="{width - 112}" y="{10 + 14 * i}" width="10" height="10" fill="{colour}"/>'
                    f'<text x="{width - 98}" y="{19 + 14 * i}">{escape(name)}</text>')
    return _svg(width, max(height, 24 + 14 * len(series)), body, label)


def heatmap(rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[float]], label: str,
            cell: int = 22) -> str:
    """Rows x columns of shares in [0, 1] (e.g. routing mass of each discipline's tokens per expert)."""
    top = max((v for row in values for v in row), default=0) or 1
    width, height = 150 + cell * len(columns) + 10, 20 + cell * len(rows) + 10
    body = [f'<text x="{150 + cell * j + cell / 2}" y="14" text-anchor="middle">{escape(str(c))}</text>'
            for j, c in enumerate(columns)]
    for i, (name, row) in enumerate(zip(rows, values)):
        y = 20 + cell * i
        body.append(f'<text x="146" y="{y + cell / 2 + 4}" text-anchor="end">{escape(name)}</text>')
        for j, value in enumerate(row):
            shade = int(255 - 200 * value / top)
            body.append(f'<rect x="{150 + cell * j}" y="{y}" width="{cell - 1}" height="{cell - 1}" '
                        f'fill="rgb({shade},{shade},255)"><title>{escape(name)} / {escape(str(columns[j]))}: '
                        f'{value:.3f}</title></rect>')
    return _svg(width, height, body, label)


def _number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 10:
        return f"{int(value):,}"
    return f"{value:.3g}"
