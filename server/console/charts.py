"""A small server-rendered SVG chart: no script library, no CDN, nothing inline to run.

The geometry is computed here; the template only writes <rect>/<polyline> elements with
presentation attributes (which a Content-Security-Policy without 'unsafe-inline' allows).
"""

from dataclasses import dataclass, field


@dataclass
class Bar:
    """One day's bar pair."""

    x: float
    width: float
    submitted_y: float
    submitted_h: float
    approved_y: float
    approved_h: float
    label: str
    title: str


@dataclass
class DailyChart:
    """Everything the template needs to draw the daily chart."""

    width: int
    height: int
    top: int
    bottom: int
    left: int
    right: int
    bars: list[Bar] = field(default_factory=list)
    line: str = ""
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    rate_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    max_count: int = 0


def daily_chart(points, *, width: int = 960, height: int = 280) -> DailyChart:
    """Lay out bars (surveys and approvals per day) and the cumulative visit-rate line."""
    chart = DailyChart(width=width, height=height, top=16, bottom=height - 36, left=44,
                       right=width - 48)
    if not points:
        return chart
    plot_h = chart.bottom - chart.top
    plot_w = chart.right - chart.left
    step = plot_w / len(points)
    top_count = max(1, max(max(p.submitted, p.approved) for p in points))
    nice = _nice_ceiling(top_count)
    chart.max_count = nice
    bar_w = max(1.0, step * 0.4)
    coordinates = []
    label_every = max(1, len(points) // 10)
    for index, point in enumerate(points):
        x = chart.left + index * step
        submitted_h = plot_h * point.submitted / nice
        approved_h = plot_h * point.approved / nice
        chart.bars.append(Bar(
            x=round(x + step * 0.1, 2), width=round(bar_w, 2),
            submitted_y=round(chart.bottom - submitted_h, 2), submitted_h=round(submitted_h, 2),
            approved_y=round(chart.bottom - approved_h, 2), approved_h=round(approved_h, 2),
            label=point.day.isoformat(),
            title=f"{point.day.isoformat()}: {point.submitted} / {point.approved}",
        ))
        if point.visit_rate is not None:
            y = chart.bottom - plot_h * min(1.0, point.visit_rate)
            coordinates.append(f"{x + step / 2:.2f},{y:.2f}")
        if index % label_every == 0:
            chart.x_labels.append((round(x + step / 2, 2), point.day.strftime("%m-%d")))
    chart.line = " ".join(coordinates)
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        y = round(chart.bottom - plot_h * fraction, 2)
        chart.y_ticks.append((y, f"{nice * fraction:g}"))
        chart.rate_ticks.append((y, f"{fraction:.0%}"))
    return chart


def _nice_ceiling(value: int) -> int:
    """Return a round number at least `value` (1, 2, 5 × 10^n) for the axis."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if factor * magnitude >= value:
                return factor * magnitude
        magnitude *= 10
