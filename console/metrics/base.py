"""The metrics contract: what gates, charts and evidence read.

A source (scrape or Prometheus) is polled on an interval; it turns what it reads into
per-metric values with a timestamp, keeps them in bounded series, and answers
``measure(metric, window)`` with a value computed over the window (from counter
deltas, not an average of rates) together with the samples and data age it rests on.
Probes (health, WebSocket) write into the same store under their own metric ids.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Measurement:
    """A metric over a window, with everything a verdict's "why" needs."""

    metric: str
    value: float | None
    """None when there is no data (or only NaN) in the window."""
    window_s: float
    samples: int
    """Events behind the value (e.g. auth attempts in the window), or points."""
    age_s: float | None
    """Seconds since the newest data point; None when there is none."""
    error: str | None = None
    """Set when the source failed: the verdict is then INSUFFICIENT DATA."""

    @property
    def usable(self) -> bool:
        return (
            self.error is None
            and self.value is not None
            and not math.isnan(self.value)
            and self.age_s is not None
        )


class MetricsSource(Protocol):
    async def poll(self) -> None:
        """Fetch once and update the store. Raises MetricsError on failure."""
        ...

    def measure(self, metric: str, window_s: float, now: float) -> Measurement: ...

    def series(self, metric: str, since: float) -> Sequence[tuple[float, float]]:
        """(timestamp, value) points at ~1 s resolution; NaN marks a gap."""
        ...

    async def close(self) -> None: ...
