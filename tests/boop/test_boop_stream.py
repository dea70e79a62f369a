"""The vendor stream: both dialects, events, reconnects, refusals, limits."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from console.boop.errors import (
    BoopTimeout,
    BoopTransportError,
    MessageTooBig,
    StreamClosed,
    StreamError,
    StreamHandshakeError,
    StreamRejected,
)
from console.boop.models import (
    AuthFailed,
    AuthSucceeded,
    Connected,
    ContextCreated,
    ContextExpired,
    Disconnected,
    Oversize,
    ServerErrorEvent,
    StreamEvent,
)
from console.boop.stream import (
    Backoff,
    StreamState,
    VendorStream,
    parse_message,
    should_retry,
)
from console.sim.simulator import Simulator

pytestmark = pytest.mark.timeout(30)

FAST = Backoff(initial_s=0.05, cap_s=0.2, jitter=0.0, stable_after_s=60)

# The testing checklist's expected result and the error-handling guide's error shape.
CHECKLIST_AUTH_RESULT = {
    "type": "auth_result",
    "context_id": "ctx_123",
    "result": {"success": True, "user_id": "usr_abc123", "attributes": {}},
}
DOCUMENTED_ERROR = {
    "type": "error",
    "code": "AUTH_FAILED",
    "message": "Authentication failed: Invalid biometric data",
    "details": {
        "context_id": "ctx_abc123",
        "timestamp": "2024-01-15T10:30:00Z",
        "retry_allowed": True,
    },
}


def ws_url(http_url: str) -> str:
    return http_url.replace("http", "ws", 1) + "/ws/vendor"


class Recorder:
    def __init__(self) -> None:
        self.events: list[StreamEvent] = []

    def __call__(self, event: StreamEvent) -> None:
        self.events.append(event)

    def of(self, cls: type) -> list[StreamEvent]:
        return [e for e in self.events if isinstance(e, cls)]

    async def wait_for(self, pred: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not pred():
                await asyncio.sleep(0.01)


async def running(stream: VendorStream) -> VendorStream:
    stream.start()
    async with asyncio.timeout(5):
        while stream.state not in (StreamState.CONNECTED, StreamState.FAILED):
            await asyncio.sleep(0.01)
    return stream


def prod_stream(sim: Simulator, rec: Recorder, **kw: Any) -> VendorStream:
    vendor, key = sim.credentials["prod"]
    kw.setdefault("backoff", FAST)
    kw.setdefault("on_event", rec)
    return VendorStream(ws_url(sim.prod_url), vendor, key, name="prod", **kw)


def test_documented_payloads_parse_to_events() -> None:
    event = parse_message(CHECKLIST_AUTH_RESULT)
    assert isinstance(event, AuthSucceeded)
    assert event == AuthSucceeded(
        context_id="ctx_123", user_id="usr_abc123", attributes={}, at=event.at
    )
    error = parse_message(DOCUMENTED_ERROR)
    assert isinstance(error, ServerErrorEvent)
    assert (error.code, error.context_id, error.retry_allowed) == (
        "AUTH_FAILED",
        "ctx_abc123",
        True,
    )
    failed = parse_message(
        {"type": "authentication_failed", "context_id": "c", "reason": "user-not-found"}
    )
    assert isinstance(failed, AuthFailed) and failed.reason == "user-not-found"
    expired = parse_message({"type": "context_expired", "context_id": "c9"})
    assert isinstance(expired, ContextExpired) and expired.context_id == "c9"
    created = parse_message(
        {"type": "context_created", "context_id": "c1", "qr_code": "boop://c1"}
    )
    assert isinstance(created, ContextCreated) and created.qr_code == "boop://c1"
    refused = parse_message(
        {
            "type": "auth_result",
            "context_id": "c2",
            "result": {"success": False, "error": "user-not-found"},
        }
    )
    assert isinstance(refused, AuthFailed) and refused.reason == "user-not-found"
    assert parse_message({"type": "something_new"}) is None


def test_backoff_is_capped_jittered_and_pure() -> None:
    plain = Backoff(initial_s=0.5, factor=2, cap_s=4, jitter=0)
    assert list(itertools.islice(plain.delays(), 6)) == [0.5, 1, 2, 4, 4, 4]
    jittered = list(
        itertools.islice(
            Backoff(initial_s=1, cap_s=8, jitter=0.5).delays(random.Random(3)), 5
        )
    )
    for got, top in zip(jittered, [1, 2, 4, 8, 8], strict=True):
        assert top * 0.5 <= got <= top


def test_retry_decision() -> None:
    assert should_retry(StreamHandshakeError("x", status=502)) is True
    assert should_retry(StreamHandshakeError("x", status=503)) is True
    assert should_retry(StreamHandshakeError("x", status=404)) is False
    assert should_retry(StreamRejected("x")) is False
    assert should_retry(StreamClosed("x")) is True
    assert should_retry(MessageTooBig("x")) is True
    assert should_retry(BoopTransportError("x")) is True
    assert should_retry(BoopTimeout("x")) is True
    assert should_retry(ValueError("x")) is False


async def test_dialect_a_payment_result_and_ping(sim: Simulator) -> None:
    rec = Recorder()
    stream = await running(prod_stream(sim, rec))
    try:
        assert stream.status().dialect == "A"
        cid = await stream.create_context("payment", amount_cents=2500)
        await rec.wait_for(lambda: bool(rec.of(AuthSucceeded)))
        result = rec.of(AuthSucceeded)[0]
        assert isinstance(result, AuthSucceeded) and result.context_id == cid
        assert result.payment is not None and result.payment["status"] == "ok"
        rtt = await stream.ping()
        assert 0 < rtt < 500 and stream.rtt_ms == rtt
        assert isinstance(rec.events[0], Connected) and rec.events[0].dialect == "A"
    finally:
        await stream.stop()
    assert stream.state is StreamState.STOPPED


async def test_dialect_b_lifecycle(sim: Simulator) -> None:
    rec = Recorder()
    stream = await running(prod_stream(sim, rec, dialect="B"))
    try:
        cid = await stream.create_context("entrance", attributes=("email",))
        await rec.wait_for(lambda: bool(rec.of(AuthSucceeded)))
        created = rec.of(ContextCreated)
        assert [c.context_id for c in created] == [cid]  # type: ignore[attr-defined]
        other = await stream.create_context("payment", amount_cents=100)
        await stream.cancel_context(other)
        await asyncio.sleep(0.4)
        assert sim.prod.contexts[other].status == "cancelled"
    finally:
        await stream.stop()


@pytest.fixture
async def b_only_server() -> AsyncIterator[str]:
    """A server that speaks only dialect B, like the websocket-integration page."""

    async def handler(ws: ServerConnection) -> None:
        async for raw in ws:
            msg = json.loads(raw)
            if msg["type"] == "vendor_hello":
                await ws.send(
                    json.dumps(
                        {
                            "type": "vendor_hello_response",
                            "success": True,
                            "error": None,
                        }
                    )
                )
            elif msg["type"] == "create_context":
                await ws.send(
                    json.dumps(
                        {
                            "type": "authentication_success",
                            "context_id": msg["context_id"],
                            "user_id": "usr_1",
                            "attributes": {},
                        }
                    )
                )
            else:
                await ws.send(
                    json.dumps(
                        {
                            "type": "error",
                            "code": "INVALID_REQUEST",
                            "message": f"unknown type {msg['type']}",
                        }
                    )
                )

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ws/vendor"


async def test_auto_falls_back_to_dialect_b(b_only_server: str) -> None:
    rec = Recorder()
    stream = VendorStream(
        b_only_server, "ven_dev_a", "sk_dev_abcdef123456", on_event=rec, backoff=FAST
    )
    await running(stream)
    try:
        assert stream.state is StreamState.CONNECTED and stream.status().dialect == "B"
        cid = await stream.create_context("payment", amount_cents=1)
        await rec.wait_for(lambda: bool(rec.of(AuthSucceeded)))
        assert rec.of(AuthSucceeded)[0].context_id == cid  # type: ignore[attr-defined]
    finally:
        await stream.stop()


async def test_forced_a_against_b_server_is_rejected(b_only_server: str) -> None:
    stream = VendorStream(
        b_only_server, "ven_dev_a", "sk_dev_abcdef123456", dialect="A", backoff=FAST
    )
    await running(stream)
    assert stream.state is StreamState.FAILED
    assert "does not speak dialect A" in (stream.last_error or "")


@pytest.mark.parametrize("dialect", ["auto", "B"])
async def test_refused_hello_stops_without_retry(sim: Simulator, dialect: Any) -> None:
    rec = Recorder()
    key = "sk_dev_notforprod00042"  # a dev key on prod
    stream = VendorStream(
        ws_url(sim.prod_url),
        "ven_dev_x",
        key,
        on_event=rec,
        backoff=FAST,
        dialect=dialect,
    )  # type: ignore[arg-type]
    await running(stream)
    await asyncio.sleep(0.2)
    assert stream.state is StreamState.FAILED
    assert stream.reconnects == 0
    assert "refused" in (stream.last_error or "")
    assert key not in (stream.last_error or "")
    assert [type(e) for e in rec.events] == [Disconnected]
    assert rec.events[0].will_retry is False  # type: ignore[attr-defined]


async def test_handshake_401_is_rejected_and_502_retried() -> None:
    statuses = iter([502, 502, 403])

    def process_request(conn: ServerConnection, request: Request) -> Response:
        status = next(statuses)
        return Response(status, "no", Headers(), b"")

    async def handler(ws: ServerConnection) -> None:
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, process_request=process_request) as srv:
        port = srv.sockets[0].getsockname()[1]
        rec = Recorder()
        stream = VendorStream(
            f"ws://127.0.0.1:{port}/ws/vendor",
            "ven_dev_a",
            "sk_dev_abcdef123456",
            on_event=rec,
            backoff=FAST,
        )
        stream.start()
        await rec.wait_for(lambda: stream.state is StreamState.FAILED)
    assert stream.reconnects == 2
    assert [e.will_retry for e in rec.of(Disconnected)] == [True, True, False]  # type: ignore[attr-defined]
    assert "HTTP 403" in (stream.last_error or "")


async def test_outage_503_is_retried_until_it_ends(sim: Simulator) -> None:
    sim.faults.inject("prod", "outage", duration_s=0.6)
    rec = Recorder()
    stream = prod_stream(sim, rec)
    stream.start()
    try:
        await rec.wait_for(lambda: stream.state is StreamState.CONNECTED, timeout=5)
        assert stream.reconnects >= 2
        reasons = [e.reason for e in rec.of(Disconnected)]  # type: ignore[attr-defined]
        assert any("HTTP 503" in r for r in reasons)
    finally:
        await stream.stop()


async def test_dropped_socket_reconnects_and_fails_pending(sim: Simulator) -> None:
    rec = Recorder()
    stream = await running(prod_stream(sim, rec))
    try:
        sim.faults.inject("prod", "latency", 5.0)
        await stream.create_context("payment", amount_cents=100)
        sim.faults.inject("prod", "ws_drop", 10_000, duration_s=0.6)
        await rec.wait_for(lambda: len(rec.of(Connected)) >= 2, timeout=5)
        assert stream.reconnects >= 1
        with pytest.raises(StreamClosed):
            stream.state = StreamState.BACKING_OFF
            await stream.create_context("payment", amount_cents=1)
    finally:
        await stream.stop()


async def test_oversize_message_is_reported_not_a_storm(sim: Simulator) -> None:
    rec = Recorder()
    stream = await running(
        prod_stream(sim, rec, backoff=Backoff(initial_s=0.3, cap_s=1, jitter=0))
    )
    try:
        sim.faults.inject("prod", "ws_oversize", 2 * 2**20)
        await rec.wait_for(lambda: bool(rec.of(Oversize)))
        await rec.wait_for(lambda: len(rec.of(Connected)) >= 2, timeout=5)
        await asyncio.sleep(0.5)
        # One over-size message, one report, one reconnect: no storm.
        assert len(rec.of(Oversize)) == 1
        assert len(rec.of(Connected)) == 2
        assert stream.state is StreamState.CONNECTED
    finally:
        await stream.stop()


async def test_keepalive_survives_a_busy_loop(sim: Simulator) -> None:
    rec = Recorder()
    stream = await running(prod_stream(sim, rec, ping_interval_s=0.1, ping_timeout_s=5))
    try:
        await asyncio.sleep(0.3)
        time.sleep(1.2)  # the loop is blocked: no pongs are read meanwhile
        await asyncio.sleep(0.5)
        assert stream.state is StreamState.CONNECTED
        assert rec.of(Disconnected) == []
        assert await stream.ping() > 0
    finally:
        await stream.stop()


async def test_unreachable_is_retried_and_stop_ends_it() -> None:
    rec = Recorder()
    stream = VendorStream(
        "ws://127.0.0.1:9/ws/vendor",
        "ven_dev_a",
        "sk_dev_abcdef123456",
        on_event=rec,
        backoff=FAST,
    )
    stream.start()
    await rec.wait_for(lambda: stream.reconnects >= 2)
    state: StreamState = stream.state
    assert state in (StreamState.BACKING_OFF, StreamState.CONNECTING)
    assert "cannot connect" in (stream.last_error or "")
    started = time.monotonic()
    await stream.stop()
    assert time.monotonic() - started < 1
    state = stream.state
    assert state is StreamState.STOPPED
    with pytest.raises(StreamError):
        await stream.create_context("payment", amount_cents=1)


async def test_backoff_grows_while_failing_and_resets_after_a_stable_connection(
    sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="console.boop.stream")
    backoff = Backoff(initial_s=0.05, factor=4, cap_s=0.8, jitter=0, stable_after_s=0.3)
    rec = Recorder()
    stream = await running(prod_stream(sim, rec, backoff=backoff))
    try:
        await asyncio.sleep(0.4)  # stable
        sim.faults.inject("prod", "outage", duration_s=0.5)
        await rec.wait_for(lambda: len(rec.of(Connected)) == 2, timeout=5)
        await asyncio.sleep(0.4)  # stable again
        sim.faults.inject("prod", "outage", duration_s=0.1)
        await rec.wait_for(lambda: len(rec.of(Connected)) == 3, timeout=5)
    finally:
        await stream.stop()
    delays = [
        float(r.getMessage().rsplit("Reconnecting in ", 1)[1].split()[0])
        for r in caplog.records
        if r.getMessage().startswith("prod stream") and "Reconnecting" in r.getMessage()
    ]
    # First outage: 0.05, 0.2, 0.8 (capped) ...; second outage starts over at 0.05.
    assert delays[:3] == [0.05, 0.2, 0.8]
    second = delays.index(0.05, 1)
    assert second >= 3 and delays[second] == 0.05


async def test_a_failing_event_handler_does_not_drop_the_connection(
    sim: Simulator,
) -> None:
    seen: list[StreamEvent] = []

    def handler(event: StreamEvent) -> None:
        seen.append(event)
        raise RuntimeError("consumer bug")

    stream = await running(prod_stream(sim, Recorder(), on_event=handler))
    try:
        await stream.create_context("entrance")
        async with asyncio.timeout(3):
            while not any(isinstance(e, AuthSucceeded) for e in seen):
                await asyncio.sleep(0.01)
        assert stream.state is StreamState.CONNECTED
    finally:
        await stream.stop()
