"""One simulated BOOP environment (dev or prod), or the legacy payment system.

A starlette app: the REST endpoints of BOOP's reference, the vendor WebSocket in both
dialects (chosen by the first message), key-prefix checks, the documented rate limits
with X-RateLimit-* headers, and the faults of :mod:`console.sim.faults`.

Simulator extensions (not BOOP's API): ``"wait": true`` on POST /api/v1/auth/create
returns the final result inline (for per-request routing through HAProxy); results
carry ``payment`` {status, transaction_id} for payment contexts; every answer has an
``X-Sim-System`` header naming the system that served it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from console.sim.faults import FaultKind, Faults

log = logging.getLogger("console.sim")

CONTEXT_TYPES = {"payment", "entrance", "membership", "access", "age_verification"}
MAX_CONTEXTS = 20_000
"""Finished contexts kept for status queries; older ones are forgotten."""
HANG_LIMIT_S = 300.0

HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


@dataclass
class Profile:
    """How a healthy system behaves; faults add to these.

    The rates are low on purpose: the demo's gates judge 20 s windows of a few
    hundred contexts, where one stray failed payment would already read as 99.6%
    (< 99.9). These defaults keep a spurious breach per window around 1-2%.
    """

    latency_median_s: float = 0.2
    latency_sigma: float = 0.25
    """Log-normal: median 0.2 s and sigma 0.25 give p95 ~0.30 s."""
    auth_failure: float = 0.0005
    """User-level failures (no match): auth success ~99.95%."""
    error: float = 0.00002
    payment_failure: float = 0.00003
    """With ``error``: payment success ~99.995%."""


@dataclass
class KeyPolicy:
    """Which credentials a system accepts (None: any non-empty value)."""

    key_prefixes: tuple[str, ...] | None
    vendor_prefixes: tuple[str, ...] | None

    def check(self, vendor_id: str | None, api_key: str | None) -> str | None:
        """None when accepted, else the documented error code."""
        if not api_key:
            return "UNAUTHORIZED"
        if self.key_prefixes and not api_key.startswith(self.key_prefixes):
            return "FORBIDDEN"
        if (
            vendor_id is not None
            and self.vendor_prefixes
            and not vendor_id.startswith(self.vendor_prefixes)
        ):
            return "FORBIDDEN"
        return None


@dataclass
class Context:
    """One authentication context, created by REST or by the socket."""

    context_id: str
    kind: str
    amount: int | None
    created_at: float
    status: str = "pending"
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    timer: asyncio.TimerHandle | None = None
    conn: VendorConn | None = None
    dialect: str = "A"

    def to_json(self, system: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "context_id": self.context_id,
            "type": self.kind,
            "status": self.status,
            "created_at": self.created_at,
            "system": system,
        }
        if self.amount is not None:
            data["amount"] = self.amount
        if self.result is not None:
            data["result"] = self.result
        if self.error is not None:
            data["error"] = self.error
        return data


class VendorConn:
    """One open vendor socket: an ordered outgoing queue drained by one writer."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.dialect: str | None = None

    def send(self, msg: dict[str, Any]) -> None:
        self.queue.put_nowait(json.dumps(msg))

    async def writer(self) -> None:
        while True:
            text = await self.queue.get()
            if text is None:
                return
            await self.ws.send_text(text)


class RateLimiter:
    """Fixed one-minute windows per (caller, class), as BOOP documents them."""

    def __init__(self, limits: dict[str, int] | None) -> None:
        self.limits = limits
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def hit(self, caller: str, cls: str) -> tuple[dict[str, str], bool]:
        """Count one request; return the headers and whether it is allowed."""
        if self.limits is None or cls not in self.limits:
            return {}, True
        limit = self.limits[cls]
        now = time.time()
        start, count = self._windows.get((caller, cls), (now, 0))
        if now - start >= 60:
            start, count = now, 0
        count += 1
        if len(self._windows) > 10_000:
            self._windows.clear()
        self._windows[(caller, cls)] = (start, count)
        reset = math.ceil(start + 60)
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - count)),
            "X-RateLimit-Reset": str(reset),
        }
        if count > limit:
            headers["Retry-After"] = str(max(1, math.ceil(reset - now)))
            return headers, False
        return headers, True


