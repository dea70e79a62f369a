"""Every metric id the console computes, defined once.

The README table, the UI's labels and the gate configuration all read this module;
``docs/metrics.md`` is its prose twin. A metric id is what gates name
(``auth_success_pct``); the exposition names it is computed from are the documented
contract between a vendor application and the console (``EXPOSITION``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """How a metric is computed from counter snapshots over a window."""

    RATIO = "ratio"
    """100 × Δnumerator / Δdenominator; no events in the window gives no value."""
    RATE = "rate"
    """Δcounter / covered seconds × scale; zero events gives 0."""
    QUANTILE = "quantile"
    """A quantile of the window's histogram bucket deltas, interpolated linearly."""
    GAUGE = "gauge"
    """The newest non-NaN value in the window."""
    PROBE = "probe"
    """Written by the console's own probes (or the engine), not read from the app."""


@dataclass(frozen=True)
class MetricDef:
    """One metric id: what it means, how it is computed, and the guide's target."""

    id: str
    title: str
    unit: str
    kind: Kind
    formula: str
    source: str
    """The exposition name it is computed from ('' for probe metrics)."""
    numerator: tuple[tuple[str, str], ...] = ()
    """Label filters selecting the numerator's series (ratio) or the counted series
    (rate); an empty tuple means every series of ``source``."""
    denominator: tuple[tuple[str, str], ...] = ()
    """Label filters selecting the ratio's denominator (empty: every series)."""
    samples_from: str = ""
    """Rate metrics: the counter whose Δ (over ``denominator``) is the samples
    figure, when not ``source`` itself (revenue counts payments, not cents)."""
    scale: float = 1.0
    """Rate multiplier: 60 for per-minute, 3600 for per-hour."""
    quantile: float = 0.95
    target: str = ""
    """The guide's target as written there ('> 99.5', 'watch')."""


# Exposition names of the documented contract (docs/metrics.md) and their types.
EXPOSITION: dict[str, str] = {
    "boop_auth_requests_total": "counter",
    "boop_auth_duration_seconds": "histogram",
    "boop_payments_total": "counter",
    "boop_payment_amount_cents_total": "counter",
    "legacy_payments_total": "counter",
    "legacy_payment_amount_cents_total": "counter",
    "boop_ws_connections": "gauge",
    "boop_ws_reconnects_total": "counter",
    "boop_http_requests_total": "counter",
    "boop_http_request_duration_seconds": "histogram",
    "boop_concurrent_users": "gauge",
    "boop_routing_percent": "gauge",
}

ENDPOINT_ERROR_PREFIX = "endpoint_error_pct:"
"""Per-endpoint error rate ids are this prefix plus the endpoint label's value."""

