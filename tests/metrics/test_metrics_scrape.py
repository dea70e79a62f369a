"""ScrapeSource: window math over snapshots (fake clock) and real HTTP polls."""

from __future__ import annotations

import time

import pytest
from metrics_helpers import (
    ExpositionServer,
    FakeTime,
    auth_text,
    exposition_server,
)
from prometheus_client import Counter, Gauge, Histogram

from console.errors import MetricsError
from console.metrics.scrape import ScrapeSource

pytestmark = pytest.mark.timeout(30)

URL = "http://127.0.0.1:9/metrics"  # never fetched in the ingest-only tests


def source(ft: FakeTime, **kw: object) -> ScrapeSource:
    return ScrapeSource(URL, clock=ft.clock(), **kw)  # type: ignore[arg-type]


def feed(src: ScrapeSource, ft: FakeTime, text: str, step: float = 1.0) -> None:
    src.ingest(src._parser.parse(text, src.clock.now()))
    ft.advance(step)


def test_ratio_from_counter_deltas() -> None:
    ft = FakeTime()
    src = source(ft)
    feed(src, ft, auth_text(100), 60)
    feed(src, ft, auth_text(1090, failure=5, error=5), 0)
    m = src.measure("auth_success_pct", 60, ft.wall_t)
    # Δ 990 success of Δ 1000 results
    assert m.value == pytest.approx(99.0)
    assert m.samples == 1000
    assert m.age_s == 0.0 and m.error is None
    assert src.measure("auth_error_pct", 60, ft.wall_t).value == pytest.approx(0.5)


def test_p95_from_histogram_bucket_deltas() -> None:
    def hist(b: list[int]) -> str:
        les = ["0.1", "0.5", "1.0", "2.5", "+Inf"]
        lines = ["# TYPE boop_auth_duration_seconds histogram"]
        lines += [
            f'boop_auth_duration_seconds_bucket{{le="{le}"}} {n}'
            for le, n in zip(les, b, strict=True)
        ]
        lines += [f"boop_auth_duration_seconds_count {b[-1]}"]
        lines += ["boop_auth_duration_seconds_sum 1.0"]
        return "\n".join(lines) + "\n"

    ft = FakeTime()
    src = source(ft)
    feed(src, ft, hist([5, 10, 10, 10, 10]), 30)
    feed(src, ft, hist([15, 55, 95, 110, 110]), 0)
    m = src.measure("auth_p95_s", 60, ft.wall_t)
    # Δ buckets 10, 45, 85, 100, 100; rank 95 lies in (1, 2.5] holding 85 -> 100:
    # 1 + 1.5 * (95 - 85) / 15 = 2.0
    assert m.value == pytest.approx(2.0)
    assert m.samples == 100


def pay_text(success: float, failed: float, cents: float = 0) -> str:
    return (
        "# TYPE boop_payments_total counter\n"
        f'boop_payments_total{{result="success"}} {success}\n'
        f'boop_payments_total{{result="failed"}} {failed}\n'
        "# TYPE boop_payment_amount_cents_total counter\n"
        f'boop_payment_amount_cents_total{{result="success"}} {cents}\n'
    )


def test_counter_reset_counts_the_new_value() -> None:
    ft = FakeTime()
    src = source(ft)
    for success, failed in [(100, 0), (150, 0), (10, 0), (30, 2)]:
        feed(src, ft, pay_text(success, failed))
    m = src.measure("payment_success_pct", 60, ft.wall_t)
    # success +50 +10 +20 = 80; failed +2; 80 / 82
    assert m.samples == 82
    assert m.value == pytest.approx(100 * 80 / 82)


def test_rates_use_the_covered_span_across_a_gap() -> None:
    ft = FakeTime()
    src = source(ft)
    feed(src, ft, pay_text(0, 0, 0), 1)
    feed(src, ft, pay_text(10, 0, 1000), 29)  # nobody polled for 29 s
    feed(src, ft, pay_text(40, 1, 4000), 0)
    # 41 payments over 30 covered seconds
    assert src.measure("txn_per_s", 60, ft.wall_t).value == pytest.approx(41 / 30)
    failed = src.measure("failed_payments_per_min", 60, ft.wall_t)
    assert failed.value == pytest.approx(2.0) and failed.samples == 41
    revenue = src.measure("revenue_cents_per_min", 60, ft.wall_t)
    assert revenue.value == pytest.approx(8000.0) and revenue.samples == 40


def test_series_first_seen_mid_window_counts_from_zero() -> None:
    ft = FakeTime()
    src = source(ft)
    feed(
        src,
        ft,
        'boop_auth_requests_total{result="success"} 50\n',
    )
    feed(src, ft, auth_text(149, error=1), 0)
    m = src.measure("auth_error_pct", 60, ft.wall_t)
    assert m.samples == 100 and m.value == pytest.approx(1.0)


def test_empty_window_gives_no_value_never_100() -> None:
    ft = FakeTime()
    src = source(ft)
    feed(src, ft, auth_text(10))
    feed(src, ft, auth_text(10), 0)
    m = src.measure("auth_success_pct", 60, ft.wall_t)
    assert m.value is None and m.samples == 0 and m.age_s == 0.0
    assert not m.usable


def test_nan_gauge_takes_the_newest_real_value() -> None:
    ft = FakeTime()
    src = source(ft)
    feed(src, ft, "boop_concurrent_users 7\n")
    feed(src, ft, "boop_concurrent_users NaN\n", 0)
    m = src.measure("concurrent_users", 60, ft.wall_t)
    assert m.value == 7.0 and m.samples == 1
    src2 = source(ft)
    feed(src2, ft, "boop_concurrent_users NaN\n", 0)
    assert src2.measure("concurrent_users", 60, ft.wall_t).value is None


