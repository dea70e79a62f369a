"""One live chart (textual-plotext) that redraws only when its data changed.

A changed chart re-sends its whole area to the terminal, so this widget keeps the
cost down: identical data is not redrawn, and redraws are at most one per
``min_interval_s``. Gaps (NaN) stay gaps, and empty, single-point or constant data
draws a readable chart instead of raising.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from textual.app import RenderResult
from textual.color import Color
from textual.geometry import Size
from textual.strip import Strip
from textual.timer import Timer
from textual.visual import Visual, visualize
from textual_plotext import PlotextPlot

from console.ui.widgets.quiet_static import changed_lines, repaint_lines

Points = Sequence[tuple[float, float]]

STALE_AFTER_S = 10.0
"""Default age beyond which the latest point is not shown as current (the gates'
``metrics.stale_after_s`` default: older data is INSUFFICIENT DATA there too)."""

MISSING = "–"


def latest_text(
    points: Points, now: float | None, max_age_s: float = STALE_AFTER_S
) -> str:
    """The title's value: the latest point, or '–' when it is a gap (NaN), older
    than ``max_age_s`` at ``now``, or there is none, so that a chart never shows a
    value the gates no longer trust."""
    if not points:
        return MISSING
    t, v = points[-1]
    if not math.isfinite(v) or not math.isfinite(t):
        return MISSING
    if now is not None and now - t > max_age_s:
        return MISSING
    return f"{v:.4g}"


def segments(points: Points) -> list[tuple[list[float], list[float]]]:
    """Split (t, v) points at NaN/inf values into runs of finite points."""
    runs: list[tuple[list[float], list[float]]] = []
    xs: list[float] = []
    ys: list[float] = []
    for t, v in points:
        if math.isfinite(v) and math.isfinite(t):
            xs.append(t)
            ys.append(v)
        elif xs:
            runs.append((xs, ys))
            xs, ys = [], []
    if xs:
        runs.append((xs, ys))
    return runs


def y_range(values: Sequence[float], target: float | None) -> tuple[float, float]:
    """Limits that contain the data and the target, never a zero-height range."""
    pool = [*values, *([target] if target is not None else [])]
    lo, hi = min(pool), max(pool)
    pad = (hi - lo) * 0.1 or max(abs(hi) * 0.01, 1.0)
    return lo - pad, hi + pad


class MetricChart(PlotextPlot):
    """A small line chart of one metric with its target drawn as a line."""

    DEFAULT_CSS = """
    MetricChart { height: 1fr; width: 1fr; min-height: 4; }
    """

    def __init__(
        self,
        metric: str,
        title: str,
        *,
        min_interval_s: float = 1.0,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, classes="chart")
        self.metric = metric
        self.title = title
        self.min_interval_s = min_interval_s
        self.draws = 0
        """How many times the plot was rebuilt (tests and the bench read it)."""
        self._signature: object = None
        self.title_text = ""
        """The title last drawn (tests read it)."""
        self._pending: tuple[Points, float | None, str] | None = None
        self._last_draw = -math.inf
        self._timer: Timer | None = None
        self._rendered: tuple[Size, str, RenderResult, list[Strip]] | None = None
        """The last build at (size, theme), its renderable and its lines: a
        redraw repaints only the lines that differ (title and frame rarely do)."""
        self.repainted_lines = 0
        """Lines repainted by redraws so far (a whole repaint counts its height)."""

    def render(self) -> RenderResult:
        """The plot, built once per redraw (not again for each paint)."""
        cached = self._rendered
        if cached is not None and cached[:2] == (self.size, self.app.theme):
            return cached[2]
        return super().render()

    def show(
        self,
        points: Points,
        target: float | None,
        *,
        now: float | None = None,
        max_age_s: float = STALE_AFTER_S,
        no_data: bool = False,
    ) -> None:
        """Offer new data; it is drawn now, later (rate limit) or not at all (same).

        The title's value is '–' when the latest point is a gap or older than
        ``max_age_s`` at ``now``, or when ``no_data`` (the metric's gate has none).
        """
        latest = MISSING if no_data else latest_text(points, now, max_age_s)
        signature = (tuple(points[-400:]), target, latest)
        if signature == self._signature:
            return
        self._signature = signature
        self._pending = (points, target, latest)
        wait = self._last_draw + self.min_interval_s - time.monotonic()
        if wait <= 0:
            self._flush()
        elif self._timer is None:
            self._timer = self.set_timer(wait, self._flush)

    def _flush(self) -> None:
        self._timer = None
        if self._pending is None:
            return
        points, target, latest = self._pending
        self._pending = None
        self._last_draw = time.monotonic()
        self.draws += 1
        self._draw(points, target, latest)
        self._repaint()

    def _repaint(self) -> None:
        size, theme = self.size, self.app.theme
        if size.width <= 0 or size.height <= 0:
            self._rendered = None
            self.refresh()
            return
        renderable = super().render()
        visual = visualize(self, renderable)
        strips = Visual.to_strips(
            self, visual, size.width, size.height, self.visual_style
        )
        before = self._rendered
        self._rendered = (size, theme, renderable, strips)
        if (
            before is None
            or before[:2] != (size, theme)
            or len(before[3]) != len(strips)
        ):
            self.repainted_lines += size.height
            self.refresh()
            return
        changed = changed_lines(before[3], strips)
        self.repainted_lines += len(changed)
        if changed:
            repaint_lines(self, changed)

    def _colour(self, variable: str) -> tuple[int, int, int]:
        value = self.app.theme_variables.get(variable, "white")
        try:
            return Color.parse(value).rgb
        except Exception:  # ansi theme names: fall back to plain
            return (200, 200, 200)

    def _draw(self, points: Points, target: float | None, latest: str) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        runs = segments(points)
        values = [v for _, ys in runs for v in ys]
        if not values:
            self.title_text = f"{self.title}: no data"
            plt.title(self.title_text)
            return
        x_end = max(xs[-1] for xs, _ in runs)
        self.title_text = f"{self.title} {latest}"
        plt.title(self.title_text)
        colour = self._colour("primary")
        for xs, ys in runs:
            rel = [x - x_end for x in xs]
            if len(xs) == 1:
                plt.scatter(rel, ys, color=colour, marker="dot")
            else:
                plt.plot(rel, ys, color=colour, marker="braille")
        lo, hi = y_range(values, target)
        plt.ylim(lo, hi)
        # Rows are scarce: the x axis (seconds ago) is implied by the layout.
        plt.xticks([])
        plt.yfrequency(2)
        if target is not None:
            plt.hline(target, self._colour("warning"))
