"""Query a Prometheus server (the fleet case) instead of scraping one application.

:class:`PrometheusSource` runs one instant PromQL query per (metric id, window) it
has been asked about, plus a companion query for the samples behind each value and
one for the data's freshness, all in one poll under one total deadline. ``measure``
answers from the last poll: it never waits on the network. The first ``measure`` of
a new window registers it, so it is INSUFFICIENT DATA until the next poll.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import urlsplit

import httpx

from console.errors import MetricsError
from console.metrics.base import Measurement
from console.metrics.catalog import ENDPOINT_ERROR_PREFIX
from console.metrics.clock import Clock
from console.metrics.series import SeriesStore

log = logging.getLogger("console.metrics")

_AUTH = "boop_auth_requests_total"
_PAY = "boop_payments_total"
_HTTP = "boop_http_requests_total"
_ENDPOINT = ENDPOINT_ERROR_PREFIX.rstrip(":")


def _ratio(metric: str, num: str, by: str = "") -> str:
    grouping = f" by ({by})" if by else ""
    return (
        f"100 * (sum{grouping} (increase({metric}{{{num}}}[{{window}}])) or "
        f"0 * sum{grouping} (increase({metric}[{{window}}]))) / "
        f"sum{grouping} (increase({metric}[{{window}}]))"
    )


def _p95(histogram: str) -> str:
    return (
        f"histogram_quantile(0.95, sum by (le) (increase({histogram}_bucket"
        "[{window}])))"
    )


DEFAULT_QUERIES: dict[str, str] = {
    "auth_success_pct": _ratio(_AUTH, 'result="success"'),
    "auth_p95_s": _p95("boop_auth_duration_seconds"),
    "auth_error_pct": _ratio(_AUTH, 'result="error"'),
    "concurrent_users": "sum(boop_concurrent_users)",
    "payment_success_pct": _ratio(_PAY, 'result="success"'),
    "txn_per_s": f"sum(rate({_PAY}[{{window}}]))",
    "failed_payments_per_min": f'60 * sum(rate({_PAY}{{result="failed"}}[{{window}}]))',
    "revenue_cents_per_min": (
        '60 * sum(rate(boop_payment_amount_cents_total{result="success"}[{window}]))'
    ),
    "ws_connections": "sum(boop_ws_connections)",
    "ws_reconnects_per_h": "3600 * sum(rate(boop_ws_reconnects_total[{window}]))",
    "api_p95_s": _p95("boop_http_request_duration_seconds"),
    # A status that is not a number (transport error) counts as an error too.
    _ENDPOINT: _ratio(_HTTP, 'status=~"5..|[^0-9].*"', by="endpoint"),
}
"""PromQL per metric id against the documented names; ``{window}`` becomes e.g.
``60s``. ``endpoint_error_pct`` answers one series per ``endpoint`` label."""

DEFAULT_SAMPLES: dict[str, str] = {
    "auth_success_pct": f"sum(increase({_AUTH}[{{window}}]))",
    "auth_error_pct": f"sum(increase({_AUTH}[{{window}}]))",
    "auth_p95_s": "sum(increase(boop_auth_duration_seconds_count[{window}]))",
    "payment_success_pct": f"sum(increase({_PAY}[{{window}}]))",
    "txn_per_s": f"sum(increase({_PAY}[{{window}}]))",
    "failed_payments_per_min": f"sum(increase({_PAY}[{{window}}]))",
    "revenue_cents_per_min": f'sum(increase({_PAY}{{result="success"}}[{{window}}]))',
    "ws_reconnects_per_h": "sum(increase(boop_ws_reconnects_total[{window}]))",
    "api_p95_s": "sum(increase(boop_http_request_duration_seconds_count[{window}]))",
    _ENDPOINT: f"sum by (endpoint) (increase({_HTTP}[{{window}}]))",
}
"""Companion queries: the events behind each value. Gauges have none (samples 1)."""

FRESHNESS_QUERY = (
    'time() - max(timestamp(label_replace({__name__=~"boop_.+"}, '
    '"name", "$1", "__name__", "(.+)")))'
)
"""Seconds since the newest sample of any documented series was scraped. (timestamp()
drops the metric name; the copy in ``name`` keeps the series apart.)"""


def window_text(window_s: float) -> str:
    """A PromQL duration: 60 -> '60s', 0.5 -> '500ms'."""
    if float(window_s).is_integer():
        return f"{int(window_s)}s"
    return f"{round(window_s * 1000)}ms"


@dataclass(frozen=True)
class _Answer:
    value: float | None
    samples: int
    at: float
    """Steady time the poll was sent."""
    error: str | None = None


class PrometheusSource:
    """A MetricsSource over Prometheus' HTTP API (``/api/v1/query``).

    ``queries`` overrides value queries by metric id and companion queries by
    ``<id>.samples``; ``_freshness`` overrides :data:`FRESHNESS_QUERY`.
    """

    def __init__(
        self,
        base_url: str,
        queries: Mapping[str, str] | None = None,
        *,
        interval_s: float = 10.0,
        timeout_s: float = 5.0,
        stale_after_s: float = 60.0,
        windows: Iterable[float] = (),
        chart_window_s: float = 60.0,
        client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        store: SeriesStore | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.stale_after_s = stale_after_s
        self.chart_window_s = chart_window_s
        self.clock = clock or Clock()
        self.store = store or SeriesStore()
        overrides = dict(queries or {})
        self._freshness = overrides.pop("_freshness", FRESHNESS_QUERY)
        self._values = {**DEFAULT_QUERIES}
        self._samples = {**DEFAULT_SAMPLES}
        for key, expr in overrides.items():
            if key.endswith(".samples"):
                self._samples[key.removesuffix(".samples")] = expr
            else:
                self._values[key] = expr
        self._wanted: set[tuple[str, float]] = {
            (metric, float(w)) for metric in self._values for w in windows
        }
        self._wanted.update((m, float(chart_window_s)) for m in self._values)
        self._answers: dict[tuple[str, float], _Answer] = {}
        self._data_age_s: float | None = None
        self._error: str | None = None
        self._client = client
        self._own_client = client is None
        self._lock = asyncio.Lock()

    @staticmethod
    def known() -> set[str]:
        """Metric ids with a default query (``_freshness`` may be overridden too)."""
        return {*DEFAULT_QUERIES, "_freshness"}

    @property
    def error(self) -> str | None:
        """Why the last poll failed as a whole; None after a successful one."""
        return self._error

    def _base(self, metric: str) -> str:
        return _ENDPOINT if metric.startswith(ENDPOINT_ERROR_PREFIX) else metric

    async def poll(self) -> None:
        """Run every wanted query concurrently within ``timeout_s`` in total."""
        if self._lock.locked():
            return
        async with self._lock:
            sent = self.clock.now()
            pairs = sorted({(self._base(m), w) for m, w in self._wanted})
            failure: str | None = None
            try:
                async with asyncio.timeout(self.timeout_s):
                    # A TaskGroup cancels the other queries when one cannot reach
                    # Prometheus, so a failed poll leaves nothing running.
                    try:
                        async with asyncio.TaskGroup() as group:
                            fresh_task = group.create_task(
                                self._query_value(self._freshness)
                            )
                            tasks = [
                                group.create_task(self._query_pair(b, w, sent))
                                for b, w in pairs
                            ]
                    except* MetricsError as errors:
                        failure = str(errors.exceptions[0])
            except TimeoutError:
                failure = (
                    f"Prometheus at {self.base_url} did not answer within "
                    f"{self.timeout_s:g} s."
                )
            if failure is not None:
                self._fail(failure)
            self._error = None
            self._data_age_s = fresh_task.result()
            answers = [task.result() for task in tasks]
            fresh_answers: dict[tuple[str, float], _Answer] = {}
            for found in answers:
                fresh_answers.update(found)
            for metric, window in self._wanted:
                # An endpoint without requests in the window has no series.
                if (metric, window) not in fresh_answers:
                    base = fresh_answers.get((self._base(metric), window))
                    failed = base is not None and base.error is not None
                    fresh_answers[(metric, window)] = (
                        base if base is not None and failed else _Answer(None, 0, sent)
                    )
            self._answers = fresh_answers
            for (metric, window), answer in fresh_answers.items():
                if window == self.chart_window_s:
                    v = answer.value
                    self.store.add(metric, sent, math.nan if v is None else v)

    def _fail(self, message: str) -> NoReturn:
        if message != self._error:
            log.warning("prometheus poll failed: %s", message)
        self._error = message
        raise MetricsError(message)

    async def _query_pair(
        self, base: str, window_s: float, sent: float
    ) -> dict[tuple[str, float], _Answer]:
        metric = base
        w = window_text(window_s)
        expr = self._values[base].replace("{window}", w)
        samples_expr = self._samples.get(base)
        try:
            values = await self._query(expr)
            counts = (
                await self._query(samples_expr.replace("{window}", w))
                if samples_expr
                else None
            )
        except _QueryError as exc:
            return {(metric, window_s): _Answer(None, 0, sent, str(exc))}
        if not values:
            message = f"query for {base} returned no series: {expr}"
            return {(metric, window_s): _Answer(None, 0, sent, message)}

        out: dict[tuple[str, float], _Answer] = {}
        by_key = {labels.get("endpoint", ""): v for labels, v in values}
        count_by_key = {labels.get("endpoint", ""): v for labels, v in counts or []}
        for key, value in by_key.items():
            mid = f"{ENDPOINT_ERROR_PREFIX}{key}" if base == _ENDPOINT else metric
            count = count_by_key.get(key) if counts is not None else 1.0
            samples = 0 if count is None or math.isnan(count) else round(count)
            value_or_none = None if math.isnan(value) else value
            out[(mid, window_s)] = _Answer(value_or_none, samples, sent)
        if base == _ENDPOINT:
            out[(base, window_s)] = _Answer(None, 0, sent)
        return out

    async def _query_value(self, expr: str) -> float | None:
        try:
            values = await self._query(expr)
        except _QueryError:
            return None
        return values[0][1] if values and not math.isnan(values[0][1]) else None

    async def _query(self, expr: str) -> list[tuple[dict[str, str], float]]:
        """One instant query; MetricsError when Prometheus itself cannot be read,
        _QueryError when it answered but refused or broke this query."""
        if self._client is None:
            loopback = urlsplit(self.base_url).hostname in ("127.0.0.1", "localhost")
            self._client = httpx.AsyncClient(trust_env=not loopback)
        url = f"{self.base_url}/api/v1/query"
        try:
            response = await self._client.post(url, data={"query": expr})
        except httpx.HTTPError as exc:
            raise MetricsError(
                f"Cannot reach Prometheus at {self.base_url}: "
                f"{exc.__class__.__name__} {exc}.",
                hint="Check metrics.url and that Prometheus is running.",
            ) from exc
        try:
            body: Any = json.loads(response.content)
        except ValueError:
            kind = response.headers.get("content-type", "unknown content")
            raise MetricsError(
                f"{url} answered HTTP {response.status_code} with {kind}, not "
                "Prometheus' JSON API.",
                hint="metrics.url must be the Prometheus server's base URL.",
            ) from None
        if not isinstance(body, dict) or body.get("status") != "success":
            detail = body.get("error", "no detail") if isinstance(body, dict) else ""
            if response.status_code >= 500:
                raise MetricsError(
                    f"Prometheus answered HTTP {response.status_code}: {detail}."
                )
            raise _QueryError(f"Prometheus refused the query ({detail}): {expr}")
        return _parse_result(body.get("data"), expr)

    def measure(self, metric: str, window_s: float, now: float) -> Measurement:
        """The last poll's answer for ``metric`` over ``window_s``; a new pair is
        queried from the next poll on."""
        key = (metric, float(window_s))
        if self._base(metric) not in self._values:
            return Measurement(
                metric, None, window_s, 0, None, f"{metric}: no PromQL query for it"
            )
        self._wanted.add(key)
        answer = self._answers.get(key)
        if answer is None:
            waiting = self._error or "not queried yet: waiting for the next poll"
            return Measurement(metric, None, window_s, 0, None, waiting)
        end = self.clock.from_wall(now)
        age = max(0.0, end - answer.at) + (self._data_age_s or 0.0)
        error: str | None = self._error or answer.error
        if error is None and self._data_age_s is None:
            error = "data age unknown: the freshness query returned nothing"
        if error is None and age > self.stale_after_s:
            error = (
                f"stale: newest data {age:.1f} s old (limit {self.stale_after_s:g} s)"
            )
        return Measurement(metric, answer.value, window_s, answer.samples, age, error)

    def series(self, metric: str, since: float) -> Sequence[tuple[float, float]]:
        """Chart points (``chart_window_s`` values, one per poll), wall-clock time."""
        offset = self.clock.now() - self.clock.wall()
        return [(t - offset, v) for t, v in self.store.points(metric, since + offset)]

    async def close(self) -> None:
        if self._own_client and self._client is not None:
            await self._client.aclose()
        self._client = None


class _QueryError(Exception):
    """Prometheus answered, but this one query failed (kept per metric)."""


def _parse_result(data: Any, expr: str) -> list[tuple[dict[str, str], float]]:
    if not isinstance(data, dict):
        raise _QueryError(f"Prometheus answered without data: {expr}")
    kind: Any = data.get("resultType")
    result: Any = data.get("result")
    try:
        if kind == "scalar":
            return [({}, float(result[1]))]
        if kind == "vector":
            return [
                ({str(k): str(v) for k, v in item.get("metric", {}).items()},
                 float(item["value"][1]))
                for item in result
            ]  # fmt: skip
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise _QueryError(f"Prometheus answered a malformed {kind}: {expr}") from exc
    raise _QueryError(f"expected an instant vector, got {kind}: {expr}")
