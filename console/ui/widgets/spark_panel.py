"""Numbers and sparklines: the low-bandwidth stand-in for the charts."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline

from console.ui import format as fmt

Series = Mapping[str, Sequence[tuple[float, float]]]


def finite_values(points: Sequence[tuple[float, float]], last: int) -> list[float]:
    """The last ``last`` finite values (a sparkline cannot show a gap)."""
    return [v for _, v in points[-last:] if math.isfinite(v)]


class SparkRow(Horizontal):
    """One metric: label, latest value (with target) and a one-line trend."""

    DEFAULT_CSS = """
    SparkRow { height: 1; }
    SparkRow > Label { width: 30; }
    SparkRow > Sparkline { width: 1fr; height: 1; }
    """

    def __init__(self, metric: str, title: str) -> None:
        super().__init__(classes="spark-row")
        self.metric = metric
        self.title = title
        self._last: tuple[float, ...] | None = None

    def compose(self) -> ComposeResult:
        yield Label(f"{self.title} {fmt.MISSING}")
        yield Sparkline([])

    def show(self, points: Sequence[tuple[float, float]], target: float | None) -> None:
        """Update when the data changed (same data sends nothing to the terminal)."""
        values = finite_values(points, 60)
        key = tuple(values)
        if key == self._last:
            return
        self._last = key
        latest = fmt.number(values[-1] if values else None)
        goal = f" (target {target:g})" if target is not None else ""
        self.query_one(Label).update(f"{self.title} {latest}{goal}")
        self.query_one(Sparkline).data = values


class SparkPanel(Vertical):
    """A column of :class:`SparkRow`, one per charted metric."""

    DEFAULT_CSS = """
    SparkPanel { height: auto; }
    """

    def __init__(self, metrics: Sequence[tuple[str, str]], *, id: str | None = None):
        super().__init__(id=id)
        self._metrics = metrics

    def compose(self) -> ComposeResult:
        for metric, title in self._metrics:
            yield SparkRow(metric, title)

    def show(self, series: Series, targets: Mapping[str, float]) -> None:
        """Hand each row its series."""
        for row in self.query(SparkRow):
            row.show(series.get(row.metric, ()), targets.get(row.metric))
