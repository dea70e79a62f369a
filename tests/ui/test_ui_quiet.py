"""Updates that would draw the same thing send nothing; a change repaints only
the lines that differ (the low-bandwidth byte budget rests on both)."""

from __future__ import annotations

import math

import pytest
from textual.app import App, ComposeResult

from console.ui import format as fmt
from console.ui.widgets.metric_chart import MetricChart
from console.ui.widgets.quiet_static import QuietStatic

NAN = math.nan

pytestmark = pytest.mark.timeout(30)


class Table(QuietStatic):
    DEFAULT_CSS = "Table { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }"


class OneWidget(App[None]):
    def compose(self) -> ComposeResult:
        yield Table(id="t")


def lines(*rows: str) -> str:
    return "\n".join(rows)


async def test_only_changed_lines_are_repainted() -> None:
    app = OneWidget()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(Table)
        table.set_content(lines("gate a 99.1", "gate b 98.0", "gate c 97.0"))
        await pilot.pause()
        start = table.repainted_lines

        assert table.set_content(lines("gate a 99.1", "gate b 12.5", "gate c 97.0"))
        assert table.repainted_lines - start == 1
        await pilot.pause()
        assert "gate b 12.5" in str(table.render_line(1).text)

        # The same text again: nothing at all.
        assert not table.set_content(lines("gate a 99.1", "gate b 12.5", "gate c 97.0"))
        assert table.repainted_lines - start == 1


async def test_text_past_the_ellipsis_repaints_nothing() -> None:
    app = OneWidget()
    async with app.run_test(size=(30, 10)) as pilot:
        table = app.query_one(Table)
        table.set_content("uptime 100.00 % over 60 s (data 0.7 s old)")
        await pilot.pause()
        start = table.repainted_lines
        assert not table.set_content("uptime 100.00 % over 60 s (data 0.9 s old)")
        assert table.repainted_lines == start
        # A visible change does repaint, and a new line count lays out again.
        assert table.set_content("uptime 99.00 % over 60 s (data 0.9 s old)")
        assert table.set_content(lines("uptime 99.00 %", "ws 1"))
        await pilot.pause()
        assert table.size.height == 2


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "–"), (3.4, "<10 ms"), (14.0, "10 ms"), (46.0, "50 ms"), (2600.0, "3 s")],
)
def test_coarse_latency(value: float | None, text: str) -> None:
    assert fmt.coarse_ms(value) == text


class OneChart(App[None]):
    def compose(self) -> ComposeResult:
        yield MetricChart("auth_success_pct", "auth ok %", min_interval_s=0.0)


async def test_chart_redraw_repaints_only_lines_that_differ() -> None:
    app = OneChart()
    async with app.run_test(size=(40, 8)) as pilot:
        chart = app.query_one(MetricChart)
        await pilot.pause()
        # No data twice, at other times: a new signature, the same picture.
        chart.show([(0.0, NAN), (1.0, NAN)], 99.5, now=1.0)
        await pilot.pause()
        first = chart.repainted_lines
        assert first == 8  # the first build repaints the whole chart
        chart.show([(1.0, NAN), (2.0, NAN)], 99.5, now=2.0)
        await pilot.pause()
        assert chart.draws == 2
        assert chart.repainted_lines == first

        # Data arrives (every line changes), then one point in the middle moves:
        # the frame, title and axis lines are not sent again.
        data = [(float(t), 99.0 + t / 10) for t in range(20)]
        chart.show(data, 99.5, now=19.0)
        await pilot.pause()
        assert "auth ok % 100.9" in str(chart.render())
        with_data = chart.repainted_lines
        data[10] = (10.0, 99.2)
        chart.show(data, 99.5, now=19.0)
        await pilot.pause()
        assert chart.draws == 4
        assert 0 < chart.repainted_lines - with_data < 8


def test_coarse_countdown_moves_in_five_second_steps() -> None:
    assert [fmt.countdown(s, coarse=True) for s in (24.2, 21.0, 20.0, 3.0)] == [
        "25s",
        "25s",
        "20s",
        "5s",
    ]
    assert fmt.countdown(24.2) == "24s"
    assert fmt.countdown(723, coarse=True) == "12m"
    assert fmt.countdown(None, coarse=True) == "–"


async def test_low_bandwidth_gates_redraw_numbers_rarely_verdicts_at_once() -> None:
    from dataclasses import replace

    from ui_fake_engine import make_snapshot

    from console.engine.model import Verdict
    from console.ui.widgets.gate_table import GateTable

    class Gates(App[None]):
        def compose(self) -> ComposeResult:
            yield GateTable()

    app = Gates()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(GateTable)
        snap = make_snapshot()
        table.show(snap, values_every_s=60.0)
        await pilot.pause()
        start = table.repainted_lines
        first = snap.gates[0]
        moved = replace(first, why=first.why.replace("over", "OVER"))
        table.show(replace(snap, gates=(moved, *snap.gates[1:])), values_every_s=60)
        assert table.repainted_lines == start  # only a number moved: later
        breach = replace(first, verdict=Verdict.BREACH, consecutive_breaches=1)
        table.show(replace(snap, gates=(breach, *snap.gates[1:])), values_every_s=60)
        assert table.repainted_lines == start + 1  # a verdict: at once, one line