DOCUMENTED_LIMITS = {"auth": 100, "user": 50, "health": 1000}


def envelope(data: Any) -> dict[str, Any]:
    return {
        "success": True,
        "data": data,
        "meta": {
            "request_id": f"req_{uuid.uuid4().hex[:12]}",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    }


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "message": message}}


_STATUS_OF = {
    "INVALID_REQUEST": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "RATE_LIMITED": 429,
    "INTERNAL_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
}


class BoopService:
    """One simulated system; ``app`` is its ASGI application."""

    def __init__(
        self,
        name: str,
        faults: Faults,
        *,
        keys: KeyPolicy,
        rate_limits: dict[str, int] | None,
        profile: Profile | None = None,
        rng: random.Random | None = None,
        version: str | None = None,
        test_users: bool = False,
        system: str = "boop",
    ) -> None:
        self.name = name
        self.faults = faults
        self.keys = keys
        self.limiter = RateLimiter(rate_limits)
        self.profile = profile or Profile()
        self.rng = rng or random.Random()
        self.version = version or uuid.uuid4().hex[:7]
        self.system = system
        self.contexts: OrderedDict[str, Context] = OrderedDict()
        self.conns: set[VendorConn] = set()
        self._oversize_done: set[int] = set()
        self.test_users: dict[str, dict[str, Any]] | None = {} if test_users else None
        self.counts = {"rest": 0, "contexts": 0}
        routes: list[Any] = [
            Route("/health", self._health, methods=["GET"]),
            Route("/api/v1/status", self._status, methods=["GET"]),
            Route("/api/v1/auth/create", self._create, methods=["POST"]),
            Route("/api/v1/auth/{cid}/status", self._ctx_status, methods=["GET"]),
            Route("/api/v1/auth/{cid}/cancel", self._cancel, methods=["POST"]),
            WebSocketRoute("/ws/vendor", self._ws),
        ]
        if test_users:
            routes.append(
                Route("/api/v1/test-users", self._test_users, methods=["POST"])
            )
        self.app = Starlette(
            routes=routes, exception_handlers={HTTPException: self._http_error}
        )

    # -- shared behaviour --------------------------------------------------------------

    def _json(
        self, body: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        hdrs = {"X-Sim-System": self.system, **(headers or {})}
        if self.faults.get(self.name, FaultKind.TRICKLE) is not None:
            return self._trickle(json.dumps(body).encode(), status, hdrs)
        return JSONResponse(body, status_code=status, headers=hdrs)

    def _error(
        self, code: str, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        return self._json(error_body(code, message), _STATUS_OF[code], headers)

    def _trickle(self, body: bytes, status: int, headers: dict[str, str]) -> Response:
        gap = max(0.01, self.faults.value(self.name, FaultKind.TRICKLE))

        async def drip() -> AsyncIterator[bytes]:
            for i in range(len(body)):
                yield body[i : i + 1]
                await asyncio.sleep(gap)

        return StreamingResponse(
            drip(), status_code=status, headers=headers, media_type="application/json"
        )

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        code = {404: "NOT_FOUND", 405: "INVALID_REQUEST"}.get(status, "INTERNAL_ERROR")
        return self._json(
            error_body(code, f"{request.method} {request.url.path}: HTTP {status}"),
            status,
        )

    def _chance(self, kind: FaultKind) -> bool:
        p = self.faults.value(self.name, kind)
        return p > 0 and self.rng.random() < p

    async def _faults_first(self, request: Request, cls: str) -> Response | None:
        """Faults that replace the answer; None lets the request through."""
        self.counts["rest"] += 1
        if self.faults.get(self.name, FaultKind.OUTAGE) is not None:
            if request.url.path == "/health":
                return self._json(
                    {"status": "unavailable", "version": self.version}, 503
                )
            return self._error("SERVICE_UNAVAILABLE", f"{self.name} is unavailable")
        if self._chance(FaultKind.HTML_502):
            return HTMLResponse(HTML_502, status_code=502)
        if self._chance(FaultKind.HANG):
            await self._hang()
        if cls == "health":
            # /health says whether the gateway is up: errors, rate limits and slow
            # answers of the API behind it are the gates' business, not uptime's
            # (else 5% errors would also read as 95% uptime and be blamed on it).
            return None
        if self._chance(FaultKind.RATE_LIMIT_STORM):
            headers = {
                "Retry-After": "1",
                "X-RateLimit-Limit": "100",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(math.ceil(time.time() + 1)),
            }
            return self._error("RATE_LIMITED", "Too many requests", headers)
        latency = self.faults.value(self.name, FaultKind.LATENCY)
        if latency > 0:
            await asyncio.sleep(latency)
        if self._chance(FaultKind.ERROR_RATE):
            return self._error("INTERNAL_ERROR", "Internal server error (simulated)")
        return None

    async def _hang(self) -> None:
        # Hold the request until the fault ends (bounded), like a stuck upstream.
        ends = time.monotonic() + HANG_LIMIT_S
        while self.faults.get(self.name, FaultKind.HANG) is not None:
            if time.monotonic() > ends:
                break
            await asyncio.sleep(0.1)

    def _auth(
        self, request: Request, cls: str
    ) -> tuple[Response | None, dict[str, str]]:
        key = request.headers.get("x-api-key")
        refused = self.keys.check(request.headers.get("x-vendor-id"), key)
        if refused == "UNAUTHORIZED":
            return self._error("UNAUTHORIZED", "API key missing or invalid"), {}
        if refused == "FORBIDDEN":
            return self._error(
                "FORBIDDEN", f"this key's environment is not accepted on {self.name}"
            ), {}
        headers, allowed = self.limiter.hit(key or "", cls)
        if not allowed:
            return self._error("RATE_LIMITED", "Too many requests", headers), headers
        return None, headers

    # -- REST --------------------------------------------------------------------------

    async def _health(self, request: Request) -> Response:
        early = await self._faults_first(request, "health")
        if early is not None:
            return early
        client = request.client.host if request.client else "?"
        headers, allowed = self.limiter.hit(client, "health")
        if not allowed:
            return self._error("RATE_LIMITED", "Too many requests", headers)
        return self._json({"status": "ok", "version": self.version}, headers=headers)

    async def _status(self, request: Request) -> Response:
        early = await self._faults_first(request, "user")
        if early is not None:
            return early
        refused, headers = self._auth(request, "user")
        if refused is not None:
            return refused
        pending = sum(1 for c in self.contexts.values() if c.status == "pending")
        data = {
            "status": "operational",
            "environment": self.name,
            "version": self.version,
            "pending_contexts": pending,
            "vendor_connections": len(self.conns),
        }
        return self._json(envelope(data), headers=headers)

    async def _create(self, request: Request) -> Response:
        early = await self._faults_first(request, "auth")
        if early is not None:
            return early
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return self._error("INVALID_REQUEST", "Invalid request: body is not JSON")
        wait = isinstance(body, dict) and body.get("wait") is True
        # The synchronous extension stands for the vendor's payment traffic, not
        # API calls: it is not rate-limited (else per-request routing could not run).
        refused, headers = self._auth(request, "wait" if wait else "auth")
        if refused is not None:
            return refused
        parsed = self._parse_create(body)
        if isinstance(parsed, str):
            return self._error("INVALID_REQUEST", f"Invalid request: {parsed}", headers)
        cid, kind, amount = parsed
        if cid in self.contexts:
            return self._error(
                "INVALID_REQUEST", f"Invalid request: {cid} exists", headers
            )
        ctx = self._start_context(cid, kind, amount, conn=None)
        if wait:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(60):
                    await ctx.done.wait()
            return self._json(envelope(ctx.to_json(self.system)), 200, headers)
        return self._json(envelope(ctx.to_json(self.system)), 201, headers)

    async def _ctx_status(self, request: Request) -> Response:
        early = await self._faults_first(request, "auth")
        if early is not None:
            return early
        refused, headers = self._auth(request, "auth")
        if refused is not None:
            return refused
        ctx = self.contexts.get(request.path_params["cid"])
        if ctx is None:
            return self._error("NOT_FOUND", "Context not found", headers)
        return self._json(envelope(ctx.to_json(self.system)), headers=headers)

    async def _cancel(self, request: Request) -> Response:
        early = await self._faults_first(request, "auth")
        if early is not None:
            return early
        refused, headers = self._auth(request, "auth")
        if refused is not None:
            return refused
        ctx = self.contexts.get(request.path_params["cid"])
        if ctx is None:
            return self._error("NOT_FOUND", "Context not found", headers)
        self._cancel_context(ctx)
        return self._json(envelope(ctx.to_json(self.system)), headers=headers)

    async def _test_users(self, request: Request) -> Response:
        early = await self._faults_first(request, "user")
        if early is not None:
            return early
        refused, headers = self._auth(request, "user")
        if refused is not None:
            return refused
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("user_id"), str):
            return self._error("INVALID_REQUEST", "Invalid request: user_id required")
        uid = body["user_id"]
        attrs = {"email": f"{uid}@test.boop.network", "name": f"Test User {uid}"}
        if isinstance(body.get("attributes"), dict):
            attrs.update(body["attributes"])
        assert self.test_users is not None
        self.test_users[uid] = attrs
        return self._json(envelope({"user_id": uid, "attributes": attrs}), 201, headers)

    # -- contexts ----------------------------------------------------------------------

    def _parse_create(self, body: Any) -> tuple[str, str, int | None] | str:
        if not isinstance(body, dict):
            return "body must be a JSON object"
        req = body.get("requirements")
        if isinstance(req, dict):
            kind, amount = req.get("type"), req.get("amount")
        else:  # dialect B shape, also accepted over REST
            kind = body.get("context_type")
            meta = body.get("metadata")
            amount = meta.get("amount") if isinstance(meta, dict) else None
        if kind not in CONTEXT_TYPES:
            return (
                f"requirements.type must be one of {', '.join(sorted(CONTEXT_TYPES))}"
            )
        if kind == "payment" and (
            not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0
        ):
            return "a payment needs a positive integer amount in cents"
        cid = body.get("context_id") or f"ctx_{uuid.uuid4().hex[:16]}"
        return str(cid), str(kind), amount if isinstance(amount, int) else None

    def _start_context(
        self,
        cid: str,
        kind: str,
        amount: int | None,
        conn: VendorConn | None,
        dialect: str = "A",
    ) -> Context:
        self.counts["contexts"] += 1
        ctx = Context(cid, kind, amount, time.time(), conn=conn, dialect=dialect)
        self.contexts[cid] = ctx
        while len(self.contexts) > MAX_CONTEXTS:
            self.contexts.popitem(last=False)
        if self._chance(FaultKind.HANG):
            return ctx  # never ends: the vendor's own timeout must catch it
        p = self.profile
        delay = self.rng.lognormvariate(math.log(p.latency_median_s), p.latency_sigma)
        delay += self.faults.value(self.name, FaultKind.LATENCY)
        ctx.timer = asyncio.get_running_loop().call_later(delay, self._finish, ctx)
        return ctx

    def _finish(self, ctx: Context) -> None:
        if ctx.status != "pending":
            return
        p, rng, name = self.profile, self.rng, self.name
        if rng.random() < p.error + self.faults.value(name, FaultKind.ERROR_RATE):
            ctx.status = "error"
            ctx.error = {"code": "INTERNAL_ERROR", "message": "Internal server error"}
        elif rng.random() < p.auth_failure + self.faults.value(
            name, FaultKind.AUTH_FAILURE
        ):
            ctx.status = "failed"
            ctx.result = {"success": False, "error": "user-not-found"}
        else:
            ctx.status = "authenticated"
            ctx.result = {
                "success": True,
                "user_id": f"usr_{rng.getrandbits(32):08x}",
                "attributes": {"email": "user@example.com"},
            }
            if ctx.kind == "payment":
                failed = rng.random() < p.payment_failure + self.faults.value(
                    name, FaultKind.PAYMENT_FAILURE
                )
                ctx.result["payment"] = {
                    "status": "failed" if failed else "ok",
                    "transaction_id": f"txn_{rng.getrandbits(40):010x}",
                    "amount": ctx.amount,
                }
        ctx.done.set()
        if ctx.conn is not None:
            self._deliver(ctx)

    def _deliver(self, ctx: Context) -> None:
        assert ctx.conn is not None
        cid = ctx.context_id
        if ctx.status == "error":
            ctx.conn.send(
                {
                    "type": "error",
                    "code": "INTERNAL_ERROR",
                    "message": "Internal server error (simulated)",
                    "details": {"context_id": cid, "retry_allowed": True},
                }
            )
        elif ctx.dialect == "A":
            ctx.conn.send(
                {"type": "auth_result", "context_id": cid, "result": ctx.result}
            )
        elif ctx.status == "authenticated":
            assert ctx.result is not None
            msg = {
                "type": "authentication_success",
                "context_id": cid,
                "user_id": ctx.result["user_id"],
                "attributes": ctx.result["attributes"],
            }
            if "payment" in ctx.result:
                msg["payment"] = ctx.result["payment"]
            ctx.conn.send(msg)
        else:
            ctx.conn.send(
                {
                    "type": "authentication_failed",
                    "context_id": cid,
                    "reason": "user-not-found",
                }
            )

    def _cancel_context(self, ctx: Context) -> None:
        if ctx.status == "pending":
            ctx.status = "cancelled"
            if ctx.timer is not None:
                ctx.timer.cancel()
            ctx.done.set()

    # -- the vendor socket -------------------------------------------------------------

    async def _ws(self, websocket: WebSocket) -> None:
        if self.faults.get(self.name, FaultKind.OUTAGE) is not None:
            await websocket.send_denial_response(
                JSONResponse(error_body("SERVICE_UNAVAILABLE", "unavailable"), 503)
            )
            return
        if self._chance(FaultKind.HTML_502):
            await websocket.send_denial_response(HTMLResponse(HTML_502, 502))
            return
        await websocket.accept()
        conn = VendorConn(websocket)
        self.conns.add(conn)
        writer = asyncio.create_task(conn.writer())
        try:
            while True:
                text = await websocket.receive_text()
                if not self._on_message(conn, text):
                    break
        except WebSocketDisconnect:
            pass
        finally:
            self.conns.discard(conn)
            conn.queue.put_nowait(None)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1):
                    await writer
            writer.cancel()
            for ctx in self.contexts.values():
                if ctx.conn is conn and ctx.status == "pending":
                    ctx.conn = None
        if conn.dialect == "closing":
            with contextlib.suppress(Exception):
                await websocket.close(code=1008)

    def _on_message(self, conn: VendorConn, text: str) -> bool:
        """Handle one message; False closes the socket."""
        try:
            msg = json.loads(text)
            kind = msg.get("type")
        except (ValueError, AttributeError):
            conn.send(
                {
                    "type": "error",
                    "code": "INVALID_REQUEST",
                    "message": "messages must be JSON objects",
                }
            )
            return True
        if kind == "ping":
            conn.send({"type": "pong"})
            return True
        if conn.dialect is None:
            return self._on_hello(conn, msg)
        if kind == "create_context":
            self._ws_create(conn, msg)
        elif kind == "cancel_context":
            ctx = self.contexts.get(str(msg.get("context_id")))
            if ctx is not None:
                self._cancel_context(ctx)
        else:
            conn.send(
                {
                    "type": "error",
                    "code": "INVALID_REQUEST",
                    "message": f"unknown message type {kind!r}",
                }
            )
        return True

    def _on_hello(self, conn: VendorConn, msg: dict[str, Any]) -> bool:
        kind = msg.get("type")
        if kind not in ("authenticate", "vendor_hello"):
            conn.send(
                {
                    "type": "error",
                    "code": "INVALID_REQUEST",
                    "message": f"unknown message type {kind!r}; say hello first",
                }
            )
            return True
        refused = self.keys.check(msg.get("vendor_id"), msg.get("api_key"))
        if kind == "authenticate":
            if refused:
                conn.send(
                    {
                        "type": "error",
                        "code": "VENDOR_INVALID_KEY",
                        "message": f"Invalid API key for {self.name}",
                    }
                )
                conn.dialect = "closing"
                return False
            conn.dialect = "A"
            conn.send({"type": "authenticated"})
        else:
            if refused:
                conn.send(
                    {
                        "type": "vendor_hello_response",
                        "success": False,
                        "error": f"Invalid API key for {self.name}",
                    }
                )
                conn.dialect = "closing"
                return False
            conn.dialect = "B"
            conn.send({"type": "vendor_hello_response", "success": True, "error": None})
        return True

    def _ws_create(self, conn: VendorConn, msg: dict[str, Any]) -> None:
        cid = str(msg.get("context_id") or "")
        if self._chance(FaultKind.RATE_LIMIT_STORM):
            conn.send(
                {
                    "type": "error",
                    "code": "VENDOR_RATE_LIMIT",
                    "message": "Rate limit exceeded",
                    "details": {"context_id": cid, "retry_allowed": True},
                }
            )
            return
        parsed = self._parse_create(msg)
        if isinstance(parsed, str) or not cid or cid in self.contexts:
            why = parsed if isinstance(parsed, str) else "context_id missing or reused"
            conn.send(
                {
                    "type": "error",
                    "code": "INVALID_REQUEST",
                    "message": why,
                    "details": {"context_id": cid, "retry_allowed": False},
                }
            )
            return
        _, kind, amount = parsed
        assert conn.dialect is not None
        self._start_context(cid, kind, amount, conn, conn.dialect)
        if conn.dialect == "B":
            conn.send(
                {
                    "type": "context_created",
                    "context_id": cid,
                    "qr_code": f"boop://ctx/{cid}",
                }
            )

    # -- periodic faults on open sockets -----------------------------------------------

    async def tick(self, dt: float) -> None:
        """Apply socket faults: outage closes, random drops, over-size messages."""
        outage = self.faults.get(self.name, FaultKind.OUTAGE) is not None
        drops = self.faults.value(self.name, FaultKind.WS_DROP)
        oversize = self.faults.get(self.name, FaultKind.WS_OVERSIZE)
        for conn in list(self.conns):
            if outage or (drops > 0 and self.rng.random() < drops / 60 * dt):
                with contextlib.suppress(Exception):
                    await conn.ws.close(code=1011 if not outage else 1012)
                continue
            if oversize is not None and oversize.id not in self._oversize_done:
                pad = "x" * int(oversize.value)
                conn.queue.put_nowait(json.dumps({"type": "notice", "padding": pad}))
        if oversize is not None:
            # Once per injection, to the sockets open then; not to their successors.
            self._oversize_done.add(oversize.id)
