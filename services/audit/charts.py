"""Inline SVG charts for the dashboard: drawn on the server, no script and no network."""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 560, 180, 34, 28, 12


def branch_charts(trend: list[dict]) -> dict[str, Markup]:
    months = [row["month"][5:] + "月" for row in trend]
    return {
        "meetings": bars(months, [("应开", [r["meetings_required"] for r in trend], "#c8ccd4"),
                                  ("实开", [r["meetings_done"] for r in trend], "#b22222")], "三会一课等会议（次）"),
        "coverage": line(months, [None if r["coverage_rate"] is None else round(r["coverage_rate"] * 100, 1)
                                  for r in trend], "教育覆盖率（%）", top=100),
        "care": bars(months, [("关怀", [r["care"] for r in trend], "#d4a017")], "关怀慰问（人次）"),
    }


def _frame(title: str, top: float, months: list[str]) -> list[str]:
    plot_height = HEIGHT - BOTTOM - TOP
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT + 18}" role="img"'
             f' aria-label="{escape(title)}" class="chart">', f'<title>{escape(title)}</title>']
    for step in range(5):
        value = top * step / 4
        y = TOP + plot_height - plot_height * step / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{LEFT - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{value:g}</text>')
    slot = (WIDTH - LEFT) / max(len(months), 1)
    for index, month in enumerate(months):
        x = LEFT + slot * index + slot / 2
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 10}" font-size="10" text-anchor="middle">{escape(month)}</text>')
    return parts


def bars(months: list[str], series: list[tuple[str, list[int], str]], title: str) -> Markup:
    top = max([1] + [v for _, values, _ in series for v in values])
    top = top + (4 - top % 4) % 4
    parts = _frame(title, top, months)
    slot = (WIDTH - LEFT) / max(len(months), 1)
    width = slot * 0.7 / len(series)
    plot_height = HEIGHT - BOTTOM - TOP
    for number, (label, values, colour) in enumerate(series):
        for index, value in enumerate(values):
            height = plot_height * value / top
            x = LEFT + slot * index + slot * 0.15 + width * number
            parts.append(f'<rect x="{x:.1f}" y="{TOP + plot_height - height:.1f}" width="{width:.1f}"'
                         f' height="{height:.1f}" fill="{colour}"><title>{escape(months[index])} {escape(label)}'
                         f' {value}</title></rect>')
        parts.append(f'<rect x="{LEFT + 10 + number * 70}" y="{HEIGHT + 4}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{LEFT + 24 + number * 70}" y="{HEIGHT + 13}" font-size="11">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line(months: list[str], values: list[float | None], title: str, top: float = 100) -> Markup:
    parts = _frame(title, top, months)
    slot = (WIDTH - LEFT) / max(len(months), 1)
    plot_height = HEIGHT - BOTTOM - TOP
    points = [(LEFT + slot * i + slot / 2, TOP + plot_height - plot_height * v / top)
              for i, v in enumerate(values) if v is not None]
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#b22222" stroke-width="2"/>')
        parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#b22222"/>' for x, y in points)
    parts.append("</svg>")
    return Markup("".join(parts))
