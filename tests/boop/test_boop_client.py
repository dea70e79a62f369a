"""The REST client against the real simulator, plus documented payloads as fixtures."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time

import httpx
import pytest

from console.boop.client import BoopClient
from console.boop.errors import (
    BadResponse,
    BoopResponseError,
    BoopTimeout,
    BoopTransportError,
    DevOnlyError,
    Forbidden,
    InvalidRequest,
    NotFound,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    Unauthorized,
)
from console.errors import BoopError
from console.sim.simulator import Simulator

pytestmark = pytest.mark.timeout(30)

# Documented payloads (boop-api.md sections 2.1 and 2.2).
HEALTH_BODY = {"status": "ok", "version": "a1b2c3d"}
SUCCESS_ENVELOPE = {
    "success": True,
    "data": {"context_id": "ctx_123", "status": "pending"},
    "meta": {"request_id": "req_abc123", "timestamp": "2024-01-15T10:00:00Z"},
}
ERROR_ENVELOPE = {
    "success": False,
    "error": {"code": "INVALID_REQUEST", "message": "Invalid request parameters"},
}


def prod_client(sim: Simulator, **kw: object) -> BoopClient:
    vendor, key = sim.credentials["prod"]
    return BoopClient(sim.prod_url, vendor, key, production=True, name="prod", **kw)  # type: ignore[arg-type]


def mock_client(
    status: int, body: bytes, headers: dict[str, str] | None = None
) -> BoopClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers=headers or {})

    return BoopClient(
        "http://127.0.0.1:9",
        "ven_dev_x",
        "sk_dev_secret123456",
        transport=httpx.MockTransport(handler),
    )


async def test_documented_health_body_parses() -> None:
    async with mock_client(200, json.dumps(HEALTH_BODY).encode()) as client:
        health = await client.health()
    assert (health.ok, health.status, health.version) == (True, "ok", "a1b2c3d")


async def test_documented_success_envelope_is_unwrapped() -> None:
    async with mock_client(200, json.dumps(SUCCESS_ENVELOPE).encode()) as client:
        result = await client.request("GET", "/api/v1/auth/ctx_123/status")
    assert result.enveloped is True
    assert result.data == {"context_id": "ctx_123", "status": "pending"}
    assert result.meta["request_id"] == "req_abc123"


async def test_documented_error_envelope_maps_to_invalid_request() -> None:
    async with mock_client(400, json.dumps(ERROR_ENVELOPE).encode()) as client:
        with pytest.raises(InvalidRequest) as info:
            await client.create_auth("payment", amount_cents=2500)
    assert info.value.status == 400
    assert info.value.code == "INVALID_REQUEST"
    assert "Invalid request parameters" in str(info.value)


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "INVALID_REQUEST", InvalidRequest),
        (401, "UNAUTHORIZED", Unauthorized),
        (403, "FORBIDDEN", Forbidden),
        (404, "NOT_FOUND", NotFound),
        (429, "RATE_LIMITED", RateLimited),
        (500, "INTERNAL_ERROR", ServerError),
        (503, "INTERNAL_ERROR", ServiceUnavailable),
        (418, "FORBIDDEN", Forbidden),
    ],
)
async def test_status_and_code_table(status: int, code: str, cls: type) -> None:
    body = json.dumps({"success": False, "error": {"code": code, "message": "m"}})
    async with mock_client(status, body.encode()) as client:
        with pytest.raises(BoopResponseError) as info:
            await client.status()
    assert type(info.value) is cls
    assert (info.value.status, info.value.code) == (status, code)


async def test_html_page_is_bad_response_with_status_and_excerpt() -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    async with mock_client(502, page) as client:
        with pytest.raises(BadResponse) as info:
            await client.health()
    assert info.value.status == 502
    assert info.value.excerpt.startswith("<html><head><title>502 Bad Gateway")
    assert not isinstance(info.value.__cause__, json.JSONDecodeError)


async def test_rate_limit_headers_exposed_on_success_and_error() -> None:
    headers = {
        "X-RateLimit-Limit": "100",
        "X-RateLimit-Remaining": "95",
        "X-RateLimit-Reset": "1640995200",
    }
    async with mock_client(200, json.dumps(SUCCESS_ENVELOPE).encode(), headers) as c:
        result = await c.request("GET", "/x")
    assert (result.rate_limit.limit, result.rate_limit.remaining) == (100, 95)
    assert result.rate_limit.reset == 1640995200.0
    async with mock_client(403, json.dumps(ERROR_ENVELOPE).encode(), headers) as c:
        with pytest.raises(Forbidden) as info:
            await c.status()
    assert info.value.rate_limit is not None and info.value.rate_limit.remaining == 95


async def test_health_against_the_simulator(sim: Simulator) -> None:
    async with prod_client(sim) as client:
        health = await client.health()
    assert health.ok and health.version == sim.prod.version
    assert health.rate_limit.limit == 1000


async def test_outage_gives_service_unavailable(sim: Simulator) -> None:
    sim.faults.inject("prod", "outage")
    async with prod_client(sim) as client:
        with pytest.raises(ServiceUnavailable) as info:
            await client.health()
    assert info.value.status == 503


async def test_html_502_fault_gives_bad_response(sim: Simulator) -> None:
    sim.faults.inject("prod", "html_502")
    async with prod_client(sim) as client:
        with pytest.raises(BadResponse) as info:
            await client.status()
    assert info.value.status == 502
    assert "502 Bad Gateway" in info.value.excerpt


async def test_error_rate_fault_gives_server_error(sim: Simulator) -> None:
    sim.faults.inject("prod", "error_rate", 1.0)
    async with prod_client(sim) as client:
        with pytest.raises(ServerError) as info:
            await client.create_auth("payment", amount_cents=2500)
    assert (info.value.status, info.value.code) == (500, "INTERNAL_ERROR")


async def test_trickle_cannot_hold_a_call_past_its_deadline(sim: Simulator) -> None:
    sim.faults.inject("prod", "trickle", 2.0)
    async with prod_client(sim) as client:
        started = time.monotonic()
        with pytest.raises(BoopTimeout):
            await client.health(deadline_s=0.5)
        assert time.monotonic() - started < 1.0


async def test_hang_is_cut_at_the_deadline(sim: Simulator) -> None:
    sim.faults.inject("prod", "hang")
    async with prod_client(sim) as client:
        started = time.monotonic()
        with pytest.raises(BoopTimeout) as info:
            await client.status(deadline_s=0.4)
        assert time.monotonic() - started < 0.9
    assert "0.4 s deadline" in str(info.value)


async def test_429_storm_raises_at_once_when_the_wait_exceeds_the_deadline(
    sim: Simulator,
) -> None:
    sim.faults.inject("prod", "429_storm")
    async with prod_client(sim) as client:
        started = time.monotonic()
        with pytest.raises(RateLimited) as info:
            await client.status(deadline_s=0.5)
        assert time.monotonic() - started < 0.4
    assert info.value.retry_after_s == 1.0
    assert info.value.rate_limit is not None and info.value.rate_limit.remaining == 0


async def test_429_is_retried_after_retry_after_within_the_deadline(
    sim: Simulator,
) -> None:
    sim.faults.inject("prod", "429_storm", duration_s=0.5)
    async with prod_client(sim) as client:
        started = time.monotonic()
        status = await client.status(deadline_s=3.0)
        elapsed = time.monotonic() - started
    assert status["status"] == "operational"
    assert 0.9 < elapsed < 2.0


async def test_documented_auth_rate_limit_on_prod(sim: Simulator) -> None:
    # A key of its own, so that no other caller shares its window.
    async with BoopClient(sim.prod_url, "ven_live_rl", "sk_live_ratelimit0001") as c:
        for _ in range(100):
            await c.create_auth("entrance")
        assert c.last_rate_limit.limit == 100
        assert c.last_rate_limit.remaining == 0
        with pytest.raises(RateLimited) as info:
            await c.create_auth("entrance", deadline_s=1.0)
    assert info.value.retry_after_s is not None and 1 <= info.value.retry_after_s <= 61


@pytest.mark.parametrize(
    ("env", "key", "cls", "status"),
    [
        ("dev", "sk_live_wrongenv000001", Forbidden, 403),
        ("prod", "sk_dev_wrongenv0000001", Forbidden, 403),
        ("prod", "", Unauthorized, 401),
    ],
)
async def test_key_prefixes_are_enforced(
    sim: Simulator, env: str, key: str, cls: type[BoopResponseError], status: int
) -> None:
    url = sim.dev_url if env == "dev" else sim.prod_url
    async with BoopClient(url, "ven_x", key) as client:
        with pytest.raises(cls) as info:
            await client.status()
    assert info.value.status == status
    if key:
        assert key not in str(info.value)


async def test_create_wait_returns_the_final_payment_result(sim: Simulator) -> None:
    async with prod_client(sim) as client:
        ctx = await client.create_auth("payment", amount_cents=2500, wait=True)
    assert ctx.status == "authenticated"
    assert ctx.result is not None and ctx.result["success"] is True
    assert ctx.result["payment"]["status"] == "ok"
    assert ctx.result["payment"]["amount"] == 2500


async def test_create_status_cancel_and_not_found(sim: Simulator) -> None:
    async with prod_client(sim) as client:
        ctx = await client.create_auth("payment", amount_cents=100, context_id="ctx_t1")
        assert (ctx.context_id, ctx.status) == ("ctx_t1", "pending")
        assert (await client.auth_status("ctx_t1")).status == "pending"
        assert (await client.cancel_auth("ctx_t1")).status == "cancelled"
        with pytest.raises(NotFound):
            await client.auth_status("ctx_nope")
        with pytest.raises(InvalidRequest):
            await client.create_auth("payment")  # no amount


async def test_test_users_on_dev_and_refused_on_production(sim: Simulator) -> None:
    vendor, key = sim.credentials["dev"]
    async with BoopClient(sim.dev_url, vendor, key) as dev:
        user = await dev.create_test_user("test_adult_user", {"age_verified": True})
    assert user["attributes"]["email"] == "test_adult_user@test.boop.network"
    assert user["attributes"]["age_verified"] is True
    calls: list[str] = []
    async with prod_client(sim, guard=lambda u, v, k: calls.append(u)) as prod:
        with pytest.raises(DevOnlyError):
            await prod.create_test_user("test_adult_user")
    assert calls == []


async def test_guard_sees_every_request_and_can_stop_it(sim: Simulator) -> None:
    seen: list[tuple[str, str, str]] = []

    class Refused(BoopError):
        pass

    def guard(url: str, vendor: str, key: str) -> None:
        seen.append((url, vendor, key))
        if url.endswith("/status"):
            raise Refused("no")

    before = sim.prod.counts["rest"]
    async with prod_client(sim, guard=guard) as client:
        await client.health()
        with pytest.raises(Refused):
            await client.status()
    vendor, key = sim.credentials["prod"]
    assert seen == [
        (sim.prod_url + "/health", vendor, key),
        (sim.prod_url + "/api/v1/status", vendor, key),
    ]
    assert sim.prod.counts["rest"] == before + 1


async def test_cancelling_200_requests_leaks_no_pool_slot(sim: Simulator) -> None:
    # A hang holds every request open (latency no longer slows /health, which
    # reports only whether the gateway is up).
    sim.faults.inject("prod", "hang", 1.0)
    async with prod_client(sim, max_connections=5) as client:
        tasks = [asyncio.create_task(client.health(deadline_s=5)) for _ in range(200)]
        await asyncio.sleep(0.2)
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        sim.faults.clear()
        health = await asyncio.wait_for(client.health(deadline_s=2), 3)
        assert health.ok
        more = await asyncio.gather(*(client.health(deadline_s=2) for _ in range(10)))
    assert all(h.ok for h in more)


async def test_unreachable_host_is_a_transport_error() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    async with BoopClient(
        f"http://127.0.0.1:{port}", "ven_dev_x", "sk_dev_abcdef123456"
    ) as c:
        with pytest.raises(BoopTransportError) as info:
            await c.health(deadline_s=2)
    assert type(info.value) is BoopTransportError


async def test_key_is_masked_in_repr() -> None:
    client = BoopClient("http://127.0.0.1:9", "ven_live_x", "sk_live_abcdefgh9f3a")
    assert "sk_live_abcdefgh9f3a" not in repr(client)
    assert "sk_live_…9f3a" in repr(client)
    await client.aclose()
    with pytest.raises(BoopError, match="closed"):
        await client.health()


@pytest.mark.parametrize(
    "kind",
    [
        "error_rate",
        "latency",
        "outage",
        "429_storm",
        "html_502",
        "hang",
        "trickle",
        "auth_failure",
        "payment_failure",
        "ws_drop",
        "ws_oversize",
    ],
)
async def test_every_fault_gives_a_typed_error_or_an_answer_in_time(
    sim: Simulator, kind: str
) -> None:
    sim.faults.inject("prod", kind, 1.0 if kind != "trickle" else 2.0)
    async with prod_client(sim) as client:
        started = time.monotonic()
        with contextlib.suppress(BoopError):
            await client.create_auth("payment", amount_cents=500, deadline_s=0.6)
        assert time.monotonic() - started < 1.2
