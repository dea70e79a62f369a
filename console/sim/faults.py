"""Faults the simulator can inject, live (admin API, CLI) or from scenario files.

A fault is (target, kind, value, until). Targets are the simulated systems ``dev``,
``prod`` and ``legacy``. Values are fractions for rates (``"3%"`` is accepted and
means 0.03), seconds for times; each kind has a default.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from console.errors import SimulatorError

TARGETS = ("dev", "prod", "legacy")


class FaultKind(StrEnum):
    """What goes wrong. The value's meaning and default are in FAULT_DEFAULTS."""

    ERROR_RATE = "error_rate"
    """Share of REST calls answering 500 INTERNAL_ERROR and of contexts ending in an
    ``error`` message."""
    LATENCY = "latency"
    """Seconds added to every REST answer and every context result."""
    OUTAGE = "outage"
    """REST 503 (health too), WebSocket handshakes 503, open sockets closed."""
    WS_DROP = "ws_drop"
    """Vendor sockets dropped (close 1011) this many times per minute each."""
    RATE_LIMIT_STORM = "429_storm"
    """Share of REST calls answering 429 RATE_LIMITED (Retry-After 1) and of
    contexts refused with VENDOR_RATE_LIMIT."""
    HTML_502 = "html_502"
    """Share of REST calls and handshakes answered by a "proxy" HTML 502 page."""
    HANG = "hang"
    """Share of REST calls that never answer and contexts that never end."""
    TRICKLE = "trickle"
    """REST bodies sent one byte every ``value`` seconds."""
    AUTH_FAILURE = "auth_failure"
    """Share of contexts ending in a user-level failure (no match)."""
    PAYMENT_FAILURE = "payment_failure"
    """Share of authenticated payments whose payment fails."""
    WS_OVERSIZE = "ws_oversize"
    """Send each open vendor socket one message of ``value`` bytes (once)."""


FAULT_DEFAULTS: dict[FaultKind, float] = {
    FaultKind.ERROR_RATE: 0.05,
    FaultKind.LATENCY: 1.0,
    FaultKind.OUTAGE: 1.0,
    FaultKind.WS_DROP: 6.0,
    FaultKind.RATE_LIMIT_STORM: 1.0,
    FaultKind.HTML_502: 1.0,
    FaultKind.HANG: 1.0,
    FaultKind.TRICKLE: 2.0,
    FaultKind.AUTH_FAILURE: 0.2,
    FaultKind.PAYMENT_FAILURE: 0.05,
    FaultKind.WS_OVERSIZE: 2 * 2**20,
}

_FRACTIONS = {
    FaultKind.ERROR_RATE,
    FaultKind.RATE_LIMIT_STORM,
    FaultKind.HTML_502,
    FaultKind.HANG,
    FaultKind.AUTH_FAILURE,
    FaultKind.PAYMENT_FAILURE,
}


def parse_value(raw: Any) -> float | None:
    """A number, or a string like '3%' (0.03) or '0.5'. None stays None."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise SimulatorError(f"fault value {raw!r} is not a number")
    if isinstance(raw, (int, float)):
        return float(raw)
    text = str(raw).strip()
    try:
        if text.endswith("%"):
            return float(text[:-1]) / 100
        return float(text)
    except ValueError:
        raise SimulatorError(
            f"fault value {raw!r} is not a number", hint="Use e.g. 0.05, 5% or 1.5."
        ) from None


@dataclass(frozen=True)
class Fault:
    """One active fault."""

    id: int
    target: str
    kind: FaultKind
    value: float
    started_at: float
    """time.time() when injected."""
    until: float | None
    """time.monotonic() when it ends by itself; None: until cleared."""

    def to_json(self, now: float | None = None) -> dict[str, Any]:
        left = None
        if self.until is not None:
            left = max(0.0, self.until - (time.monotonic() if now is None else now))
        return {
            "id": self.id,
            "target": self.target,
            "kind": str(self.kind),
            "value": self.value,
            "started_at": self.started_at,
            "remaining_s": None if left is None else round(left, 2),
        }


class Faults:
    """The registry every simulated service consults (cheap lookups per request)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._ids = itertools.count(1)
        self._by_target: dict[str, dict[FaultKind, Fault]] = {t: {} for t in TARGETS}
        self.listeners: list[Callable[[Fault], None]] = []
        """Called after every injection (e.g. to send an over-size message now)."""

    def inject(
        self,
        target: str,
        kind: str | FaultKind,
        value: float | str | None = None,
        duration_s: float | None = None,
    ) -> Fault:
        """Start (or replace) the fault ``kind`` on ``target``."""
        if target not in TARGETS:
            raise SimulatorError(
                f"unknown fault target {target!r}",
                hint=f"Use one of {', '.join(TARGETS)}.",
            )
        try:
            fkind = FaultKind(kind)
        except ValueError:
            names = ", ".join(k.value for k in FaultKind)
            raise SimulatorError(
                f"unknown fault kind {kind!r}", hint=f"Use one of {names}."
            ) from None
        number = parse_value(value)
        if number is None:
            number = FAULT_DEFAULTS[fkind]
        if number < 0 or (fkind in _FRACTIONS and number > 1):
            raise SimulatorError(
                f"fault value {number:g} out of range for {fkind}",
                hint="Rates are fractions from 0 to 1 (or 0% to 100%).",
            )
        if duration_s is not None and duration_s <= 0:
            raise SimulatorError("fault duration must be positive")
        until = None if duration_s is None else self._clock() + duration_s
        fault = Fault(next(self._ids), target, fkind, number, time.time(), until)
        self._by_target[target][fkind] = fault
        for listener in self.listeners:
            listener(fault)
        return fault

    def clear(self, target: str | None = None) -> int:
        """End every fault (of one target, if given); returns how many ended."""
        count = 0
        for name, faults in self._by_target.items():
            if target is None or name == target:
                count += len(faults)
                faults.clear()
        return count

    def remove(self, fault_id: int) -> bool:
        for faults in self._by_target.values():
            for kind, fault in list(faults.items()):
                if fault.id == fault_id:
                    del faults[kind]
                    return True
        return False

    def get(self, target: str, kind: FaultKind) -> Fault | None:
        """The active fault, or None (expired faults are dropped here)."""
        fault = self._by_target[target].get(kind)
        if fault is None:
            return None
        if fault.until is not None and self._clock() >= fault.until:
            self._by_target[target].pop(kind, None)
            return None
        return fault

    def value(self, target: str, kind: FaultKind) -> float:
        """The active fault's value, 0.0 when none."""
        fault = self.get(target, kind)
        return 0.0 if fault is None else fault.value

    def active(self) -> list[Fault]:
        out = []
        for target in TARGETS:
            for kind in list(self._by_target[target]):
                fault = self.get(target, kind)
                if fault is not None:
                    out.append(fault)
        return sorted(out, key=lambda f: f.id)
