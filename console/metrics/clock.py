"""One timeline for every metric: monotonic for order, wall time only for display.

The system clock can jump (NTP, a person fixing the date, a suspended VM). Ordering
samples by it would compute negative windows and wrong rates, so sources stamp data on
a *steady* timeline: the wall time at start plus monotonic seconds since. Callers pass
wall time (``time.time()``) as ``now``; :meth:`Clock.from_wall` maps it onto the steady
timeline using the current offset, so a jump between two calls changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Clock:
    """A steady timeline anchored to the wall clock once, at creation."""

    def __init__(
        self,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._monotonic = monotonic
        self._wall = wall
        self._origin = wall() - monotonic()

    def now(self) -> float:
        """Steady seconds: looks like epoch time, never goes backwards."""
        return self._origin + self._monotonic()

    def wall(self) -> float:
        """The system's wall clock now (may jump)."""
        return self._wall()

    def from_wall(self, t: float) -> float:
        """Map a wall-clock time (as the engine passes ``now``) onto the timeline."""
        return t + (self.now() - self._wall())

    def to_wall(self, t: float) -> float:
        """Map a steady time back to the current wall clock, for display."""
        return t - (self.now() - self._wall())
