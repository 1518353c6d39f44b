"""Grouped bar charts drawn on the server: the geometry of an inline SVG, no script.

The template draws what this computes (``staff/_chart.html``); every chart has a title for
screen readers and its numbers in a table beside it, so the chart is never the only way in.
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 640
HEIGHT = 240
LEFT = 40  # room for the axis labels
BOTTOM = 28
TOP = 12
RIGHT = 8


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int  # the colour (CSS class s0, s1...)
    label: str  # "一月 陪伴式：120", the bar's own tooltip


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    y: float
    text: str


@dataclass(frozen=True, slots=True)
class Chart:
    id: str
    title: str
    width: int
    height: int
    bars: list[Bar]
    categories: list[Tick]  # under the bars
    scale: list[Tick]  # 0 and the top of the value axis
    series: list[tuple[int, str]]  # the legend
    baseline: float


def bar_chart(
    chart_id: str, title: str, categories: list[str], series: list[tuple[str, list[int]]]
) -> Chart:
    """Bars of each series side by side within each category."""
    top = max((v for _, values in series for v in values), default=0)
    scale_top = _nice(top)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_h
    slot = plot_w / max(len(categories), 1)
    bar_w = slot * 0.8 / max(len(series), 1)
    bars = []
    for c, category in enumerate(categories):
        for s, (name, values) in enumerate(series):
            value = values[c]
            height = plot_h * value / scale_top if scale_top else 0.0
            bars.append(
                Bar(
                    x=round(LEFT + slot * c + slot * 0.1 + bar_w * s, 2),
                    y=round(baseline - height, 2),
                    width=round(bar_w, 2),
                    height=round(height, 2),
                    series=s,
                    label=f"{category} {name}：{value}",
                )
            )
    # Label every category when they fit, else every few (days of a month).
    every = max(1, len(categories) // 12 + (len(categories) % 12 > 0))
    ticks = [
        Tick(round(LEFT + slot * (c + 0.5), 2), baseline + 16, category)
        for c, category in enumerate(categories)
        if c % every == 0
    ]
    scale = [Tick(LEFT - 4, baseline, "0"), Tick(LEFT - 4, TOP + 8, str(scale_top))]
    return Chart(
        chart_id,
        title,
        WIDTH,
        HEIGHT,
        bars,
        ticks,
        scale,
        [(s, name) for s, (name, _) in enumerate(series)],
        baseline,
    )


def _nice(value: int) -> int:
    """The top of the value axis: the value rounded up to 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 0
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude
