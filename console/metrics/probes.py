"""The console's own probes: /health of each environment, the vendor stream, and an
optional synthetic authentication on dev.

Probes take plain callables, so they never depend on the client's internals:
``HealthProbe("prod", lambda: client.health(deadline_s=2.0), store, clock)`` and
``StreamProbe("prod", stream.status, store, clock)`` with console.boop's objects.
They write into the shared series store under ``<id>@<env>`` keys, which
:class:`console.metrics.hub.MetricsHub` turns into the catalogued metric ids:

    health_ok@env            1 or 0 per probe        -> uptime_pct over any window
    health_latency_ms@env    round trip, NaN failed  -> health_latency_ms
    uptime_pct@env           uptime over the probe's window (for charts)
    ws_rtt_ms@env            ping round trip          -> ws_rtt_ms
    ws_reconnects_total@env  the stream's reconnects -> ws_reconnects_per_h
    synthetic_auth_ok@env    1 or 0 per attempt       -> synthetic_auth_pct
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from console.errors import ConfigError
from console.metrics.clock import Clock
from console.metrics.series import SeriesStore
from console.metrics.slo import counter_increase

log = logging.getLogger("console.metrics")


class HealthReading(Protocol):
    """What a health fetch returns; console.boop's ``Health`` fits as it is."""

    @property
    def ok(self) -> bool: ...

    @property
    def version(self) -> str | None: ...

    @property
    def latency_ms(self) -> float | None: ...


class HealthResult(NamedTuple):
    """A plain (ok, version, latency_ms) answer for fetches that build their own."""

    ok: bool
    version: str | None
    latency_ms: float | None


class StreamReading(Protocol):
    """What a stream read returns; console.boop's ``StreamStatus`` fits as it is."""

    @property
    def state(self) -> str: ...

    @property
    def rtt_ms(self) -> float | None: ...

    @property
    def reconnects(self) -> int: ...

    @property
    def connected_since(self) -> float | None: ...

    @property
    def last_error(self) -> str | None: ...


@dataclass(frozen=True)
class ProbeStatus:
    """One environment's health as the probe last saw it. The first eight fields
    are console.engine.model.HealthState's, in the same order."""

    env: str
    ok: bool | None
    latency_ms: float | None = None
    version: str | None = None
    version_changed_at: float | None = None
    """Wall time at which a different version was first seen."""
    uptime_pct: float | None = None
    """Over the probe's window (the uptime gate's)."""
    last_probe_at: float | None = None
    error: str | None = None
    uptime_since_start_pct: float | None = None
    probes: int = 0


@dataclass(frozen=True)
class StreamProbeStatus:
    """The vendor stream as last sampled; fields mirror console.engine StreamState."""

    env: str
    state: str
    rtt_ms: float | None = None
    reconnects: int = 0
    connected_since: float | None = None
    error: str | None = None
    reconnects_per_h: float | None = None


def ok_share(points: list[tuple[float, float]]) -> tuple[float | None, int]:
    """(percent of points equal to 1, number of points) for 1/0 probe results."""
    values = [v for _, v in points if not math.isnan(v)]
    if not values:
        return None, 0
    return 100.0 * sum(values) / len(values), len(values)


def counter_rate(points: list[tuple[float, float]], scale: float) -> float | None:
    """Increase per second × ``scale`` of a counter's (t, value) points."""
    if len(points) < 2 or points[-1][0] <= points[0][0]:
        return None
    covered = points[-1][0] - points[0][0]
    return counter_increase(v for _, v in points) / covered * scale


class _Periodic:
    """Runs ``probe_once`` every interval; a run never overlaps the previous one."""

    interval_s: float

    async def probe_once(self) -> object:
        raise NotImplementedError

    async def run(self) -> None:
        """Probe until cancelled."""
        while True:
            started = time.monotonic()
            await self.probe_once()
            await asyncio.sleep(
                max(0.0, self.interval_s - (time.monotonic() - started))
            )