_DEFS = (
    MetricDef(
        "auth_success_pct",
        "Auth success",
        "%",
        Kind.RATIO,
        "Δsuccess / Δ(all results) × 100",
        "boop_auth_requests_total",
        numerator=(("result", "success"),),
        target="> 99.5",
    ),
    MetricDef(
        "auth_p95_s",
        "Auth p95",
        "s",
        Kind.QUANTILE,
        "95th percentile of Δboop_auth_duration_seconds buckets",
        "boop_auth_duration_seconds",
        target="< 2",
    ),
    MetricDef(
        "auth_error_pct",
        "Auth errors",
        "%",
        Kind.RATIO,
        "Δerror / Δ(all results) × 100",
        "boop_auth_requests_total",
        numerator=(("result", "error"),),
        target="< 0.5",
    ),
    MetricDef(
        "concurrent_users",
        "Concurrent users",
        "users",
        Kind.GAUGE,
        "last boop_concurrent_users",
        "boop_concurrent_users",
        target="watch",
    ),
    MetricDef(
        "payment_success_pct",
        "Payment success",
        "%",
        Kind.RATIO,
        "Δsuccess / Δ(all payments) × 100",
        "boop_payments_total",
        numerator=(("result", "success"),),
        target="> 99.9",
    ),
    MetricDef(
        "txn_per_s",
        "Transactions",
        "tx/s",
        Kind.RATE,
        "Δ(all BOOP payments) / covered seconds",
        "boop_payments_total",
        target="watch",
    ),
    MetricDef(
        "failed_payments_per_min",
        "Failed payments",
        "tx/min",
        Kind.RATE,
        "Δfailed / covered seconds × 60",
        "boop_payments_total",
        numerator=(("result", "failed"),),
        scale=60.0,
        target="minimal",
    ),
    MetricDef(
        "revenue_cents_per_min",
        "Revenue",
        "cents/min",
        Kind.RATE,
        "Δ(successful BOOP amount) / covered seconds × 60",
        "boop_payment_amount_cents_total",
        numerator=(("result", "success"),),
        denominator=(("result", "success"),),
        samples_from="boop_payments_total",
        scale=60.0,
        target="track",
    ),
    MetricDef(
        "ws_connections",
        "WebSocket connections",
        "connections",
        Kind.GAUGE,
        "last boop_ws_connections",
        "boop_ws_connections",
        target="stable",
    ),
    MetricDef(
        "ws_reconnects_per_h",
        "WebSocket reconnects",
        "/h",
        Kind.RATE,
        "Δboop_ws_reconnects_total / covered seconds × 3600 (+ the console's stream)",
        "boop_ws_reconnects_total",
        scale=3600.0,
        target="stable",
    ),
    MetricDef(
        "api_p95_s",
        "API p95",
        "s",
        Kind.QUANTILE,
        "95th percentile of Δboop_http_request_duration_seconds buckets",
        "boop_http_request_duration_seconds",
        target="track",
    ),
    MetricDef(
        "uptime_pct",
        "Uptime",
        "%",
        Kind.PROBE,
        "successful /health probes of the target / all probes × 100",
        "",
        target=">= 99.9",
    ),
    MetricDef(
        "health_latency_ms",
        "Health latency",
        "ms",
        Kind.PROBE,
        "the console's last /health round trip",
        "",
        target="track",
    ),
    MetricDef(
        "ws_rtt_ms",
        "WebSocket RTT",
        "ms",
        Kind.PROBE,
        "the console's vendor WebSocket ping round trip",
        "",
        target="track",
    ),
    MetricDef(
        "synthetic_auth_pct",
        "Synthetic auth",
        "%",
        Kind.PROBE,
        "successful synthetic authentications on dev / all attempts × 100",
        "",
        target="track",
    ),
    MetricDef(
        "traffic_pct",
        "Traffic to BOOP",
        "%",
        Kind.PROBE,
        "the router's effective BOOP share",
        "",
        target="—",
    ),
)

CATALOG: dict[str, MetricDef] = {d.id: d for d in _DEFS}
"""Every fixed metric id; per-endpoint ids come from :func:`lookup`."""

_ENDPOINT_TEMPLATE = MetricDef(
    ENDPOINT_ERROR_PREFIX + "<endpoint>",
    "Endpoint errors",
    "%",
    Kind.RATIO,
    "Δ(status ≥ 500 or not numeric) / Δall, per endpoint × 100",
    "boop_http_requests_total",
    numerator=(("status", "5xx"),),
    target="find failing ones",
)


def lookup(metric: str) -> MetricDef | None:
    """The definition of ``metric``, including ``endpoint_error_pct:<endpoint>`` ids."""
    found = CATALOG.get(metric)
    if found is not None:
        return found
    if metric.startswith(ENDPOINT_ERROR_PREFIX) and len(metric) > len(
        ENDPOINT_ERROR_PREFIX
    ):
        endpoint = metric[len(ENDPOINT_ERROR_PREFIX) :]
        return MetricDef(
            metric,
            f"Errors {endpoint}",
            _ENDPOINT_TEMPLATE.unit,
            Kind.RATIO,
            _ENDPOINT_TEMPLATE.formula,
            _ENDPOINT_TEMPLATE.source,
            numerator=_ENDPOINT_TEMPLATE.numerator,
            denominator=(("endpoint", endpoint),),
            target=_ENDPOINT_TEMPLATE.target,
        )
    return None


def label(metric: str) -> str:
    """A short UI label with the unit, e.g. 'Auth success (%)'."""
    found = lookup(metric)
    return metric if found is None else f"{found.title} ({found.unit})"


def markdown_table() -> str:
    """The README/docs table of metric ids, generated so it cannot drift."""
    rows = ["| id | unit | formula over a window | guide target |", "|---|---|---|---|"]
    for d in (*_DEFS, _ENDPOINT_TEMPLATE):
        rows.append(f"| `{d.id}` | {d.unit} | {d.formula} | {d.target} |")
    return "\n".join(rows)
