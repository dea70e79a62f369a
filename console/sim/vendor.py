"""The synthetic vendor application: load, routing by the current weight, metrics.

It sends authentication and payment contexts at ``rate`` per second and splits them
between BOOP prod and the legacy system by the routing weight, from one of:

* a routing file (the file router's JSON document, ``{"boop_percent": 5.0, ...}``),
  re-read every 0.25 s; a missing or unreadable file means 0% (all legacy);
* an HTTP proxy (HAProxy) whose backend holds both systems: each transaction is one
  ``POST /api/v1/auth/create`` with ``"wait": true``; the ``X-Sim-System`` header of
  the answer says who served it, and the applied share is measured over the last
  200 transactions.

With a routing file, contexts go over one vendor WebSocket per system (dialect A):
cheap enough for hundreds of contexts per second. Metrics use exactly the names of
docs/metrics.md in their own CollectorRegistry.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from console.boop.client import BoopClient
from console.boop.errors import BoopResponseError, StreamClosed
from console.boop.models import (
    AuthFailed,
    AuthSucceeded,
    Connected,
    ContextExpired,
    Disconnected,
    ServerErrorEvent,
    StreamEvent,
)
from console.boop.stream import Backoff, VendorStream
from console.errors import BoopError

log = logging.getLogger("console.sim")

PAYMENT_SHARE = 0.7
"""Share of contexts that are payments; the rest are entrance authentications."""
LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)


class VendorMetrics:
    """The exposition names of docs/metrics.md, in their own registry."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.auth = Counter(
            "boop_auth_requests",
            "Authentication contexts sent to BOOP, by result",
            ["result"],
            registry=r,
        )
        self.auth_duration = Histogram(
            "boop_auth_duration_seconds",
            "From context creation to result",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.payments = Counter(
            "boop_payments", "Payments through BOOP", ["result"], registry=r
        )
        self.amount = Counter(
            "boop_payment_amount_cents",
            "Money through BOOP, in cents",
            ["result"],
            registry=r,
        )
        self.legacy = Counter(
            "legacy_payments",
            "Payments through the previous system",
            ["result"],
            registry=r,
        )
        self.legacy_amount = Counter(
            "legacy_payment_amount_cents",
            "Money through the previous system, cents",
            ["result"],
            registry=r,
        )
        self.ws_connections = Gauge(
            "boop_ws_connections", "Vendor WebSocket connections open now", registry=r
        )
        self.ws_reconnects = Counter(
            "boop_ws_reconnects", "Vendor WebSocket reconnects", registry=r
        )
        self.http = Counter(
            "boop_http_requests",
            "REST calls to BOOP",
            ["endpoint", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "boop_http_request_duration_seconds",
            "REST call latency",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.concurrent = Gauge(
            "boop_concurrent_users", "Authentications in progress now", registry=r
        )
        self.routing = Gauge(
            "boop_routing_percent",
            "The BOOP share the application applies now",
            registry=r,
        )
        # Pre-create label sets so a scrape shows zeros rather than nothing.
        for result in ("success", "failure", "error"):
            self.auth.labels(result)
        for result in ("success", "failed"):
            self.payments.labels(result)
            self.amount.labels(result)
            self.legacy.labels(result)
            self.legacy_amount.labels(result)


@dataclass
class _Pending:
    started: float
    payment: bool
    amount: int
    boop: bool


class RoutingFile:
    """Reads ``boop_percent`` from the file router's document when it changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sig: tuple[int, int] | None = None
        self.percent = 0.0

    def poll(self) -> float:
        try:
            st = os.stat(self.path)
        except OSError:
            self._sig, self.percent = None, 0.0
            return self.percent
        sig = (st.st_mtime_ns, st.st_size)
        if sig == self._sig:
            return self.percent
        self._sig = sig
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            value = float(doc["boop_percent"])
        except (OSError, ValueError, KeyError, TypeError):
            # Fail towards the known-good system: an unreadable document is 0%.
            log.warning("routing file %s unreadable; routing 0%% to BOOP", self.path)
            self.percent = 0.0
            return self.percent
        self.percent = min(100.0, max(0.0, value))
        return self.percent


class VendorApp:
    """The load generator. ``start()`` runs it in tasks; ``stop()`` ends them."""

    def __init__(
        self,
        *,
        prod_url: str,
        legacy_url: str,
        prod_credentials: tuple[str, str],
        rate: float = 20.0,
        routing_file: Path | None = None,
        proxy_url: str | None = None,
        context_timeout_s: float = 10.0,
        rng: random.Random | None = None,
    ) -> None:
        self.prod_url = prod_url
        self.legacy_url = legacy_url
        self.vendor_id, self._api_key = prod_credentials
        self.rate = rate
        self.routing = RoutingFile(routing_file) if routing_file else None
        self.proxy_url = proxy_url.rstrip("/") if proxy_url else None
        self.context_timeout_s = context_timeout_s
        self.rng = rng or random.Random()
        self.metrics = VendorMetrics()
        self.percent = 0.0
        self.sent = 0
        self.completed = 0
        self._pending: dict[str, _Pending] = {}
        self._seq = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._recent: deque[bool] = deque(maxlen=200)
        self._recent_payments: deque[str] = deque(maxlen=50)
        self._connected_once = False
        self._inflight = 0
        backoff = Backoff(initial_s=0.2, cap_s=2.0, stable_after_s=5.0)
        self.boop = VendorStream(
            prod_url.replace("http", "ws", 1) + "/ws/vendor",
            self.vendor_id,
            self._api_key,
            dialect="A",
            on_event=self._on_boop,
            backoff=backoff,
            name="vendor->prod",
            rng=self.rng,
        )
        self.legacy = VendorStream(
            legacy_url.replace("http", "ws", 1) + "/ws/vendor",
            "ven_legacy",
            "legacy",
            dialect="A",
            on_event=self._on_legacy,
            backoff=backoff,
            name="vendor->legacy",
            rng=self.rng,
        )
        self.rest = BoopClient(
            prod_url, self.vendor_id, self._api_key, timeout_s=2.0, name="prod"
        )
        self._proxy: httpx.AsyncClient | None = None

    async def start(self) -> None:
        if self.proxy_url is None:
            self.boop.start()
            self.legacy.start()
        else:
            self._proxy = httpx.AsyncClient(
                timeout=httpx.Timeout(self.context_timeout_s),
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
                trust_env=False,
            )
        for coro in (
            self._generate(),
            self._watch_routing(),
            self._sweep(),
            self._poll_rest(),
        ):
            self._tasks.append(asyncio.create_task(coro))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.boop.stop(timeout_s=1.0)
        await self.legacy.stop(timeout_s=1.0)
        await self.rest.aclose()
        if self._proxy is not None:
            await self._proxy.aclose()

    # -- loops -------------------------------------------------------------------------

    async def _generate(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        due = 0.0
        while True:
            await asyncio.sleep(0.02)
            now = loop.time()
            # Bounded catch-up: after a stall, do not fire a burst of old work.
            due = min(due + self.rate * (now - last), max(1.0, self.rate * 0.2))
            last = now
            while due >= 1.0:
                due -= 1.0
                await self._one()

    async def _one(self) -> None:
        self._seq += 1
        cid = f"v{self._seq:x}"
        payment = self.rng.random() < PAYMENT_SHARE
        amount = self.rng.randint(200, 12_000) if payment else 0
        self.sent += 1
        if self.proxy_url is not None:
            if self._inflight < 512:
                self._inflight += 1
                task = asyncio.create_task(self._via_proxy(cid, payment, amount))
                task.add_done_callback(lambda _t: None)
            return
        boop = self.rng.random() * 100 < self.percent
        stream = self.boop if boop else self.legacy
        self._pending[cid] = _Pending(time.monotonic(), payment, amount, boop)
        if boop:
            self.metrics.concurrent.inc()
        try:
            await stream.create_context(
                "payment" if payment else "entrance",
                context_id=cid,
                amount_cents=amount if payment else None,
            )
        except StreamClosed:
            self._end(cid, "error", None, observe=False)

    async def _via_proxy(self, cid: str, payment: bool, amount: int) -> None:
        assert self._proxy is not None and self.proxy_url is not None
        req: dict[str, object] = {"type": "payment" if payment else "entrance"}
        if payment:
            req["amount"] = amount
        body = {"context_id": cid, "requirements": req, "wait": True}
        started = time.monotonic()
        try:
            resp = await self._proxy.post(
                self.proxy_url + "/api/v1/auth/create",
                json=body,
                headers={"X-API-Key": self._api_key},
            )
            boop = resp.headers.get("x-sim-system") == "boop"
            data = resp.json().get("data") if resp.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError):
            boop, data = False, None
        finally:
            self._inflight -= 1
        self._recent.append(boop)
        self._pending[cid] = _Pending(started, payment, amount, boop)
        if boop:
            self.metrics.concurrent.inc()
        if not isinstance(data, dict) or data.get("status") in (
            None,
            "error",
            "pending",
        ):
            self._end(cid, "error", None)
        elif data.get("status") == "authenticated":
            result = data.get("result") or {}
            self._end(cid, "success", result.get("payment"))
        else:
            self._end(cid, "failure", None)

    async def _watch_routing(self) -> None:
        while True:
            if self.routing is not None:
                self.percent = self.routing.poll()
            elif self.proxy_url is not None and self._recent:
                self.percent = 100.0 * sum(self._recent) / len(self._recent)
            self.metrics.routing.set(self.percent)
            await asyncio.sleep(0.25)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            limit = time.monotonic() - self.context_timeout_s
            for cid in [c for c, p in self._pending.items() if p.started < limit]:
                self._end(cid, "error", None)

    async def _poll_rest(self) -> None:
        """A vendor also calls REST: health each second, and a payment's status."""
        while True:
            await asyncio.sleep(1.0)
            await self._rest_call("/health", self.rest.health())
            if self._recent_payments:
                cid = self._recent_payments[-1]
                await self._rest_call("/api/v1/auth/status", self.rest.auth_status(cid))

    async def _rest_call(self, endpoint: str, call: object) -> None:
        started = time.perf_counter()
        status = "error"
        try:
            await call  # type: ignore[misc]
            status = "200"
        except BoopResponseError as exc:
            status = str(exc.status)
        except BoopError:
            status = "error"
        self.metrics.http.labels(endpoint, status).inc()
        self.metrics.http_duration.labels(endpoint).observe(
            time.perf_counter() - started
        )

    # -- results -----------------------------------------------------------------------

    def _on_boop(self, event: StreamEvent) -> None:
        self._on_event(event, boop=True)

    def _on_legacy(self, event: StreamEvent) -> None:
        self._on_event(event, boop=False)

    def _on_event(self, event: StreamEvent, *, boop: bool) -> None:
        if isinstance(event, AuthSucceeded):
            self._end(event.context_id, "success", event.payment)
        elif isinstance(event, (AuthFailed, ContextExpired)):
            self._end(event.context_id, "failure", None)
        elif isinstance(event, ServerErrorEvent) and event.context_id:
            self._end(event.context_id, "error", None)
        elif isinstance(event, Connected) and boop:
            self.metrics.ws_connections.set(1)
            if self._connected_once:
                self.metrics.ws_reconnects.inc()
            self._connected_once = True
        elif isinstance(event, Disconnected):
            if boop:
                self.metrics.ws_connections.set(0)
            # Whatever was in flight on that socket is lost.
            for cid in [c for c, p in self._pending.items() if p.boop == boop]:
                self._end(cid, "error", None)

    def _end(
        self, cid: str, outcome: str, payment: object, *, observe: bool = True
    ) -> None:
        p = self._pending.pop(cid, None)
        if p is None:
            return
        self.completed += 1
        m = self.metrics
        paid = isinstance(payment, dict) and payment.get("status") == "ok"
        if not p.boop:
            if p.payment:
                result = "success" if outcome == "success" and paid else "failed"
                m.legacy.labels(result).inc()
                m.legacy_amount.labels(result).inc(p.amount)
            return
        m.concurrent.dec()
        m.auth.labels(outcome).inc()
        if observe:
            m.auth_duration.observe(time.monotonic() - p.started)
        if p.payment and outcome != "failure":
            # A user-level failure means no payment was attempted; an error or a
            # failed payment is a failed payment.
            result = "success" if outcome == "success" and paid else "failed"
            m.payments.labels(result).inc()
            m.amount.labels(result).inc(p.amount)
            if result == "success":
                self._recent_payments.append(cid)
