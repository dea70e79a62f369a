"""The vendor WebSocket (/ws/vendor): connect, say hello, ping, contexts, results.

BOOP's docs describe the vendor socket in two incompatible dialects:

* **A** (api-reference/websocket-vendor): ``authenticate`` -> ``authenticated``;
  ``create_context{context_id, requirements{type, amount}}``; results as
  ``auth_result{result{success, user_id, attributes}}``; ``error``; ``pong``.
* **B** (integration-guide/websocket-integration): ``vendor_hello`` ->
  ``vendor_hello_response{success, error}``; ``create_context{context_id,
  context_type, attributes, metadata}``; ``context_created``,
  ``authentication_success``, ``authentication_failed``, ``context_expired``;
  ``cancel_context``; ``pong``.

``dialect="auto"`` sends A's hello first, because BOOP's testing checklist expects A's
``auth_result``. If the server answers ``error`` with a code that is not a credential
refusal (or any unknown type), B's hello follows on the same socket (a fresh one if
the server closed it). The dialect that worked is kept for every reconnect. Either
way, callers receive the one set of events in :mod:`console.boop.models`.

Reconnects follow websockets' own pattern in three small parts: :func:`should_retry`
(a pure decision), :class:`Backoff` (capped, jittered, reset after a stable
connection) and one INFO line per retry with the delay and the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.frames import CloseCode

from console.boop.client import Guard, is_loopback
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
    Pong,
    ServerErrorEvent,
    StreamEvent,
    mask,
)

log = logging.getLogger("console.boop.stream")

Dialect = Literal["auto", "A", "B"]

# Error codes that mean "these credentials are refused": never retried, never
# taken as "this server speaks the other dialect".
REJECT_CODES = frozenset(
    {
        "UNAUTHORIZED",
        "FORBIDDEN",
        "VENDOR_INVALID_KEY",
        "VENDOR_NOT_FOUND",
        "VENDOR_SUSPENDED",
        "VENDOR_PERMISSION_DENIED",
    }
)
# Close codes a server may use to refuse a hello (policy violation, app-level 401/403).
REJECT_CLOSE_CODES = frozenset({1008, 4001, 4003})


class StreamState(StrEnum):
    """Where the stream stands."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    BACKING_OFF = "backing off"
    """Waiting before the next connection attempt."""
    FAILED = "failed"
    """Given up: credentials refused or a non-retryable error. See last_error."""
    STOPPED = "stopped"


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with jitter, restarted after a stable connection."""

    initial_s: float = 0.5
    factor: float = 2.0
    cap_s: float = 30.0
    jitter: float = 0.5
    """Each delay is drawn from [d * (1 - jitter), d]: many clients spread out."""
    stable_after_s: float = 30.0
    """A connection that lasted this long restarts the sequence at initial_s."""

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        """An endless sequence of delays."""
        rng = rng or random.Random()
        delay = self.initial_s
        while True:
            yield delay * rng.uniform(1.0 - self.jitter, 1.0)
            delay = min(self.cap_s, delay * self.factor)


def should_retry(exc: BaseException) -> bool:
    """The retry-or-give-up decision, on already translated errors.

    Refused credentials and handshake statuses other than 429/5xx give up; lost
    connections, timeouts, 502/503 in the handshake and over-size messages retry.
    """
    if isinstance(exc, StreamRejected):
        return False
    if isinstance(exc, StreamHandshakeError):
        return exc.status == 429 or exc.status >= 500
    return isinstance(exc, (BoopTransportError, StreamError))


@dataclass(frozen=True)
class StreamStatus:
    """A snapshot of the stream for probes and the UI."""

    state: StreamState
    dialect: str | None
    rtt_ms: float | None
    reconnects: int
    connected_since: float | None
    last_error: str | None


def parse_message(msg: Mapping[str, Any]) -> StreamEvent | None:
    """Turn a server message of either dialect into an event (None: not an event)."""
    kind = msg.get("type")
    ctx = str(msg.get("context_id", ""))
    if kind == "auth_result":
        result = msg.get("result")
        result = result if isinstance(result, Mapping) else {}
        if result.get("success") is True:
            return AuthSucceeded(
                context_id=ctx,
                user_id=_opt_str(result.get("user_id")),
                attributes=_mapping(result.get("attributes")),
                payment=_opt_mapping(result.get("payment")),
            )
        reason = result.get("error") or result.get("code") or result.get("reason")
        return AuthFailed(context_id=ctx, reason=str(reason or "failed"))
    if kind == "authentication_success":
        return AuthSucceeded(
            context_id=ctx,
            user_id=_opt_str(msg.get("user_id")),
            attributes=_mapping(msg.get("attributes")),
            payment=_opt_mapping(msg.get("payment")),
        )
    if kind == "authentication_failed":
        return AuthFailed(context_id=ctx, reason=str(msg.get("reason") or "failed"))
    if kind == "context_created":
        return ContextCreated(context_id=ctx, qr_code=_opt_str(msg.get("qr_code")))
    if kind == "context_expired":
        return ContextExpired(context_id=ctx)
    if kind == "error":
        details = _mapping(msg.get("details"))
        retry = details.get("retry_allowed")
        return ServerErrorEvent(
            code=str(msg.get("code") or "UNKNOWN"),
            message=str(msg.get("message") or ""),
            context_id=_opt_str(details.get("context_id") or msg.get("context_id")),
            retry_allowed=retry if isinstance(retry, bool) else None,
        )
    return None


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _opt_mapping(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


class VendorStream:
    """One long-lived vendor WebSocket with reconnects.

    Run it with ``task = stream.start()`` (or ``await stream.run()``); events arrive
    through ``on_event`` if given, else from ``await stream.next_event()``.
    """

    def __init__(
        self,
        ws_url: str,
        vendor_id: str,
        api_key: str,
        *,
        dialect: Dialect = "auto",
        guard: Guard | None = None,
        on_event: Callable[[StreamEvent], None] | None = None,
        backoff: Backoff = Backoff(),
        open_timeout_s: float = 5.0,
        hello_timeout_s: float = 5.0,
        ping_interval_s: float | None = 20.0,
        ping_timeout_s: float | None = 20.0,
        max_size: int = 2**20,
        queue_size: int = 10_000,
        name: str = "boop",
        rng: random.Random | None = None,
    ) -> None:
        self.ws_url = ws_url
        self.vendor_id = vendor_id
        self._api_key = api_key
        self.dialect: Dialect = dialect
        self._learned: Literal["A", "B"] | None = None if dialect == "auto" else dialect
        self._guard = guard
        self._on_event = on_event
        self.backoff = backoff
        self.open_timeout_s = open_timeout_s
        self.hello_timeout_s = hello_timeout_s
        # Generous keepalive timeouts: a loop that is busy for a few seconds must
        # not be mistaken for a dead peer (BOOP's heartbeat is 30 s).
        self.ping_interval_s = ping_interval_s
        self.ping_timeout_s = ping_timeout_s
        self.max_size = max_size
        self.name = name
        self._rng = rng or random.Random()
        self._queue: asyncio.Queue[StreamEvent] = asyncio.Queue(queue_size)
        self.dropped_events = 0
        self.state = StreamState.STOPPED
        self.reconnects = 0
        self.connected_since: float | None = None
        self.last_error: str | None = None
        self._rtt_ms: float | None = None
        self._ws: ClientConnection | None = None
        self._pings: list[tuple[float, asyncio.Future[float]]] = []
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return (
            f"VendorStream({self.ws_url!r}, vendor={self.vendor_id!r}, "
            f"key={mask(self._api_key)!r}, {self.state})"
        )

    # -- public ------------------------------------------------------------------------

    @property
    def rtt_ms(self) -> float | None:
        """The last measured round trip (our ping, else the library's keepalive)."""
        if self._rtt_ms is not None:
            return self._rtt_ms
        if self._ws is not None and self._ws.latency > 0:
            return self._ws.latency * 1000
        return None

    @property
    def connected(self) -> bool:
        return self.state is StreamState.CONNECTED and self._ws is not None

    def status(self) -> StreamStatus:
        return StreamStatus(
            state=self.state,
            dialect=self._learned,
            rtt_ms=self.rtt_ms,
            reconnects=self.reconnects,
            connected_since=self.connected_since,
            last_error=self.last_error,
        )

    def start(self) -> asyncio.Task[None]:
        """Run the stream in a task (kept on the instance) and return it."""
        if self._task is None or self._task.done():
            self._stopping.clear()
            self._task = asyncio.create_task(self.run(), name=f"stream-{self.name}")
        return self._task

    async def stop(self, timeout_s: float = 3.0) -> None:
        """Close the socket cleanly (1000) and end run()."""
        self._stopping.set()
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(timeout_s):
                    await ws.close()
        task = self._task
        if task is not None and not task.done():
            try:
                async with asyncio.timeout(timeout_s):
                    await task
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self.state = StreamState.STOPPED

    async def next_event(self) -> StreamEvent:
        """The next event (only when no on_event callback was given)."""
        return await self._queue.get()

    async def create_context(
        self,
        kind: str = "payment",
        *,
        context_id: str | None = None,
        amount_cents: int | None = None,
        attributes: tuple[str, ...] = (),
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Ask BOOP for a context; returns its id. Raises StreamClosed if down."""
        context_id = context_id or str(uuid.uuid4())
        if self._learned == "B":
            meta = dict(metadata or {})
            if amount_cents is not None:
                # B documents no amount field: it travels in metadata (our choice).
                meta["amount"] = amount_cents
            msg: dict[str, Any] = {
                "type": "create_context",
                "context_id": context_id,
                "context_type": kind,
                "attributes": list(attributes),
                "metadata": meta,
            }
        else:
            requirements: dict[str, Any] = {"type": kind}
            if amount_cents is not None:
                requirements["amount"] = amount_cents
            if attributes:
                requirements["attributes"] = list(attributes)
            msg = {
                "type": "create_context",
                "context_id": context_id,
                "requirements": requirements,
            }
        await self._send(msg)
        return context_id

    async def cancel_context(self, context_id: str) -> None:
        """Send cancel_context (B's message; the simulator accepts it in A too)."""
        await self._send({"type": "cancel_context", "context_id": context_id})

    async def ping(self, timeout_s: float = 5.0) -> float:
        """Send an application ping and return the round trip in ms."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[float] = loop.create_future()
        entry = (time.perf_counter(), fut)
        self._pings.append(entry)
        try:
            await self._send({"type": "ping"})
            async with asyncio.timeout(timeout_s):
                rtt = await fut
        except TimeoutError:
            raise BoopTimeout(
                f"{self.name} stream: no pong within {timeout_s:g} s."
            ) from None
        finally:
            if entry in self._pings:
                self._pings.remove(entry)
        self._rtt_ms = rtt
        return rtt

    # -- the loop ----------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, serve, reconnect until stop() or a non-retryable error."""
        delays = self.backoff.delays(self._rng)
        while not self._stopping.is_set():
            self.state = StreamState.CONNECTING
            opened_at: list[float] = []
            try:
                await self._session(opened_at)
                reason = f"{self.name} stream closed by the server."
            except (StreamError, BoopTransportError) as exc:
                if self._stopping.is_set():
                    break
                reason = str(exc.message)
                self.last_error = reason
                if isinstance(exc, MessageTooBig):
                    log.warning("%s", reason)
                    self._emit(Oversize(limit_bytes=self.max_size))
                if not should_retry(exc):
                    self._give_up(reason)
                    return
            except Exception as exc:
                # A bug, not a network condition: stop visibly rather than loop.
                log.exception("%s stream failed unexpectedly", self.name)
                self._give_up(f"{self.name} stream failed: {type(exc).__name__}: {exc}")
                return
            if self._stopping.is_set():
                break
            if (
                opened_at
                and time.monotonic() - opened_at[0] >= self.backoff.stable_after_s
            ):
                delays = self.backoff.delays(self._rng)
            delay = next(delays)
            log.info("%s Reconnecting in %.2f s.", reason, delay)
            self._emit(Disconnected(reason=reason, will_retry=True))
            self.state = StreamState.BACKING_OFF
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stopping.wait()
            self.reconnects += 1
        self.state = StreamState.STOPPED

    def _give_up(self, reason: str) -> None:
        self.state = StreamState.FAILED
        self.last_error = reason
        log.error("%s stream stopped: %s", self.name, reason)
        self._emit(Disconnected(reason=reason, will_retry=False))

    async def _session(self, opened_at: list[float]) -> None:
        """One connection, from handshake to close; library errors translated here."""
        if self._guard is not None:
            self._guard(self.ws_url, self.vendor_id, self._api_key)
        try:
            ws = await connect(
                self.ws_url,
                proxy=None if is_loopback(self.ws_url) else True,
                open_timeout=self.open_timeout_s,
                ping_interval=self.ping_interval_s,
                ping_timeout=self.ping_timeout_s,
                close_timeout=2,
                max_size=self.max_size,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise StreamRejected(
                    f"{self.name} stream refused: HTTP {status} in the handshake.",
                    hint="Check the vendor id and API key for this environment.",
                ) from exc
            raise StreamHandshakeError(
                f"{self.name} stream handshake answered HTTP {status}.", status=status
            ) from exc
        except TimeoutError as exc:
            raise BoopTimeout(
                f"{self.name} stream: no handshake within {self.open_timeout_s:g} s."
            ) from exc
        except InvalidHandshake as exc:
            raise StreamError(f"{self.name} stream handshake failed: {exc}.") from exc
        except OSError as exc:
            why = exc.strerror or str(exc)
            raise BoopTransportError(
                f"{self.name} stream cannot connect to {self.ws_url}: {why}."
            ) from exc
        try:
            dialect = await self._hello(ws)
            self._ws = ws
            opened_at.append(time.monotonic())
            self.connected_since = time.time()
            self.state = StreamState.CONNECTED
            self.last_error = None
            log.info("%s stream connected (dialect %s)", self.name, dialect)
            self._emit(Connected(dialect=dialect, reconnects=self.reconnects))
            async for raw in ws:
                self._dispatch(raw)
        except ConnectionClosed as exc:
            raise self._closed_error(exc) from exc
        finally:
            self._ws = None
            self.connected_since = None
            for _, fut in self._pings:
                if not fut.done():
                    fut.cancel()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await ws.close()

    def _closed_error(self, exc: ConnectionClosed) -> StreamError:
        sent = exc.sent.code if exc.sent is not None else None
        rcvd = exc.rcvd.code if exc.rcvd is not None else None
        if CloseCode.MESSAGE_TOO_BIG in (sent, rcvd):
            return MessageTooBig(
                f"{self.name} stream: a message exceeded {self.max_size} bytes; "
                "the socket was closed (1009).",
                hint="Raise the stream's max_size if BOOP really sends such messages.",
            )
        if self.state is not StreamState.CONNECTED and rcvd in REJECT_CLOSE_CODES:
            return StreamRejected(
                f"{self.name} stream: the hello was refused (close code {rcvd}).",
                hint="Check the vendor id and API key for this environment.",
            )
        return StreamClosed(f"{self.name} stream lost: {exc}.")

    async def _hello(self, ws: ClientConnection) -> Literal["A", "B"]:
        """Authenticate in the configured (or learned) dialect; return it."""
        try:
            async with asyncio.timeout(self.hello_timeout_s):
                if self._learned != "B":
                    reply = await self._exchange(ws, "authenticate")
                    if reply.get("type") == "authenticated":
                        self._learned = "A"
                        return "A"
                    self._refuse_if_credentials(reply)
                    if self.dialect == "A":
                        raise StreamRejected(
                            f"{self.name} stream: the server does not speak dialect A "
                            f"(answered {reply.get('type')!r}).",
                            hint="Set the environment's dialect to 'B' or 'auto'.",
                        )
                    log.info("%s stream: dialect A not understood, trying B", self.name)
                reply = await self._exchange(ws, "vendor_hello")
        except TimeoutError:
            raise BoopTimeout(
                f"{self.name} stream: no answer to the hello within "
                f"{self.hello_timeout_s:g} s."
            ) from None
        if (
            reply.get("type") == "vendor_hello_response"
            and reply.get("success") is True
        ):
            self._learned = "B"
            return "B"
        self._refuse_if_credentials(reply)
        error = reply.get("error") or reply.get("message") or reply.get("type")
        raise StreamRejected(
            f"{self.name} stream: the hello was refused ({error}).",
            hint="Check the vendor id and API key for this environment.",
        )

    async def _exchange(self, ws: ClientConnection, hello: str) -> Mapping[str, Any]:
        await ws.send(
            json.dumps(
                {"type": hello, "vendor_id": self.vendor_id, "api_key": self._api_key}
            )
        )
        while True:
            raw = await ws.recv()
            try:
                reply = json.loads(raw)
            except ValueError:
                continue
            if isinstance(reply, dict) and reply.get("type") != "pong":
                return reply

    def _refuse_if_credentials(self, reply: Mapping[str, Any]) -> None:
        code = reply.get("code")
        if reply.get("type") == "error" and code in REJECT_CODES:
            raise StreamRejected(
                f"{self.name} stream: credentials refused ({code}: "
                f"{reply.get('message', '')}).",
                hint="Check the vendor id and API key for this environment.",
            )

    def _dispatch(self, raw: str | bytes) -> None:
        try:
            msg = json.loads(raw)
        except ValueError:
            log.warning("%s stream: ignored a message that is not JSON", self.name)
            return
        if not isinstance(msg, dict):
            return
        if msg.get("type") == "pong":
            rtt = None
            if self._pings:
                sent, fut = self._pings.pop(0)
                rtt = (time.perf_counter() - sent) * 1000
                if not fut.done():
                    fut.set_result(rtt)
            self._emit(Pong(rtt_ms=rtt))
            return
        event = parse_message(msg)
        if event is not None:
            self._emit(event)
        elif log.isEnabledFor(logging.DEBUG):
            log.debug("%s stream: ignored message type %r", self.name, msg.get("type"))

    def _emit(self, event: StreamEvent) -> None:
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                # A faulty consumer must not take the connection down with it.
                log.exception("%s stream: the event handler failed", self.name)
            return
        if self._queue.full():
            # Keep the newest: an old result nobody read is worth less than a new one.
            self._queue.get_nowait()
            self.dropped_events += 1
        self._queue.put_nowait(event)

    async def _send(self, msg: Mapping[str, Any]) -> None:
        ws = self._ws
        if ws is None or self.state is not StreamState.CONNECTED:
            raise StreamClosed(
                f"{self.name} stream is {self.state}; cannot send {msg.get('type')}."
            )
        try:
            await ws.send(json.dumps(msg))
        except ConnectionClosed as exc:
            raise StreamClosed(
                f"{self.name} stream lost while sending: {exc}."
            ) from exc
