"""Inline SVG charts for the dashboard: drawn on the server, no script and no network.

Drawn about as wide as they are shown (a phone's column, a third of a desktop page), so that the
labels' 13 units stay at least 12 pixels on screen. A month without data — not begun yet, before the
branch existed, nobody to count — is drawn as "无数据", never as a zero.
"""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT, LEFT, BOTTOM, TOP, RIGHT = 360, 190, 34, 34, 14, 6
FONT = 13
NO_DATA = "#bdbdbd"


def branch_charts(trend: list[dict]) -> dict[str, Markup]:
    months = [f"{int(row['month'][5:7])}" for row in trend]
    return {
        "meetings": bars(months, [("应开", [r["meetings_required"] for r in trend], "#c8ccd4"),
                                  ("实开", [r["meetings_done"] for r in trend], "#b22222")], "三会一课等会议（次）"),
        "coverage": line(months, [None if r["coverage_rate"] is None else round(r["coverage_rate"] * 100)
                                  for r in trend], "教育覆盖率（%）", top=100),
        "care": bars(months, [("关怀", [r["care"] for r in trend], "#d4a017")], "关怀慰问（人次）"),
    }


def _plot_height() -> float:
    return HEIGHT - BOTTOM - TOP


def _slot(months: list[str]) -> float:
    return (WIDTH - LEFT - RIGHT) / max(len(months), 1)


def _frame(title: str, top: float, months: list[str], missing: list[bool]) -> list[str]:
    plot = _plot_height()
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT + 22}" role="img"'
             f' aria-label="{escape(title)}" class="chart" data-font="{FONT}" data-width="{WIDTH}">',
             f'<title>{escape(title)}</title>']
    for step in range(5):
        value, y = top * step / 4, TOP + plot - plot * step / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{LEFT - 4}" y="{y + 4:.1f}" font-size="{FONT}" text-anchor="end">{value:g}</text>')
    slot = _slot(months)
    for index, month in enumerate(months):
        x = LEFT + slot * index + slot / 2
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 16}" font-size="{FONT}" text-anchor="middle">'
                     f'{escape(month)}</text>')
        if missing[index]:
            parts.append(f'<text x="{x:.1f}" y="{TOP + plot - 4:.1f}" font-size="{FONT}" text-anchor="middle"'
                         f' fill="{NO_DATA}" class="no-data">—<title>{escape(month)}月 无数据</title></text>')
    parts.append(f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 2}" font-size="{FONT}" text-anchor="end"'
                 f' fill="#666">月</text>')
    return parts


def _legend(parts: list[str], number: int, label: str, colour: str) -> None:
    x = LEFT + number * 70
    parts.append(f'<rect x="{x}" y="{HEIGHT + 6}" width="12" height="12" fill="{colour}"/>'
                 f'<text x="{x + 16}" y="{HEIGHT + 17}" font-size="{FONT}">{escape(label)}</text>')


def bars(months: list[str], series: list[tuple[str, list, str]], title: str) -> Markup:
    known = [v for _, values, _ in series for v in values if v is not None]
    top = max([1] + known)
    top = top + (4 - top % 4) % 4
    missing = [all(values[i] is None for _, values, _ in series) for i in range(len(months))]
    parts = _frame(title, top, months, missing)
    slot, plot = _slot(months), _plot_height()
    width = slot * 0.7 / len(series)
    for number, (label, values, colour) in enumerate(series):
        for index, value in enumerate(values):
            if value is None:
                continue
            height = plot * value / top
            x = LEFT + slot * index + slot * 0.15 + width * number
            parts.append(f'<rect x="{x:.1f}" y="{TOP + plot - height:.1f}" width="{width:.1f}" height="{height:.1f}"'
                         f' fill="{colour}"><title>{escape(months[index])}月 {escape(label)} {value}</title></rect>')
        _legend(parts, number, label, colour)
    parts.append("</svg>")
    return Markup("".join(parts))


def line(months: list[str], values: list[float | None], title: str, top: float = 100) -> Markup:
    """A line broken where a month has no data: a gap, not a fall to zero."""
    parts = _frame(title, top, months, [v is None for v in values])
    slot, plot = _slot(months), _plot_height()
    segment: list[tuple[float, float, float]] = []
    for index, value in enumerate([*values, None]):
        if value is not None:
            segment.append((LEFT + slot * index + slot / 2, TOP + plot - plot * value / top, value))
            continue
        if segment:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in segment)
            parts.append(f'<polyline points="{path}" fill="none" stroke="#b22222" stroke-width="2"/>')
            parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="#b22222"><title>{v:g}%</title></circle>'
                         for x, y, v in segment)
        segment = []
    parts.append("</svg>")
    return Markup("".join(parts))
