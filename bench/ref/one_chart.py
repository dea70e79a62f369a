"""A bare Textual app with one plotext chart and a sparkline, updated at 1 Hz.

The reference for what a chart costs the terminal (stack notes: ~7.3 KB/s at 80x24 in
256 colours). Data is a seeded random walk so every run draws the same frames.
Run it with ``python bench/ref/one_chart.py``; quit with Ctrl+Q.
"""

from __future__ import annotations

import random
from collections import deque

from textual.app import App, ComposeResult
from textual.widgets import Sparkline
from textual_plotext import PlotextPlot

POINTS = 60


class OneChartApp(App[None]):
    """A line chart over the last minute and a sparkline of the same data."""

    CSS = """
    PlotextPlot { height: 1fr; }
    Sparkline { height: 2; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._rng = random.Random(8)
        self._data: deque[float] = deque([99.7] * POINTS, maxlen=POINTS)

    def compose(self) -> ComposeResult:
        yield PlotextPlot()
        yield Sparkline(list(self._data))

    def on_mount(self) -> None:
        self._draw()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        value = self._data[-1] + self._rng.uniform(-0.1, 0.1)
        self._data.append(min(100.0, max(99.0, value)))
        self._draw()

    def _draw(self) -> None:
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.title("auth success %")
        plt.plot(list(range(-POINTS + 1, 1)), list(self._data))
        # Changing plt does not redraw by itself (stack notes).
        plot.refresh()
        self.query_one(Sparkline).data = list(self._data)


if __name__ == "__main__":
    OneChartApp().run()
