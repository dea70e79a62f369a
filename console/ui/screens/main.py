"""The main screen: everything the on-call engineer watches, re-rendered from each
snapshot. It holds no state of its own beyond the last snapshot's rendering."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen

from console.engine.model import Phase, Snapshot
from console.ui.widgets.gate_table import GateTable
from console.ui.widgets.health_strip import HealthStrip
from console.ui.widgets.journal_tail import JournalTail
from console.ui.widgets.metric_chart import STALE_AFTER_S, MetricChart
from console.ui.widgets.rollback_panel import RollbackPanel
from console.ui.widgets.spark_panel import SparkPanel
from console.ui.widgets.status_line import StatusLine
from console.ui.widgets.summaries import Summaries
from console.ui.widgets.tiny_summary import TinySummary
from console.ui.widgets.traffic_slider import TrafficFoot, TrafficSlider

CHARTS: tuple[tuple[str, str], ...] = (
    ("auth_success_pct", "auth ok %"),
    ("payment_success_pct", "payments ok %"),
    ("auth_p95_s", "auth p95 s"),
    ("auth_error_pct", "auth err %"),
    ("txn_per_s", "tx/s"),
    ("ws_connections", "ws conns"),
    ("ws_reconnects_per_h", "ws reconn/h"),
    ("traffic_pct", "traffic %"),
)
"""Charted metrics in order of importance: small screens show the first ones."""

CHART_INTERVAL_S = 3.0
"""Least seconds between two redraws of one chart. A redraw re-sends the chart's
whole area (about 1.6 KB for a 38x7 chart at 256 colours): at 1 s the 80x24 screen
measured 3.6 KB/s, at 3 s 1.5 KB/s, inside the 2 KB/s budget."""

LOW_BANDWIDTH_VALUES_S = 10.0
"""In low-bandwidth mode, sparklines and the gates' numbers are redrawn at most
this often (a verdict change at once): at 5% in the demo, 80x24, this keeps the
screen near 0.3 KB/s; at 5 s the sparklines alone cost ~250 B/s."""

MAIN_CSS = Path(__file__).with_name("main.tcss")
"""Loaded by the app: Textual does not load a default screen's own CSS_PATH."""


class MainScreen(Screen[None]):
    """Status line, traffic, charts (or sparklines), health, gates, journal."""

    def __init__(
        self,
        *,
        low_bandwidth: bool,
        chart_interval_s: float = CHART_INTERVAL_S,
        stale_after_s: float = STALE_AFTER_S,
        on_mounted: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self._on_mounted = on_mounted
        """Called once the widgets exist, before the first paint: the first frame
        already shows the engine's snapshot."""
        self.low_bandwidth = low_bandwidth
        self.chart_interval_s = chart_interval_s
        self.waiting: str | None = None
        """Set while the engine has not started (its deferred start waits, e.g. for
        the demo's simulator): said in the health rows and the status line."""
        self.stale_after_s = stale_after_s
        """Chart titles show '–' for a latest point older than this (the gates'
        data age limit)."""

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Vertical(id="main"):
            with Horizontal(id="top"):
                with Vertical(id="traffic-pane"):
                    yield TrafficSlider(id="traffic")
                    yield TrafficFoot(id="traffic-foot")
                yield Summaries(id="summaries")
            yield RollbackPanel(id="rollback")
            with Vertical(id="charts"):
                for rank, (metric, title) in enumerate(CHARTS, start=1):
                    chart = MetricChart(
                        metric, title, min_interval_s=self.chart_interval_s
                    )
                    chart.add_class(f"rank-{rank}")
                    yield chart
            yield SparkPanel(CHARTS, interval_s=LOW_BANDWIDTH_VALUES_S, id="sparks")
            yield HealthStrip(id="health")
            yield GateTable(id="gates")
            yield JournalTail(id="journal")
        yield TinySummary(id="tiny")

    def on_mount(self) -> None:
        self.set_class(self.low_bandwidth, "-low-bandwidth")
        self.query_one(TrafficSlider).focus()
        if self._on_mounted is not None:
            self._on_mounted()

    def set_low_bandwidth(self, on: bool) -> None:
        """Switch between charts and numbers-with-sparklines."""
        self.low_bandwidth = on
        self.set_class(on, "-low-bandwidth")

    def tick(self, snap: Snapshot | None, now: float) -> None:
        """Once a second: only the countdowns move."""
        # On a slow link, countdowns tick by the minute (until the last one).
        coarse = self.low_bandwidth
        starting = self.waiting is not None
        self.query_one(StatusLine).show(snap, now, coarse=coarse, starting=starting)
        self.query_one(TinySummary).show(snap, now, coarse=coarse)
        if snap is not None:
            self.query_one(TrafficSlider).show(snap, now)
            self.query_one(TrafficFoot).show(snap, now, coarse=coarse)

    def show(self, snap: Snapshot, now: float) -> None:
        """Render a whole snapshot."""
        self.tick(snap, now)
        self.set_class(snap.phase is Phase.ROLLED_BACK, "-rolled-back")
        self.query_one(Summaries).show(snap, now)
        self.query_one(RollbackPanel).show(snap)
        health = self.query_one(HealthStrip)
        if self.waiting is not None and not snap.health:
            health.set_content(Content.styled(self.waiting, "bold $warning"))
        else:
            health.show(snap, now, coarse=self.low_bandwidth)
        values_every_s = LOW_BANDWIDTH_VALUES_S if self.low_bandwidth else 0.0
        self.query_one(GateTable).show(snap, values_every_s=values_every_s)
        self.query_one(JournalTail).show(snap)
        targets = {g.metric: g.threshold for g in snap.gates}
        no_data = {g.metric for g in snap.gates if g.value is None}
        if self.low_bandwidth:
            self.query_one(SparkPanel).show(snap.series, targets)
            return
        for chart in self.query(MetricChart):
            # A hidden chart is not rebuilt: it catches up on the next snapshot.
            if chart.display:
                chart.show(
                    snap.series.get(chart.metric, ()),
                    targets.get(chart.metric),
                    now=now,
                    max_age_s=self.stale_after_s,
                    no_data=chart.metric in no_data,
                )