def test_stale_data_is_an_error() -> None:
    ft = FakeTime()
    src = source(ft, stale_after_s=10.0)
    feed(src, ft, auth_text(0), 1)
    feed(src, ft, auth_text(100), 15)
    m = src.measure("auth_success_pct", 60, ft.wall_t)
    assert m.value == 100.0 and m.age_s == 15.0
    assert m.error == "stale: newest data 15.0 s old (limit 10 s)"
    assert not m.usable


def test_wall_clock_jumping_backwards_changes_nothing() -> None:
    ft = FakeTime()
    src = source(ft)
    feed(src, ft, auth_text(0), 10)
    ft.wall_t -= 3600  # NTP step backwards between two polls
    feed(src, ft, auth_text(100, error=1), 2)
    m = src.measure("auth_success_pct", 60, ft.wall_t)
    assert m.samples == 101 and m.age_s == 2.0 and m.error is None
    # chart points come back on the (new) wall clock, still in order
    points = src.series("auth_success_pct", ft.wall_t - 60)
    assert [round(t - ft.wall_t) for t, _ in points] == [-12, -2]


def test_names_map_reads_the_applications_own_names() -> None:
    ft = FakeTime()
    src = source(ft, names_map={"boop_auth_requests_total": "shop_auth_total"})
    for n in (0, 10):
        feed(src, ft, f'shop_auth_total{{result="success"}} {n}\n'
                      f'shop_auth_total{{result="error"}} {n}\n')  # fmt: skip
    assert src.measure("auth_error_pct", 60, ft.wall_t).value == pytest.approx(50.0)


def test_endpoint_error_rate() -> None:
    ft = FakeTime()
    src = source(ft)
    for ok, bad in ((0, 0), (90, 10)):
        feed(src, ft, (
            f'boop_http_requests_total{{endpoint="/auth",status="200"}} {ok}\n'
            f'boop_http_requests_total{{endpoint="/auth",status="503"}} {bad}\n'
            f'boop_http_requests_total{{endpoint="/pay",status="200"}} {ok}\n'
        ))  # fmt: skip
    assert src.endpoints() == ["/auth", "/pay"]
    assert src.measure("endpoint_error_pct:/auth", 60, ft.wall_t).value == 10.0
    assert src.measure("endpoint_error_pct:/pay", 60, ft.wall_t).value == 0.0


async def test_polls_a_real_exposition_endpoint() -> None:
    server = ExpositionServer()
    auth = Counter("boop_auth_requests", "", ["result"], registry=server.registry)
    users = Gauge("boop_concurrent_users", "", registry=server.registry)
    hist = Histogram(
        "boop_auth_duration_seconds", "", buckets=(0.5, 1.0, 2.0),
        registry=server.registry,
    )  # fmt: skip
    ft = FakeTime()
    with exposition_server(server):
        src = ScrapeSource(server.url, clock=ft.clock(), timeout_s=2.0)
        try:
            await src.poll()
            ft.advance(5)
            auth.labels("success").inc(199)
            auth.labels("failure").inc(1)
            users.set(12)
            for v in [0.2] * 50 + [0.8] * 30 + [1.5] * 20:
                hist.observe(v)
            await src.poll()
        finally:
            await src.close()
    m = src.measure("auth_success_pct", 60, ft.wall_t)
    assert (m.value, m.samples, m.error) == (99.5, 200, None)
    assert src.measure("concurrent_users", 60, ft.wall_t).value == 12.0
    # rank 95 in (1, 2] holding 80 -> 100: 1 + 1 * 15 / 20 = 1.75
    assert src.measure("auth_p95_s", 60, ft.wall_t).value == pytest.approx(1.75)
    assert server.requests == 2


async def test_http_error_is_recorded_and_cleared() -> None:
    server = ExpositionServer(status=500)
    ft = FakeTime()
    with exposition_server(server):
        src = ScrapeSource(server.url, clock=ft.clock())
        try:
            with pytest.raises(MetricsError, match="answered HTTP 500"):
                await src.poll()
            m = src.measure("auth_success_pct", 60, ft.wall_t)
            assert m.error == f"{server.url} answered HTTP 500."
            server.status = 200
            await src.poll()
            assert src.error is None
        finally:
            await src.close()


async def test_not_exposition_text_is_an_error() -> None:
    server = ExpositionServer(body=b"<html>login</html>\n")
    with exposition_server(server):
        src = ScrapeSource(server.url)
        try:
            with pytest.raises(MetricsError, match="not Prometheus text format"):
                await src.poll()
        finally:
            await src.close()


async def test_late_answer_past_the_deadline() -> None:
    server = ExpositionServer(delay_s=1.0)
    with exposition_server(server):
        src = ScrapeSource(server.url, timeout_s=0.3)
        try:
            started = time.monotonic()
            with pytest.raises(MetricsError, match=r"did not answer within 0.3 s"):
                await src.poll()
            elapsed = time.monotonic() - started
            m = src.measure("auth_success_pct", 60, time.time())
        finally:
            await src.close()
    assert elapsed < 0.6
    assert m.error is not None and "did not answer" in m.error
    assert m.value is None


async def test_unreachable_endpoint() -> None:
    server = ExpositionServer()
    with exposition_server(server):
        url = server.url
    src = ScrapeSource(url, timeout_s=1.0)  # server gone: connection refused
    try:
        with pytest.raises(MetricsError, match="Cannot read metrics"):
            await src.poll()
    finally:
        await src.close()
