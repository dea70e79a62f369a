"""Pure formatting helpers shared by the widgets (no textual import, easy to test).

Every function accepts missing values (None, NaN) and returns a short, fixed-shape
string, because a pane at 80 columns has no room for surprises.
"""

from __future__ import annotations

import math
import time

from console.engine.model import Phase, Snapshot, Verdict

MISSING = "–"
"""What a cell shows when there is no value."""


def is_number(value: float | None) -> bool:
    """True for a real, finite number (not None, not NaN, not infinite)."""
    return value is not None and math.isfinite(value)


def pct(value: float | None, digits: int = 1) -> str:
    """'5.0%' or the missing mark."""
    return f"{value:.{digits}f}%" if value is not None and is_number(value) else MISSING


def duration(seconds: float | None, *, coarse: bool = False) -> str:
    """A compact countdown: '45s', '12m03s', '4h12m', '2d03h'.

    ``coarse`` drops the seconds above a minute ('12m'), so that a countdown on a
    slow link changes once a minute instead of every second.
    """
    if seconds is None or not is_number(seconds):
        return MISSING
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m" if coarse else f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


COARSE_STEP_S = 5
"""On a slow link, a countdown under a minute moves in steps of this many seconds."""


def countdown(seconds: float | None, *, coarse: bool = False) -> str:
    """Time left, as :func:`duration`; ``coarse`` (low bandwidth) shows minutes
    and, in the last minute, 5-second steps rounded up ('25s' for 21-25 s), so
    the status line is not re-sent every second."""
    if coarse and seconds is not None and is_number(seconds) and 0 < seconds < 60:
        seconds = math.ceil(seconds / COARSE_STEP_S) * COARSE_STEP_S
    return duration(seconds, coarse=coarse)


def freshness(at: float | None, now: float) -> str:
    """How old a reading is, in steps ('<10s', '<1m', '12m ago'), so that a
    line showing it changes when the reading ages, not every second."""
    if at is None or not is_number(at):
        return MISSING
    elapsed = now - at
    if elapsed < 10:
        return "<10s"
    if elapsed < 60:
        return "<1m"
    return f"{duration(elapsed, coarse=True)} ago"


def clock(ts: float) -> str:
    """UTC wall clock 'HH:MM:SS' (UTC so that every viewer reads the same time)."""
    return time.strftime("%H:%M:%S", time.gmtime(ts))


def ms(value: float | None) -> str:
    """'123 ms' or the missing mark."""
    return f"{value:.0f} ms" if value is not None and is_number(value) else MISSING


def coarse_ms(value: float | None) -> str:
    """A latency to one significant figure ('<10 ms', '40 ms', '300 ms', '2 s'):
    on a slow link a round trip's millisecond jitter is not worth a repaint."""
    if value is None or not is_number(value):
        return MISSING
    if value < 10:
        return "<10 ms"
    magnitude = 10 ** math.floor(math.log10(value))
    rounded = round(value / magnitude) * magnitude
    if rounded >= 1000:
        return f"{rounded / 1000:g} s"
    return f"{rounded:.0f} ms"


def number(value: float | None, digits: int = 2) -> str:
    """A plain number or the missing mark."""
    return f"{value:.{digits}f}" if value is not None and is_number(value) else MISSING


def verdict_style(verdict: Verdict) -> str:
    """Rich markup style for a gate verdict, from theme variables."""
    return {
        Verdict.PASS: "$success",
        Verdict.WARN: "$warning",
        Verdict.BREACH: "bold $error",
        Verdict.INSUFFICIENT: "$warning",
    }[verdict]


def stage_text(snap: Snapshot) -> str:
    """'stage 2/5' (or 'stage 0/5' before the first raise)."""
    return f"stage {snap.stage + 1}/{len(snap.levels)}"


def hold_left(snap: Snapshot, now: float) -> float | None:
    """Seconds left in the hold, None when no hold runs."""
    if snap.hold_ends_at is None:
        return None
    return max(0.0, snap.hold_ends_at - now)


def verdict_text(snap: Snapshot) -> str:
    """The overall verdict's words; 'ROLLING BACK' while the runbook still runs
    (the engine's verdict already says ROLLED BACK once traffic stops), so that
    ROLLED BACK on screen means every step is through."""
    if snap.phase is Phase.ROLLING_BACK:
        return "ROLLING BACK"
    return snap.overall.value