class _CheckProbe(_Periodic):
    """A yes/no check with a deadline shorter than its interval."""

    def __init__(
        self,
        env: str,
        store: SeriesStore,
        clock: Clock,
        *,
        interval_s: float,
        deadline_s: float,
        window_s: float,
    ) -> None:
        if deadline_s >= interval_s:
            raise ConfigError(
                f"probes.deadline_s ({deadline_s:g} s) must be shorter than "
                f"probes.interval_s ({interval_s:g} s), or probes would pile up."
            )
        self.env = env
        self.store = store
        self.clock = clock
        self.interval_s = interval_s
        self.deadline_s = deadline_s
        self.window_s = window_s
        self._lock = asyncio.Lock()
        self._count = 0
        self._ok_count = 0

    def _tally(self, key: str, at: float, ok: bool) -> float | None:
        self._count += 1
        self._ok_count += ok
        value = 1.0 if ok else 0.0
        # One point per second: two results in one second keep the worse.
        latest = self.store.latest(key)
        if latest is not None and latest[0] == math.floor(at):
            value = min(value, latest[1])
        self.store.add(key, at, value)
        share, _ = ok_share(self.store.points(key, at - self.window_s, at))
        return share

    @property
    def since_start_pct(self) -> float | None:
        """Share of every check since the probe was created that succeeded."""
        return 100.0 * self._ok_count / self._count if self._count else None


class HealthProbe(_CheckProbe):
    """Probes one environment's /health: status, latency, version, uptime."""

    def __init__(
        self,
        env: str,
        fetch: Callable[[], Awaitable[HealthReading]],
        store: SeriesStore,
        clock: Clock,
        *,
        interval_s: float = 10.0,
        deadline_s: float = 3.0,
        window_s: float = 600.0,
    ) -> None:
        super().__init__(
            env,
            store,
            clock,
            interval_s=interval_s,
            deadline_s=deadline_s,
            window_s=window_s,
        )
        self._fetch = fetch
        self._status = ProbeStatus(env, None)

    def status(self) -> ProbeStatus:
        """The latest result (``ok`` is None before the first probe)."""
        return self._status

    async def probe_once(self) -> ProbeStatus:
        """Probe now within ``deadline_s``; a call while one runs returns the last."""
        if self._lock.locked():
            return self._status
        async with self._lock:
            at = self.clock.now()
            started = time.perf_counter()
            version = self._status.version
            latency: float | None = None
            error: str | None = None
            try:
                async with asyncio.timeout(self.deadline_s):
                    reading = await self._fetch()
                ok = bool(reading.ok)
                latency = reading.latency_ms
                version = reading.version or version
                if not ok:
                    error = "/health answered but does not report ok"
            except TimeoutError:
                ok, error = False, f"/health: no answer within {self.deadline_s:g} s"
            except Exception as exc:  # the probe's boundary: any failure is "down"
                ok, error = False, getattr(exc, "message", None) or str(exc)
                error = f"{exc.__class__.__name__}: {error}"
            if ok and latency is None:
                latency = (time.perf_counter() - started) * 1000.0
            return self._record(at, ok, latency, version, error)

    def _record(
        self,
        at: float,
        ok: bool,
        latency: float | None,
        version: str | None,
        error: str | None,
    ) -> ProbeStatus:
        prev = self._status
        if prev.ok is not None and prev.ok != ok:
            log.info("%s /health is %s%s", self.env, "up" if ok else "down",
                     "" if error is None else f": {error}")  # fmt: skip
        changed_at = prev.version_changed_at
        if prev.version is not None and version != prev.version:
            changed_at = self.clock.to_wall(at)
            log.info("%s version changed %s -> %s", self.env, prev.version, version)

        self.store.add(
            f"health_latency_ms@{self.env}",
            at,
            math.nan if latency is None or not ok else latency,
        )
        uptime = self._tally(f"health_ok@{self.env}", at, ok)
        if uptime is not None:
            self.store.add(f"uptime_pct@{self.env}", at, uptime)
        self._status = ProbeStatus(
            env=self.env,
            ok=ok,
            latency_ms=latency if ok else None,
            version=version,
            version_changed_at=changed_at,
            uptime_pct=uptime,
            last_probe_at=self.clock.to_wall(at),
            error=error,
            uptime_since_start_pct=self.since_start_pct,
            probes=self._count,
        )
        return self._status


