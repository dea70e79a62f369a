"""/health says whether the gateway is up; API-level faults leave it alone."""

from __future__ import annotations

import random
import time

import httpx
import pytest

from console.sim.faults import FaultKind, Faults
from console.sim.service import BoopService, KeyPolicy

pytestmark = pytest.mark.timeout(20)

KEY = {"X-API-Key": "sk_live_" + "a" * 24, "X-Vendor-ID": "ven_live_12345678"}

# (fault, value) -> (status of /health, status of GET /api/v1/status)
CASES: dict[tuple[FaultKind, float], tuple[int, int]] = {
    (FaultKind.ERROR_RATE, 1.0): (200, 500),
    (FaultKind.RATE_LIMIT_STORM, 1.0): (200, 429),
    (FaultKind.AUTH_FAILURE, 1.0): (200, 200),
    (FaultKind.PAYMENT_FAILURE, 1.0): (200, 200),
    (FaultKind.OUTAGE, 1.0): (503, 503),
    (FaultKind.HTML_502, 1.0): (502, 502),
}


def service(faults: Faults) -> BoopService:
    return BoopService(
        "prod",
        faults,
        keys=KeyPolicy(("sk_live_",), ("ven_live_",)),
        rate_limits=None,
        rng=random.Random(1),
    )


@pytest.mark.parametrize(("kind", "value"), list(CASES), ids=lambda v: str(v))
async def test_sim_health_under_fault(kind: FaultKind, value: float) -> None:
    faults = Faults()
    faults.inject("prod", kind, value)
    transport = httpx.ASGITransport(app=service(faults).app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as c:
        health = [(await c.get("/health")).status_code for _ in range(20)]
        api = (await c.get("/api/v1/status", headers=KEY)).status_code
    want_health, want_api = CASES[(kind, value)]
    assert health == [want_health] * 20
    assert api == want_api


async def test_sim_health_not_slowed_by_latency_fault() -> None:
    faults = Faults()
    faults.inject("prod", FaultKind.LATENCY, 1.0)
    transport = httpx.ASGITransport(app=service(faults).app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as c:
        started = time.monotonic()
        health = await c.get("/health")
        took = time.monotonic() - started
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert took < 0.5
        started = time.monotonic()
        api = await c.get("/api/v1/status", headers=KEY)
        assert api.status_code == 200 and time.monotonic() - started >= 1.0
