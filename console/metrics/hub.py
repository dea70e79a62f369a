"""One place the engine asks for every metric id, vendor or probe.

:class:`MetricsHub` is a MetricsSource: ``measure("auth_success_pct", ...)`` goes to
the vendor source (scrape or Prometheus), ``measure("uptime_pct", ...)`` to what the
probes wrote for the target environment (``uptime_pct@dev`` names another one), and
``ws_reconnects_per_h`` adds the console's own stream to the application's figure.
:func:`build_source` makes the vendor source from ``config.metrics``; :func:`build_hub`
wraps it with the store and clock the probes share.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from console.config import MetricsConfig
from console.errors import ConfigError
from console.metrics.base import Measurement, MetricsSource
from console.metrics.catalog import CATALOG, EXPOSITION, Kind
from console.metrics.clock import Clock
from console.metrics.probes import counter_rate, ok_share
from console.metrics.prometheus import PrometheusSource
from console.metrics.scrape import ScrapeSource
from console.metrics.series import SeriesStore

# Probe-backed ids -> the store key the probes write (before "@env").
_PROBE_KEYS = {
    "uptime_pct": "health_ok",
    "synthetic_auth_pct": "synthetic_auth_ok",
    "health_latency_ms": "health_latency_ms",
    "ws_rtt_ms": "ws_rtt_ms",
}
_CHART_KEYS = {"uptime_pct": "uptime_pct", "synthetic_auth_pct": "synthetic_auth_ok"}


class MetricsHub:
    """A MetricsSource over a vendor source (or none) plus the probes' store."""

    def __init__(
        self,
        vendor: MetricsSource | None,
        target_env: str,
        *,
        store: SeriesStore | None = None,
        clock: Clock | None = None,
        probe_stale_after_s: float = 30.0,
    ) -> None:
        self.vendor = vendor
        self.target_env = target_env
        self.store = store or SeriesStore()
        self.clock = clock or Clock()
        self.probe_stale_after_s = probe_stale_after_s

    async def poll(self) -> None:
        """Poll the vendor source (probes run on their own schedule)."""
        if self.vendor is not None:
            await self.vendor.poll()

    def record(self, metric: str, value: float, at: float | None = None) -> None:
        """Store a value the engine knows (e.g. ``traffic_pct``) at wall time ``at``."""
        t = self.clock.now() if at is None else self.clock.from_wall(at)
        self.store.add(metric, t, value)

    def _split(self, metric: str) -> tuple[str, str]:
        base, _, env = metric.partition("@")
        return base, env or self.target_env

    def measure(self, metric: str, window_s: float, now: float) -> Measurement:
        """``metric`` over ``window_s`` before ``now`` (wall clock), from wherever
        it comes from. An unknown id is an error, so its gate is INSUFFICIENT DATA."""
        base, env = self._split(metric)
        if base == "ws_reconnects_per_h":
            return self._reconnects(metric, window_s, now, env)
        if base in _PROBE_KEYS:
            key = f"{_PROBE_KEYS[base]}@{env}"
            return self._from_store(metric, key, window_s, now)
        if base == "traffic_pct":
            return self._from_store(metric, base, window_s, now)
        if self.vendor is None:
            return Measurement(
                metric, None, window_s, 0, None, "no metrics source configured"
            )
        return self.vendor.measure(metric, window_s, now)

    def _from_store(
        self, metric: str, key: str, window_s: float, now: float
    ) -> Measurement:
        end = self.clock.from_wall(now)
        points = self.store.points(key, end - window_s, end)
        real = [(t, v) for t, v in points if not math.isnan(v)]
        is_share = key.startswith(("health_ok@", "synthetic_auth_ok@"))
        if is_share:
            value, samples = ok_share(points)
        else:
            value = real[-1][1] if real else None
            samples = len(real)
        newest = real[-1][0] if real else None
        if newest is None:
            latest = self.store.latest(key)
            newest = None if latest is None else latest[0]
        age = None if newest is None else max(0.0, end - newest)
        error: str | None = None
        if age is None:
            error = "no probe result yet"
        elif age > self.probe_stale_after_s:
            error = (
                f"stale: last probe result {age:.1f} s old "
                f"(limit {self.probe_stale_after_s:g} s)"
            )
        return Measurement(metric, value, window_s, samples, age, error)

    def _reconnects(
        self, metric: str, window_s: float, now: float, env: str
    ) -> Measurement:
        end = self.clock.from_wall(now)
        points = self.store.points(f"ws_reconnects_total@{env}", end - window_s, end)
        own = counter_rate(points, 3600.0)
        if self.vendor is None:
            if own is None:
                return Measurement(metric, None, window_s, 0, None, "no stream data")
            age = max(0.0, end - points[-1][0])
            samples = round(own * (points[-1][0] - points[0][0]) / 3600.0)
            return Measurement(metric, own, window_s, samples, age)
        theirs = self.vendor.measure("ws_reconnects_per_h", window_s, now)
        if own is None or theirs.value is None:
            return theirs
        own_samples = round(own * (points[-1][0] - points[0][0]) / 3600.0)
        return Measurement(
            metric,
            theirs.value + own,
            window_s,
            theirs.samples + own_samples,
            theirs.age_s,
            theirs.error,
        )

    def series(self, metric: str, since: float) -> Sequence[tuple[float, float]]:
        """Chart points for ``metric`` since ``since`` (wall clock)."""
        base, env = self._split(metric)
        if base in _PROBE_KEYS:
            key = f"{_CHART_KEYS.get(base, base)}@{env}"
        elif base == "traffic_pct":
            key = base
        elif self.vendor is not None:
            return self.vendor.series(metric, since)
        else:
            return []
        offset = self.clock.now() - self.clock.wall()
        return [(t - offset, v) for t, v in self.store.points(key, since + offset)]

    async def close(self) -> None:
        if self.vendor is not None:
            await self.vendor.close()


