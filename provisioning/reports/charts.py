"""Server-side SVG charts: no JavaScript, no library, nothing fetched at run time.

Each chart is an ``<svg role="img">`` with a title and description, a ``<title>`` on every bar (a
tooltip), and the same numbers as a table (``Chart.rows``) that the template shows beside it for
screen readers and for anyone who prefers numbers.
"""

from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 720
HEIGHT = 240
MARGIN_LEFT = 48
MARGIN_BOTTOM = 36
MARGIN_TOP = 12
MARGIN_RIGHT = 8

STATUS_COLOURS = {
    "Success": "#107c10",
    "Failure": "#c50f1f",
    "Skipped": "#8a8886",
    "Warning": "#c19c00",
}
PALETTE = ["#0078d4", "#8764b8", "#00b7c3", "#ca5010", "#498205", "#e3008c", "#4f6bed"]


@dataclass
class Series:
    name: str
    values: list[float]
    colour: str = ""


@dataclass
class Chart:
    chart_id: str
    title: str
    description: str
    labels: list[str]
    series: list[Series]
    unit: str = ""
    svg: SafeString = field(default_factory=lambda: mark_safe(""))

    @property
    def rows(self) -> list[list]:
        """Label, then one value per series: the table alternative."""
        return [
            [label, *[_fmt(s.values[i]) for s in self.series]]
            for i, label in enumerate(self.labels)
        ]

    @property
    def legend(self) -> list[Series]:
        return self.series


def _fmt(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}"


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def stacked_bars(
    chart_id: str,
    title: str,
    description: str,
    labels: list[str],
    series: list[Series],
    *,
    unit: str = "",
) -> Chart:
    """Bars stacked per label (one bar per time bucket), drawn as SVG."""
    for number, item in enumerate(series):
        item.colour = item.colour or PALETTE[number % len(PALETTE)]
    chart = Chart(chart_id, title, description, labels, series, unit)
    count = max(len(labels), 1)
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    top = _nice_ceiling(max(totals, default=0))
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    slot = plot_w / count
    bar = max(1.0, slot * 0.8)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="xMidYMid meet" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" data-testid="{chart_id}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    for tick in range(5):
        value = top * tick / 4
        y = MARGIN_TOP + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e1dfdd" stroke-width="1"/>'
            f'<text x="{MARGIN_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10" '
            f'fill="#605e5c">{escape(_fmt(value))}</text>'
        )
    label_every = max(1, count // 8)
    for i, label in enumerate(labels):
        x = MARGIN_LEFT + slot * i + (slot - bar) / 2
        base = MARGIN_TOP + plot_h
        for item in series:
            value = item.values[i]
            if value <= 0:
                continue
            height = plot_h * value / top
            base -= height
            tip = f"{label} — {item.name}: {_fmt(value)}{(' ' + unit) if unit else ''}"
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                f'fill="{item.colour}"><title>{escape(tip)}</title></rect>'
            )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 14}" font-size="10" '
                f'text-anchor="middle" fill="#605e5c">{escape(label)}</text>'
            )
    parts.append("</svg>")
    chart.svg = mark_safe("".join(parts))  # every text above went through escape()
    return chart
