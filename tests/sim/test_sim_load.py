"""The simulator's vendor load: documented metric names, routing, gates, faults."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from console.sim.simulator import Simulator

pytestmark = pytest.mark.timeout(40)

DOCUMENTED = {
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


async def scrape(sim: Simulator) -> dict[str, float]:
    """Sample name + sorted labels -> value."""
    async with httpx.AsyncClient(trust_env=False) as client:
        text = (await client.get(sim.metrics_url, timeout=2)).text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return out


def route(path: Path, pct: float) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"boop_percent": pct, "generation": 1}))
    tmp.replace(path)


async def test_exports_exactly_the_documented_names(tmp_path: Path) -> None:
    async with Simulator(rate=50, seed=1, routing_file=tmp_path / "r.json") as sim:
        await asyncio.sleep(1.2)
        async with httpx.AsyncClient(trust_env=False) as client:
            text = (await client.get(sim.metrics_url)).text
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            base = sample.name
            for suffix in ("_bucket", "_count", "_sum"):
                if family.type == "histogram" and base.endswith(suffix):
                    base = base[: -len(suffix)]
            types[base] = family.type
    assert types == DOCUMENTED


async def test_routing_file_moves_traffic(tmp_path: Path) -> None:
    routing = tmp_path / "routing.json"
    async with Simulator(rate=200, seed=2, routing_file=routing) as sim:
        await asyncio.sleep(0.8)  # missing file: 0% to BOOP
        first = await scrape(sim)
        assert first["boop_routing_percent"] == 0.0
        assert first["boop_auth_requests_total{result=success}"] == 0.0
        assert first["legacy_payments_total{result=success}"] > 20
        route(routing, 100.0)
        await asyncio.sleep(0.8)
        mid = await scrape(sim)
        assert mid["boop_routing_percent"] == 100.0
        await asyncio.sleep(0.6)
        last = await scrape(sim)
    legacy_delta = (
        last["legacy_payments_total{result=success}"]
        - mid["legacy_payments_total{result=success}"]
    )
    boop_delta = (
        last["boop_auth_requests_total{result=success}"]
        - mid["boop_auth_requests_total{result=success}"]
    )
    assert legacy_delta <= 2  # only contexts created before the switch
    assert boop_delta > 60


async def test_healthy_baseline_passes_the_guides_gates(tmp_path: Path) -> None:
    routing = tmp_path / "routing.json"
    route(routing, 100.0)
    async with Simulator(rate=400, seed=3, routing_file=routing) as sim:
        await asyncio.sleep(3.0)
        m = await scrape(sim)
    ok = m["boop_auth_requests_total{result=success}"]
    fail = m["boop_auth_requests_total{result=failure}"]
    err = m["boop_auth_requests_total{result=error}"]
    total = ok + fail + err
    assert total > 800
    assert ok / total * 100 > 99.5
    assert err / total * 100 < 0.5
    count = m["boop_auth_duration_seconds_count"]
    # p95 ~0.3 s: at least 95% within 0.5 s, but well under 95% within 0.2 s.
    assert m["boop_auth_duration_seconds_bucket{le=0.5}"] / count >= 0.95
    assert m["boop_auth_duration_seconds_bucket{le=0.2}"] / count < 0.8
    paid = m["boop_payments_total{result=success}"]
    failed = m["boop_payments_total{result=failed}"]
    assert paid / (paid + failed) * 100 >= 99.8
    assert m["boop_ws_connections"] == 1.0
    assert m["boop_http_requests_total{endpoint=/health,status=200}"] >= 2


async def test_bad_deploy_error_rate_breaches_clearly(tmp_path: Path) -> None:
    routing = tmp_path / "routing.json"
    route(routing, 100.0)
    async with Simulator(rate=400, seed=4, routing_file=routing) as sim:
        sim.faults.inject("prod", "error_rate", "5%")
        await asyncio.sleep(2.5)
        m = await scrape(sim)
    ok = m["boop_auth_requests_total{result=success}"]
    err = m["boop_auth_requests_total{result=error}"]
    total = ok + err + m["boop_auth_requests_total{result=failure}"]
    assert 2.5 < err / total * 100 < 8.0  # far above the guide's 0.5%
    paid = m["boop_payments_total{result=success}"]
    failed = m["boop_payments_total{result=failed}"]
    assert failed / (paid + failed) * 100 > 2.0


async def test_outage_counts_errors_and_reconnects(tmp_path: Path) -> None:
    routing = tmp_path / "routing.json"
    route(routing, 100.0)
    async with Simulator(rate=100, seed=5, routing_file=routing) as sim:
        await asyncio.sleep(0.5)
        sim.faults.inject("prod", "outage", duration_s=0.8)
        await asyncio.sleep(0.4)
        during = await scrape(sim)
        await asyncio.sleep(2.0)
        after = await scrape(sim)
    assert during["boop_ws_connections"] == 0.0
    assert during["boop_auth_requests_total{result=error}"] > 10
    assert after["boop_ws_connections"] == 1.0
    assert after["boop_ws_reconnects_total"] >= 1.0


async def test_admin_api_injects_lists_and_clears(tmp_path: Path) -> None:
    async with Simulator(rate=0) as sim, httpx.AsyncClient(trust_env=False) as client:
        r = await client.post(
            f"{sim.admin_url}/faults",
            json={"target": "prod", "kind": "latency", "value": 0.5, "for_s": 30},
        )
        assert r.status_code == 201
        assert r.json()["fault"]["kind"] == "latency"
        assert r.json()["fault"]["value"] == 0.5
        listed = (await client.get(f"{sim.admin_url}/faults")).json()["faults"]
        assert [(f["target"], f["kind"]) for f in listed] == [("prod", "latency")]
        bad = await client.post(
            f"{sim.admin_url}/faults", json={"target": "prod", "kind": "meteor"}
        )
        assert bad.status_code == 400 and "unknown fault kind" in bad.json()["error"]
        bad = await client.post(
            f"{sim.admin_url}/faults",
            json={"target": "prod", "kind": "error_rate", "value": "150%"},
        )
        assert bad.status_code == 400
        cleared = (await client.delete(f"{sim.admin_url}/faults")).json()
        assert cleared == {"cleared": 1}
        info = (await client.get(sim.admin_url)).json()
        assert info["prod_url"] == sim.prod_url
        assert sim.credentials["prod"][1] not in json.dumps(info)


async def test_proxy_mode_sends_each_transaction_over_http(tmp_path: Path) -> None:
    # A "proxy" with one backend (prod): every transaction is one synchronous call.
    async with (
        Simulator(rate=0, seed=6) as target,
        Simulator(rate=100, seed=7, proxy_url=target.prod_url) as sim,
    ):
        await asyncio.sleep(1.5)
        m = await scrape(sim)
    ok = m["boop_auth_requests_total{result=success}"]
    assert ok > 50
    assert m["boop_routing_percent"] == 100.0
    assert target.prod.counts["contexts"] >= ok
