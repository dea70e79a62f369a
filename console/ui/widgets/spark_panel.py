"""Numbers and sparklines: the low-bandwidth stand-in for the charts.

The sparkline is a string of block characters in one colour rather than Textual's
Sparkline widget, whose per-cell colours cost about 1 KB per row and redraw.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence

from textual.content import Content
from textual.timer import Timer

from console.ui import format as fmt
from console.ui.widgets.quiet_static import QuietStatic

Series = Mapping[str, Sequence[tuple[float, float]]]

BLOCKS = "▁▂▃▄▅▆▇█"


def finite_values(points: Sequence[tuple[float, float]], last: int) -> list[float]:
    """The last ``last`` finite values (a gap is shown as a space by spark())."""
    return [v for _, v in points[-last:] if math.isfinite(v)]


def spark(points: Sequence[tuple[float, float]], width: int) -> str:
    """The last ``width`` points as block characters; NaN becomes a space."""
    values = [v for _, v in points[-width:]]
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return ""
    lo, hi = min(finite), max(finite)
    span = hi - lo
    top = len(BLOCKS) - 1
    return "".join(
        " "
        if not math.isfinite(v)
        else BLOCKS[round((v - lo) / span * top) if span else top // 2]
        for v in values
    )


def spark_line(
    title: str, points: Sequence[tuple[float, float]], target: float | None, width: int
) -> Content:
    """'auth ok % 99.81 (target 99.5)  ▃▄▅▆▆▅▄▃'."""
    values = finite_values(points, width)
    latest = fmt.number(values[-1] if values else None)
    goal = f" (target {target:g})" if target is not None else ""
    label = f"{title} {latest}{goal}"
    return Content.assemble(f"{label:<32} ", (spark(points, width), "$primary"))


class SparkPanel(QuietStatic):
    """One line per charted metric, redrawn at most once per ``interval_s``."""

    DEFAULT_CSS = """
    SparkPanel { height: auto; padding: 0 1; text-wrap: nowrap; }
    """

    def __init__(
        self,
        metrics: Sequence[tuple[str, str]],
        *,
        interval_s: float = 5.0,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._metrics = metrics
        self.interval_s = interval_s
        """At most one redraw per interval: this panel exists for slow links."""
        self._pending: tuple[Series, Mapping[str, float]] | None = None
        self._last = -math.inf
        self._timer: Timer | None = None

    def show(self, series: Series, targets: Mapping[str, float]) -> None:
        """Take new data; draw now or when the interval has passed."""
        self._pending = (series, targets)
        wait = self._last + self.interval_s - time.monotonic()
        if wait <= 0:
            self._flush()
        elif self._timer is None:
            self._timer = self.set_timer(wait, self._flush)

    def _flush(self) -> None:
        self._timer = None
        if self._pending is None:
            return
        series, targets = self._pending
        self._pending = None
        self._last = time.monotonic()
        width = max(8, min(40, (self.size.width or 80) - 36))
        lines = [
            spark_line(title, series.get(metric, ()), targets.get(metric), width)
            for metric, title in self._metrics
        ]
        self.set_content(Content("\n").join(lines))
