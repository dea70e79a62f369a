"""The contract in docs/metrics.md, checked against the embedded simulator: every
vendor metric id computes from what its /metrics really exports."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from console.metrics.catalog import CATALOG, Kind
from console.metrics.scrape import ScrapeSource
from console.sim.simulator import Simulator

pytestmark = pytest.mark.timeout(30)


async def test_every_vendor_metric_computes_from_the_simulator(tmp_path: Path) -> None:
    routing = tmp_path / "routing.json"
    routing.write_text(json.dumps({"boop_percent": 100.0}))
    async with Simulator(routing_file=routing, rate=50, seed=1) as sim:
        src = ScrapeSource(sim.metrics_url, interval_s=0.3)
        try:
            for _ in range(8):
                await src.poll()
                await asyncio.sleep(0.3)
        finally:
            await src.close()
    now = time.time()
    computed = {}
    for defn in CATALOG.values():
        if defn.kind is Kind.PROBE:
            continue
        m = src.measure(defn.id, 60, now)
        assert m.error is None, m
        computed[defn.id] = m
    # events flowed, so every ratio, rate and quantile has a value
    for metric in ("auth_success_pct", "auth_p95_s", "payment_success_pct",
                   "txn_per_s", "revenue_cents_per_min", "api_p95_s"):  # fmt: skip
        assert computed[metric].value is not None and computed[metric].samples > 0
    assert computed["txn_per_s"].value is not None
    assert computed["txn_per_s"].value > 0
    assert computed["ws_connections"].value is not None
    assert src.endpoints(), "boop_http_requests_total carries endpoint labels"
