"""Server-drawn bar charts: bar heights follow the values on a rounded scale."""

from __future__ import annotations

from bot.web.charts import HEIGHT, bar_chart


def test_bars_are_as_tall_as_their_values_on_a_rounded_scale() -> None:
    values_a, values_b = [3, 7, 0], [12, 1, 5]
    chart = bar_chart("c", "标题", ["1月", "2月", "3月"], [("甲", values_a), ("乙", values_b)])
    assert [t.text for t in chart.scale] == ["0", "20"]  # 12 rounds up to 20
    assert len(chart.bars) == 6
    full = chart.baseline - 12  # the plot: from the top margin down to the baseline
    for bar, value in zip(chart.bars, [3, 12, 7, 1, 0, 5], strict=True):
        assert abs(bar.height - full * value / 20) < 0.01
        assert abs(bar.y + bar.height - chart.baseline) < 0.01
    assert chart.bars[1].label == "1月 乙：12"
    assert chart.bars[0].x < chart.bars[1].x < chart.bars[2].x
    assert chart.baseline < HEIGHT


def test_an_empty_period_draws_no_bar_and_labels_a_month_of_days_sparsely() -> None:
    days = [f"{d}日" for d in range(1, 32)]
    chart = bar_chart("c", "标题", days, [("甲", [0] * 31)])
    assert all(bar.height == 0 for bar in chart.bars)
    assert [t.text for t in chart.scale] == ["0", "0"]
    assert 8 <= len(chart.categories) <= 12 and chart.categories[0].text == "1日"
