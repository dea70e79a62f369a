"""Bounded time series: 24 hours at one second, 7 days at one minute (min/avg/max).

Each metric owns fixed-size ``array`` ring buffers allocated once, so memory is known
up front (about 1.8 MB per metric) and flat however long the console runs. A point is
kept at its whole second on the steady timeline (console.metrics.clock); a second
written twice keeps the newer value. NaN is a recorded gap (a failed poll or probe),
distinct from a second nobody wrote, which is simply absent.
"""

from __future__ import annotations

import logging
import math
from array import array
from dataclasses import dataclass

log = logging.getLogger("console.metrics")

FINE_SLOTS = 24 * 3600
COARSE_STEP_S = 60
COARSE_SLOTS = 7 * 24 * 60


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One coarse step: min, mean and max of the non-NaN points written in it."""

    t: float
    min: float
    avg: float
    max: float
    count: int


class _Ring:
    """One metric's buffers."""

    __slots__ = ("c_count", "c_key", "c_max", "c_min", "c_sum", "last", "sec", "val")

    def __init__(self, fine: int, coarse: int) -> None:
        self.sec = array("q", [-1]) * fine
        self.val = array("d", [math.nan]) * fine
        self.c_key = array("q", [-1]) * coarse
        self.c_min = array("d", [0.0]) * coarse
        self.c_max = array("d", [0.0]) * coarse
        self.c_sum = array("d", [0.0]) * coarse
        self.c_count = array("q", [0]) * coarse
        self.last = -1


class SeriesStore:
    """Ring-buffered series by metric id; at most ``max_series`` metrics."""

    def __init__(
        self,
        *,
        fine_slots: int = FINE_SLOTS,
        coarse_step_s: int = COARSE_STEP_S,
        coarse_slots: int = COARSE_SLOTS,
        max_series: int = 48,
    ) -> None:
        self._fine = fine_slots
        self._step = coarse_step_s
        self._coarse = coarse_slots
        self._max = max_series
        self._rings: dict[str, _Ring] = {}
        self._refused: set[str] = set()

    def metrics(self) -> list[str]:
        """Metric ids that have buffers."""
        return list(self._rings)

    def add(self, metric: str, t: float, value: float) -> bool:
        """Record ``value`` at steady time ``t``; False when the store is full."""
        ring = self._rings.get(metric)
        if ring is None:
            if len(self._rings) >= self._max:
                if metric not in self._refused:
                    self._refused.add(metric)
                    log.warning(
                        "series store full (%d); not keeping %s", self._max, metric
                    )
                return False
            ring = self._rings[metric] = _Ring(self._fine, self._coarse)
        second = math.floor(t)
        i = second % self._fine
        ring.sec[i] = second
        ring.val[i] = value
        ring.last = max(ring.last, second)

        minute = second // self._step
        j = minute % self._coarse
        if ring.c_key[j] != minute:
            ring.c_key[j] = minute
            ring.c_count[j] = 0
            ring.c_sum[j] = 0.0
        if not math.isnan(value):
            if ring.c_count[j] == 0:
                ring.c_min[j] = ring.c_max[j] = value
            else:
                ring.c_min[j] = min(ring.c_min[j], value)
                ring.c_max[j] = max(ring.c_max[j], value)
            ring.c_sum[j] += value
            ring.c_count[j] += 1
        return True

    def points(
        self, metric: str, since: float, until: float | None = None
    ) -> list[tuple[float, float]]:
        """Recorded (t, value) points with ``since <= t <= until``, oldest first."""
        ring = self._rings.get(metric)
        if ring is None or ring.last < 0:
            return []
        end = ring.last if until is None else min(ring.last, math.floor(until))
        start = max(math.ceil(since), ring.last - self._fine + 1)
        out: list[tuple[float, float]] = []
        sec, val, n = ring.sec, ring.val, self._fine
        for second in range(start, end + 1):
            i = second % n
            if sec[i] == second:
                out.append((float(second), val[i]))
        return out

    def latest(self, metric: str) -> tuple[float, float] | None:
        """The newest recorded point, NaN included."""
        ring = self._rings.get(metric)
        if ring is None or ring.last < 0:
            return None
        i = ring.last % self._fine
        return float(ring.last), ring.val[i]

    def history(self, metric: str, since: float) -> list[Aggregate]:
        """Coarse steps (up to 7 days) from ``since``, oldest first; empty steps and
        steps with only NaN are left out."""
        ring = self._rings.get(metric)
        if ring is None or ring.last < 0:
            return []
        last = ring.last // self._step
        first = max(math.floor(since) // self._step, last - self._coarse + 1)
        out: list[Aggregate] = []
        for minute in range(first, last + 1):
            j = minute % self._coarse
            count = ring.c_count[j]
            if ring.c_key[j] != minute or count == 0:
                continue
            out.append(
                Aggregate(
                    float(minute * self._step),
                    ring.c_min[j],
                    ring.c_sum[j] / count,
                    ring.c_max[j],
                    count,
                )
            )
        return out