class SyntheticAuthProbe(_CheckProbe):
    """Runs a synthetic authentication (e.g. against a dev test user) on an interval.

    ``attempt`` returns True when the authentication succeeded; raising or running
    past the deadline counts as a failure.
    """

    def __init__(
        self,
        env: str,
        attempt: Callable[[], Awaitable[bool]],
        store: SeriesStore,
        clock: Clock,
        *,
        interval_s: float = 60.0,
        deadline_s: float = 30.0,
        window_s: float = 3600.0,
    ) -> None:
        super().__init__(
            env,
            store,
            clock,
            interval_s=interval_s,
            deadline_s=deadline_s,
            window_s=window_s,
        )
        self._attempt = attempt
        self.last_error: str | None = None

    async def probe_once(self) -> bool:
        """Attempt once; returns whether it succeeded."""
        if self._lock.locked():
            return False
        async with self._lock:
            at = self.clock.now()
            try:
                async with asyncio.timeout(self.deadline_s):
                    ok = bool(await self._attempt())
                self.last_error = None if ok else "synthetic authentication failed"
            except TimeoutError:
                ok = False
                self.last_error = f"no result within {self.deadline_s:g} s"
            except Exception as exc:  # the probe's boundary: any failure counts
                ok = False
                self.last_error = f"{exc.__class__.__name__}: {exc}"
            self._tally(f"synthetic_auth_ok@{self.env}", at, ok)
            return ok


class StreamProbe(_Periodic):
    """Samples the vendor stream's status: ping round trip and reconnects."""

    def __init__(
        self,
        env: str,
        read: Callable[[], StreamReading],
        store: SeriesStore,
        clock: Clock,
        *,
        interval_s: float = 5.0,
        window_s: float = 3600.0,
    ) -> None:
        self.env = env
        self.store = store
        self.clock = clock
        self.interval_s = interval_s
        self.window_s = window_s
        self._read = read
        self._status = StreamProbeStatus(env, "unknown")

    def status(self) -> StreamProbeStatus:
        return self._status

    async def probe_once(self) -> StreamProbeStatus:
        """Sample the stream now (reads an in-memory status; no I/O)."""
        return self.sample()

    def sample(self) -> StreamProbeStatus:
        at = self.clock.now()
        try:
            reading = self._read()
        except Exception as exc:  # the probe's boundary: record, keep sampling
            self._status = StreamProbeStatus(
                self.env, "unknown", error=f"{exc.__class__.__name__}: {exc}"
            )
            return self._status
        state = str(reading.state)
        rtt = reading.rtt_ms if state == "connected" else None
        self.store.add(f"ws_rtt_ms@{self.env}", at, math.nan if rtt is None else rtt)
        self.store.add(f"ws_reconnects_total@{self.env}", at, float(reading.reconnects))
        points = self.store.points(
            f"ws_reconnects_total@{self.env}", at - self.window_s, at
        )
        self._status = StreamProbeStatus(
            env=self.env,
            state=state,
            rtt_ms=rtt,
            reconnects=reading.reconnects,
            connected_since=reading.connected_since,
            error=reading.last_error,
            reconnects_per_h=counter_rate(points, 3600.0),
        )
        return self._status


async def stop(task: asyncio.Task[None] | None) -> None:
    """Cancel a probe's ``run`` task and wait for it."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
