"""Typed values the BOOP client returns: REST results and vendor-stream events.

The stream has two dialects on the wire (see :mod:`console.boop.stream`); both are
turned into the one set of events below, so callers never see which one was spoken.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def mask(secret: str | None) -> str:
    """Show a key as its prefix and last four characters: 'sk_live_…9f3a'.

    Kept here (not in console.credentials) because console.boop sits beside that
    package, not above it; both mask the same way.
    """
    if not secret:
        return "(none)"
    prefix = ""
    for candidate in ("sk_live_", "sk_dev_", "sk_test_", "ven_live_", "ven_dev_"):
        if secret.startswith(candidate):
            prefix = candidate
            break
    if len(secret) - len(prefix) <= 6:
        return f"{prefix}…"
    return f"{prefix}…{secret[-4:]}"


@dataclass(frozen=True)
class RateLimit:
    """The X-RateLimit-* headers of one response (None where absent)."""

    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None
    """Unix seconds when the window resets."""
    retry_after_s: float | None = None
    """From Retry-After, on a 429."""

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit:
        def num(name: str) -> float | None:
            raw = headers.get(name)
            if raw is None:
                return None
            try:
                return float(raw)
            except ValueError:
                return None

        limit = num("x-ratelimit-limit")
        remaining = num("x-ratelimit-remaining")
        return cls(
            limit=None if limit is None else int(limit),
            remaining=None if remaining is None else int(remaining),
            reset=num("x-ratelimit-reset"),
            retry_after_s=num("retry-after"),
        )

    def wait_s(self, now: float | None = None) -> float | None:
        """How long to wait before retrying: Retry-After, else until the reset."""
        if self.retry_after_s is not None:
            return max(0.0, self.retry_after_s)
        if self.reset is not None:
            return max(0.0, self.reset - (time.time() if now is None else now))
        return None


@dataclass(frozen=True)
class ApiResult:
    """One successful REST answer, envelope removed."""

    status: int
    data: Any
    """``data`` of a {success,data,meta} envelope, or the bare body."""
    meta: Mapping[str, Any]
    rate_limit: RateLimit
    elapsed_ms: float
    enveloped: bool


@dataclass(frozen=True)
class Health:
    """GET /health: {"status": "ok", "version": "<git hash>"}."""

    ok: bool
    status: str
    version: str | None
    latency_ms: float
    rate_limit: RateLimit


@dataclass(frozen=True)
class AuthContext:
    """An authentication context as REST reports it."""

    context_id: str
    status: str
    """'pending', 'authenticated', 'failed', 'expired', 'cancelled' (or BOOP's word)."""
    result: Mapping[str, Any] | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: Any) -> AuthContext:
        if not isinstance(data, Mapping):
            data = {}
        result = data.get("result")
        return cls(
            context_id=str(data.get("context_id", "")),
            status=str(data.get("status", "unknown")),
            result=result if isinstance(result, Mapping) else None,
            raw=dict(data),
        )


# -- vendor stream events ------------------------------------------------------------


@dataclass(frozen=True)
class StreamEvent:
    """Base of everything the vendor stream delivers."""

    at: float = field(default_factory=time.time, kw_only=True)


@dataclass(frozen=True)
class Connected(StreamEvent):
    """The socket is open and the hello was accepted."""

    dialect: str
    """'A' or 'B'."""
    reconnects: int


@dataclass(frozen=True)
class Disconnected(StreamEvent):
    """The socket closed; ``will_retry`` says whether a reconnect follows."""

    reason: str
    will_retry: bool


@dataclass(frozen=True)
class ContextCreated(StreamEvent):
    """BOOP confirmed a context (dialect B only; A has no acknowledgement)."""

    context_id: str
    qr_code: str | None = None


@dataclass(frozen=True)
class AuthSucceeded(StreamEvent):
    """A user authenticated (A: auth_result success; B: authentication_success)."""

    context_id: str
    user_id: str | None
    attributes: Mapping[str, Any]
    payment: Mapping[str, Any] | None = None
    """Simulator extension: {"status": "ok"|"failed", "transaction_id": ...}."""


@dataclass(frozen=True)
class AuthFailed(StreamEvent):
    """Authentication ended without success (A: auth_result !success; B: failed)."""

    context_id: str
    reason: str


@dataclass(frozen=True)
class ContextExpired(StreamEvent):
    """The context timed out before a scan (B: context_expired)."""

    context_id: str


@dataclass(frozen=True)
class ServerErrorEvent(StreamEvent):
    """An ``error`` message: {code, message, details{context_id, retry_allowed}}."""

    code: str
    message: str
    context_id: str | None = None
    retry_allowed: bool | None = None


@dataclass(frozen=True)
class Pong(StreamEvent):
    """The answer to a ping, with the measured round trip."""

    rtt_ms: float | None


@dataclass(frozen=True)
class Oversize(StreamEvent):
    """BOOP sent a message over the size limit; the socket was closed (1009)."""

    limit_bytes: int
