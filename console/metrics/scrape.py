"""Read a vendor application's Prometheus exposition endpoint directly.

:class:`ScrapeSource` polls one URL (text format 0.0.4), keeps a bounded history of
raw counter snapshots on the steady timeline, and computes every catalogued metric
over any window from counter deltas (console.metrics.slo). After each poll it also
writes each metric over a short chart window into its series store, for charts.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

import httpx
from prometheus_client.parser import text_string_to_metric_families

from console.errors import MetricsError
from console.metrics.base import Measurement
from console.metrics.catalog import (
    CATALOG,
    ENDPOINT_ERROR_PREFIX,
    EXPOSITION,
    Kind,
    lookup,
)
from console.metrics.clock import Clock
from console.metrics.series import SeriesStore
from console.metrics.slo import LabelKey, RawSnapshot, evaluate

log = logging.getLogger("console.metrics")

_SUFFIXES = ("_bucket", "_count", "_sum")
_MAX_BODY = 8 * 1024 * 1024


def _wanted_names(names_map: Mapping[str, str]) -> dict[str, str]:
    """Exposition sample name as the application writes it -> documented name."""
    wanted: dict[str, str] = {}
    for documented, kind in EXPOSITION.items():
        theirs = names_map.get(documented, documented)
        wanted[theirs] = documented
        if kind == "histogram":
            for suffix in _SUFFIXES:
                wanted[theirs + suffix] = documented + suffix
    return wanted


class ExpositionParser:
    """Turns exposition text into a :class:`RawSnapshot` of the documented names.

    Only names of the contract are kept (others are dropped at once, which bounds
    memory), and label tuples are interned so that a long history shares them.
    """

    def __init__(self, names_map: Mapping[str, str] | None = None) -> None:
        self._wanted = _wanted_names(names_map or {})
        self._labels: dict[LabelKey, LabelKey] = {}

    def parse(self, text: str, t: float) -> RawSnapshot:
        """Parse ``text``; raises MetricsError when it is not the text format."""
        values: dict[str, dict[LabelKey, float]] = {}
        try:
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    name = self._wanted.get(sample.name)
                    if name is None:
                        continue
                    key = tuple(sorted(sample.labels.items()))
                    key = self._labels.setdefault(key, key)
                    values.setdefault(name, {})[key] = float(sample.value)
        except (ValueError, TypeError, IndexError) as exc:
            raise MetricsError(
                f"The metrics endpoint answered something that is not Prometheus "
                f"text format ({exc}).",
                hint="Check metrics.url points at the application's /metrics.",
            ) from exc
        return RawSnapshot(t, values)


class ScrapeSource:
    """A MetricsSource over one exposition endpoint.

    ``names_map`` maps documented names onto the application's own; ``history_s``
    bounds the raw snapshots kept (windows longer than that use what is there);
    ``chart_window_s`` is the window of the points written for charts.
    """

    def __init__(
        self,
        url: str,
        names_map: Mapping[str, str] | None = None,
        interval_s: float = 1.0,
        timeout_s: float = 2.0,
        stale_after_s: float = 10.0,
        client: httpx.AsyncClient | None = None,
        *,
        history_s: float = 900.0,
        chart_window_s: float = 10.0,
        clock: Clock | None = None,
        store: SeriesStore | None = None,
    ) -> None:
        self.url = url
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.stale_after_s = stale_after_s
        self.chart_window_s = chart_window_s
        self.clock = clock or Clock()
        self.store = store or SeriesStore()
        self._parser = ExpositionParser(names_map)
        self._client = client
        self._own_client = client is None
        self._history: deque[RawSnapshot] = deque(
            maxlen=math.ceil(history_s / interval_s) + 2
        )
        self._lock = asyncio.Lock()
        self._error: str | None = None
        self._endpoints: set[str] = set()

    @property
    def error(self) -> str | None:
        """Why the last poll failed; None after a successful one."""
        return self._error

    def endpoints(self) -> list[str]:
        """Endpoints seen in ``boop_http_requests_total`` (for per-endpoint ids)."""
        return sorted(self._endpoints)

    async def poll(self) -> None:
        """Fetch once within ``timeout_s`` in total; a poll still running when the
        next is due is not doubled (the second call returns at once)."""
        if self._lock.locked():
            log.debug("poll of %s still running; skipped", self.url)
            return
        async with self._lock:
            sent = self.clock.now()
            try:
                text = await self._fetch()
                snapshot = self._parser.parse(text, sent)
            except MetricsError as exc:
                self._fail(sent, exc.message)
                raise
            if self._error is not None:
                log.info("metrics from %s are back", self.url)
            self._error = None
            self.ingest(snapshot)

    async def _fetch(self) -> str:
        if self._client is None:
            # A proxy variable must not divert a loopback scrape.
            loopback = urlsplit(self.url).hostname in ("127.0.0.1", "localhost", "::1")
            self._client = httpx.AsyncClient(trust_env=not loopback)
        try:
            async with asyncio.timeout(self.timeout_s):
                response = await self._client.get(
                    self.url, headers={"Accept": "text/plain; version=0.0.4"}
                )
        except TimeoutError:
            raise MetricsError(
                f"{self.url} did not answer within {self.timeout_s:g} s.",
                hint="Check the application is up, or raise metrics.timeout_s.",
            ) from None
        except httpx.HTTPError as exc:
            raise MetricsError(
                f"Cannot read metrics from {self.url}: {exc.__class__.__name__} {exc}.",
                hint="Check metrics.url and that the application is running.",
            ) from exc
        if response.status_code != 200:
            raise MetricsError(
                f"{self.url} answered HTTP {response.status_code}.",
                hint="Check metrics.url points at the application's /metrics.",
            )
        if len(response.content) > _MAX_BODY:
            raise MetricsError(f"{self.url} answered more than 8 MB; refusing it.")
        return response.text

    def _fail(self, at: float, message: str) -> None:
        if self._error != message:
            log.warning("metrics poll failed: %s", message)
        self._error = message
        for metric in self._chart_metrics():
            self.store.add(metric, at, math.nan)

    def ingest(self, snapshot: RawSnapshot) -> None:
        """Add one snapshot (steady time) and update the chart series.

        A snapshot not newer than the last one (a late answer) is dropped.
        """
        if self._history and snapshot.t <= self._history[-1].t:
            log.debug("dropped a snapshot older than the newest one")
            return
        self._history.append(snapshot)
        for key in snapshot.values.get("boop_http_requests_total", {}):
            endpoint = dict(key).get("endpoint")
            if endpoint is not None:
                self._endpoints.add(endpoint)

        window = self._window(snapshot.t, self.chart_window_s)
        for metric in self._chart_metrics():
            defn = lookup(metric)
            if defn is None:
                continue
            value = evaluate(defn, window).value
            self.store.add(metric, snapshot.t, math.nan if value is None else value)

    def _chart_metrics(self) -> list[str]:
        fixed = [d.id for d in CATALOG.values() if d.kind is not Kind.PROBE]
        return fixed + [ENDPOINT_ERROR_PREFIX + e for e in sorted(self._endpoints)]

    def _window(self, end: float, window_s: float) -> list[RawSnapshot]:
        start = end - window_s
        out: list[RawSnapshot] = []
        for snap in reversed(self._history):
            if snap.t > end:
                continue
            if snap.t < start:
                break
            out.append(snap)
        out.reverse()
        return out

    def measure(self, metric: str, window_s: float, now: float) -> Measurement:
        """``metric`` over the ``window_s`` seconds before ``now`` (wall clock).

        error is set while the last poll failed or the newest data is older than
        ``stale_after_s``; value is None with no events in the window.
        """
        defn = lookup(metric)
        if defn is None or defn.kind is Kind.PROBE:
            return Measurement(
                metric, None, window_s, 0, None, f"{metric}: not a scraped metric id"
            )
        end = self.clock.from_wall(now)
        window = self._window(end, window_s)
        newest = window[-1].t if window else self._newest_before(end)
        age = None if newest is None else max(0.0, end - newest)
        result = evaluate(defn, window)

        error = self._error
        if error is None and age is None:
            error = "no data read yet"
        elif error is None and age is not None and age > self.stale_after_s:
            error = (
                f"stale: newest data {age:.1f} s old (limit {self.stale_after_s:g} s)"
            )
        return Measurement(metric, result.value, window_s, result.samples, age, error)

    def _newest_before(self, end: float) -> float | None:
        for snap in reversed(self._history):
            if snap.t <= end:
                return snap.t
        return None

    def series(self, metric: str, since: float) -> Sequence[tuple[float, float]]:
        """Chart points since ``since`` (wall clock), wall-clock stamped; NaN marks
        a failed poll or a window without events."""
        offset = self.clock.now() - self.clock.wall()
        return [(t - offset, v) for t, v in self.store.points(metric, since + offset)]

    async def close(self) -> None:
        """Close the HTTP client if this source created it."""
        if self._own_client and self._client is not None:
            await self._client.aclose()
        self._client = None
