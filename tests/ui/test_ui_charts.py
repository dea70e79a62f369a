"""Charts and formatting: odd data never crashes, identical data is not redrawn."""

from __future__ import annotations

import math

import pytest
from rich.text import Text
from textual.app import App, ComposeResult

from console.ui import format as fmt
from console.ui.widgets.metric_chart import MetricChart, segments, y_range
from console.ui.widgets.spark_panel import finite_values

pytestmark = pytest.mark.timeout(30)

NAN = math.nan


def test_segments_split_at_nan_and_keep_gaps() -> None:
    points = [(0, 1.0), (1, 2.0), (2, NAN), (3, NAN), (4, 5.0), (5, math.inf)]
    assert segments(points) == [([0, 1], [1.0, 2.0]), ([4], [5.0])]
    assert segments([]) == []
    assert segments([(0, NAN)]) == []


def test_y_range_is_never_flat() -> None:
    assert y_range([5.0, 5.0], None) == (4.0, 6.0)
    lo, hi = y_range([0.0], None)
    assert (lo, hi) == (-1.0, 1.0)
    lo, hi = y_range([99.8, 99.9], 99.5)
    assert lo < 99.5 < 99.8 < 99.9 < hi


def test_format_helpers_handle_missing_values() -> None:
    assert fmt.duration(None) == "–"
    assert fmt.duration(NAN) == "–"
    assert fmt.duration(45) == "45s"
    assert fmt.duration(723) == "12m03s"
    assert fmt.duration(4 * 3600 + 12 * 60) == "4h12m"
    assert fmt.duration(2 * 86400 + 3 * 3600) == "2d03h"
    assert fmt.duration(-5) == "0s"
    assert fmt.duration(723, coarse=True) == "12m"
    assert fmt.duration(45, coarse=True) == "45s"
    assert fmt.freshness(None, 100.0) == "–"
    assert fmt.freshness(95.0, 100.0) == "<10s"
    assert fmt.freshness(50.0, 100.0) == "<1m"
    assert fmt.freshness(0.0, 800.0) == "13m ago"
    assert fmt.pct(5) == "5.0%"
    assert fmt.pct(None) == "–"
    assert fmt.ms(41.4) == "41 ms"
    assert fmt.clock(1_780_000_000.0) == "20:26:40"
    assert finite_values([(0, 1.0), (1, NAN), (2, 3.0)], 60) == [1.0, 3.0]


def plain(chart: MetricChart) -> str:
    """The chart's text as the terminal would show it (colours dropped)."""
    rendered = chart.render()
    assert isinstance(rendered, Text)
    return rendered.plain


class ChartApp(App[None]):
    def compose(self) -> ComposeResult:
        yield MetricChart("m", "metric", min_interval_s=0.2)


DATA = {
    "empty": [],
    "all nan": [(0.0, NAN), (1.0, NAN)],
    "single point": [(0.0, 42.0)],
    "constant": [(float(t), 7.0) for t in range(30)],
    "gaps": [(0.0, 1.0), (1.0, NAN), (2.0, 3.0), (3.0, 4.0), (4.0, NAN)],
    "infinite": [(0.0, math.inf), (1.0, -math.inf), (2.0, 1.0)],
}


@pytest.mark.parametrize("name", list(DATA))
@pytest.mark.parametrize("target", [None, 99.5])
async def test_chart_draws_odd_data_without_error(
    name: str, target: float | None
) -> None:
    app = ChartApp()
    async with app.run_test(size=(40, 10)) as pilot:
        chart = app.query_one(MetricChart)
        chart.show(DATA[name], target)
        await pilot.pause()
        assert chart.draws == 1
        lines = plain(chart).splitlines()
        assert len(lines) == 10
        if name in ("empty", "all nan"):
            assert "metric: no data" in lines[0]


async def test_chart_skips_identical_data_and_rate_limits() -> None:
    app = ChartApp()
    async with app.run_test(size=(40, 10)) as pilot:
        chart = app.query_one(MetricChart)
        data = [(float(t), float(t % 5)) for t in range(20)]
        chart.show(data, 3.0)
        chart.show(list(data), 3.0)
        assert chart.draws == 1
        chart.show([*data, (20.0, 9.0)], 3.0)
        chart.show([*data, (20.0, 9.0), (21.0, 8.0)], 3.0)
        assert chart.draws == 1  # within min_interval_s: one deferred redraw
        await pilot.pause(0.4)
        assert chart.draws == 2
        assert "metric 8" in plain(chart).splitlines()[0]