def build_source(
    config: MetricsConfig,
    *,
    store: SeriesStore | None = None,
    clock: Clock | None = None,
    windows: Sequence[float] = (),
) -> MetricsSource:
    """The vendor source ``config`` describes. ``windows`` (the gates' windows)
    are queried by a Prometheus source from its first poll on."""
    if not config.url:
        raise ConfigError(
            "metrics.url: required (the application's /metrics for source='scrape', "
            "the Prometheus server's base URL for source='prometheus')."
        )
    if config.source == "scrape":
        unknown = sorted(set(config.names) - set(EXPOSITION))
        if unknown:
            raise ConfigError(f"metrics.names: unknown documented names {unknown}")
        return ScrapeSource(
            config.url,
            config.names,
            config.interval_s,
            config.timeout_s,
            config.stale_after_s,
            history_s=max((900.0, *windows)),
            clock=clock,
            store=store,
        )
    unknown = sorted(
        q for q in config.queries if q.split(".")[0] not in PrometheusSource.known()
    )
    if unknown:
        raise ConfigError(f"metrics.queries: unknown metric ids {unknown}")
    return PrometheusSource(
        config.url,
        config.queries,
        interval_s=config.interval_s,
        timeout_s=config.timeout_s,
        stale_after_s=config.stale_after_s,
        windows=windows,
        clock=clock,
        store=store,
    )


def build_hub(
    config: MetricsConfig,
    target_env: str,
    *,
    windows: Sequence[float] = (),
    probe_interval_s: float = 10.0,
) -> MetricsHub:
    """The hub the engine measures through: vendor source, store and clock shared
    with the probes (pass ``hub.store`` and ``hub.clock`` to them)."""
    store, clock = SeriesStore(), Clock()
    vendor = build_source(config, store=store, clock=clock, windows=windows)
    return MetricsHub(
        vendor,
        target_env,
        store=store,
        clock=clock,
        probe_stale_after_s=3 * probe_interval_s,
    )


def probe_metric_ids() -> list[str]:
    """Catalogued ids answered from the probes' store."""
    return [d.id for d in CATALOG.values() if d.kind is Kind.PROBE]
