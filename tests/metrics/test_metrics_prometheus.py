"""PrometheusSource against a real Prometheus scraping a local exposition endpoint,
and against small local servers that answer what Prometheus never should."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from metrics_helpers import ExpositionServer, exposition_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector

from console.errors import MetricsError
from console.metrics.prometheus import PrometheusSource, window_text
from console.sim.launch import free_port_base
from tests.conftest import require_binary

pytestmark = pytest.mark.timeout(60)


class SteadyLoad(Collector):
    """Counters that grow 10 per second in fixed proportions, so every ratio and
    quantile Prometheus computes is exact whatever instant it scrapes."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def collect(self) -> Iterator[CounterMetricFamily]:
        n = int((time.monotonic() - self.started) * 10)
        auth = CounterMetricFamily("boop_auth_requests", "", labels=["result"])
        auth.add_metric(["success"], 9 * n)
        auth.add_metric(["error"], n)
        yield auth
        http = CounterMetricFamily(
            "boop_http_requests", "", labels=["endpoint", "status"]
        )
        http.add_metric(["/auth", "200"], 9 * n)
        http.add_metric(["/auth", "503"], n)
        http.add_metric(["/pay", "200"], 5 * n)
        yield http
        yield HistogramMetricFamily(  # type: ignore[misc]
            "boop_auth_duration_seconds",
            "",
            buckets=[("0.5", 50 * n), ("1.0", 80 * n), ("2.0", 100 * n),
                     ("+Inf", 100 * n)],
            sum_value=80.0 * n,
        )  # fmt: skip
        yield GaugeMetricFamily("boop_concurrent_users", "", value=7)  # type: ignore[misc]


def free_port() -> int:
    # Below the ephemeral range: the servers this test starts on port 0 meanwhile
    # cannot be handed the same port.
    return free_port_base(1)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = require_binary("prometheus")
    server = ExpositionServer()
    server.registry.register(SteadyLoad())
    tmp: Path = tmp_path_factory.mktemp("prom")
    with exposition_server(server):
        target = server.url.removeprefix("http://").removesuffix("/metrics")
        (tmp / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            f"  - job_name: app\n    static_configs: [{{targets: ['{target}']}}]\n"
        )
        port = free_port()
        with (tmp / "log").open("w") as log:
            proc = subprocess.Popen(
                [binary, f"--config.file={tmp / 'prometheus.yml'}",
                 f"--storage.tsdb.path={tmp / 'data'}",
                 f"--web.listen-address=127.0.0.1:{port}"],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


async def test_real_prometheus(prometheus: str) -> None:
    src = PrometheusSource(
        prometheus,
        {"api_p95_s": "histogram_quantile(0.95,"},
        windows=[30],
        timeout_s=5.0,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(MetricsError):  # not listening yet
                await src.poll()
            m = src.measure("auth_error_pct", 30, time.time())
            if m.usable and m.samples > 0:
                break
            assert time.monotonic() < deadline, f"no data within 30 s: {m}"
            await asyncio.sleep(0.5)
        # one more poll so every registered pair has an answer
        src.measure("endpoint_error_pct:/auth", 30, time.time())
        src.measure("endpoint_error_pct:/none", 30, time.time())
        await src.poll()
        now = time.time()

        err = src.measure("auth_error_pct", 30, now)
        assert err.value == pytest.approx(10.0)
        assert err.age_s is not None and err.age_s < 5
        assert src.measure("auth_success_pct", 30, now).value == pytest.approx(90.0)
        # rank 95 of 100 in (1, 2] holding 80 -> 100: 1 + 15 / 20
        assert src.measure("auth_p95_s", 30, now).value == pytest.approx(1.75)
        users = src.measure("concurrent_users", 30, now)
        assert (users.value, users.samples) == (7.0, 1)
        auth = src.measure("endpoint_error_pct:/auth", 30, now)
        assert auth.value == pytest.approx(10.0) and auth.error is None
        assert src.measure("endpoint_error_pct:/pay", 30, now).value == 0.0
        none = src.measure("endpoint_error_pct:/none", 30, now)
        assert none.value is None and none.samples == 0

        pay = src.measure("payment_success_pct", 30, now)
        assert pay.value is None
        assert pay.error is not None and "returned no series" in pay.error
        bad = src.measure("api_p95_s", 30, now)
        assert bad.error is not None and "refused the query" in bad.error
        # charts: one point per successful poll, over the 60 s chart window
        chart = src.series("auth_error_pct", now - 120)
        assert chart[-1][1] == pytest.approx(10.0)
        assert abs(chart[-1][0] - now) < 2
        assert [t for t, _ in chart] == sorted({t for t, _ in chart})
    finally:
        await src.close()


async def test_html_answer_is_an_error() -> None:
    server = ExpositionServer(body=b"<html><body>Sign in</body></html>")
    with exposition_server(server):
        base = server.url.removesuffix("/metrics")
        src = PrometheusSource(base, windows=[60])
        try:
            with pytest.raises(MetricsError, match="not Prometheus' JSON API"):
                await src.poll()
        finally:
            await src.close()
    m = src.measure("auth_success_pct", 60, time.time())
    assert m.error is not None and "not Prometheus' JSON API" in m.error


async def test_server_error_is_an_error() -> None:
    body = b'{"status":"error","errorType":"unavailable","error":"queue full"}'
    server = ExpositionServer(body=body, status=503)
    with exposition_server(server):
        src = PrometheusSource(server.url.removesuffix("/metrics"), windows=[60])
        try:
            with pytest.raises(MetricsError, match="HTTP 503: queue full"):
                await src.poll()
        finally:
            await src.close()


async def test_slow_prometheus_hits_the_deadline() -> None:
    server = ExpositionServer(body=b"{}", delay_s=1.0)
    with exposition_server(server):
        src = PrometheusSource(server.url.removesuffix("/metrics"), timeout_s=0.3)
        try:
            started = time.monotonic()
            with pytest.raises(MetricsError, match=r"did not answer within 0\.3 s"):
                await src.poll()
            assert time.monotonic() - started < 0.6
        finally:
            await src.close()


def test_window_text() -> None:
    assert window_text(60) == "60s"
    assert window_text(0.5) == "500ms"
