"""The SLO math as pure functions: counter increase and histogram quantiles."""

from __future__ import annotations

import math

from console.metrics import catalog
from console.metrics.slo import counter_increase, histogram_quantile, match_labels


def test_increase_sums_steps() -> None:
    assert counter_increase([10.0, 12.0, 20.0]) == 10.0


def test_increase_treats_a_decrease_as_reset() -> None:
    # 100 -> 150 (+50), restart -> 10 (+10), -> 30 (+20)
    assert counter_increase([100.0, 150.0, 10.0, 30.0]) == 80.0


def test_increase_skips_nan() -> None:
    assert counter_increase([100.0, math.nan, 120.0]) == 20.0
    assert counter_increase([math.nan, math.nan]) == 0.0


def test_increase_from_zero_counts_a_new_series() -> None:
    assert counter_increase([1.0, 3.0], from_zero=True) == 3.0


def test_quantile_interpolates_inside_the_bucket() -> None:
    # 100 observations; rank 95 lies in (1, 2.5] which holds 90 -> 100:
    # 1 + (2.5 - 1) * (95 - 90) / 10 = 1.75
    buckets = {0.1: 10.0, 0.5: 50.0, 1.0: 90.0, 2.5: 100.0, math.inf: 100.0}
    assert histogram_quantile(0.95, buckets) == 1.75
    # rank 50 is exactly the top of (0.1, 0.5]
    assert histogram_quantile(0.5, buckets) == 0.5


def test_quantile_in_the_first_bucket_starts_at_zero() -> None:
    # rank 4.75 of 5 in (0, 0.1]: 0.1 * 4.75 / 5 = 0.095
    assert histogram_quantile(0.95, {0.1: 5.0, math.inf: 5.0}) == 0.095


def test_quantile_in_inf_bucket_gives_highest_finite_bound() -> None:
    assert histogram_quantile(0.95, {1.0: 10.0, 2.5: 50.0, math.inf: 100.0}) == 2.5


def test_quantile_without_observations_is_none() -> None:
    assert histogram_quantile(0.95, {1.0: 0.0, math.inf: 0.0}) is None
    assert histogram_quantile(0.95, {1.0: 3.0}) is None


def test_5xx_matcher() -> None:
    matches = match_labels([("status", "5xx")])
    assert matches((("status", "503"),))
    assert matches((("status", "error"),))
    assert not matches((("status", "200"),))
    assert not matches(())


def test_catalog_covers_the_documented_ids() -> None:
    documented = {
        "auth_success_pct", "auth_p95_s", "auth_error_pct", "concurrent_users",
        "payment_success_pct", "txn_per_s", "failed_payments_per_min",
        "revenue_cents_per_min", "ws_connections", "ws_reconnects_per_h",
        "api_p95_s", "uptime_pct", "health_latency_ms", "ws_rtt_ms", "traffic_pct",
        "synthetic_auth_pct",
    }  # fmt: skip
    assert set(catalog.CATALOG) == documented
    ep = catalog.lookup("endpoint_error_pct:/v1/auth")
    assert ep is not None and ep.denominator == (("endpoint", "/v1/auth"),)
    assert catalog.lookup("nope") is None
    assert catalog.label("auth_p95_s") == "Auth p95 (s)"
    assert "| `auth_success_pct` | % |" in catalog.markdown_table()


def test_docs_table_is_the_catalogs() -> None:
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
    assert catalog.markdown_table() in docs.read_text(encoding="utf-8")
