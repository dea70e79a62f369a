"""Async REST client for one BOOP environment (one httpx.AsyncClient per instance).

Every call has a total deadline: ``asyncio.timeout`` wraps connect, send, the wait for
the headers and the body read, so a server that trickles a byte every few seconds
cannot hold a call past it. Errors are translated here, once, into the tree drawn in
:mod:`console.boop.errors`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import httpx

from console.boop.errors import (
    BadResponse,
    BoopResponseError,
    BoopTimeout,
    BoopTransportError,
    DevOnlyError,
    RateLimited,
    error_class,
)
from console.boop.models import ApiResult, AuthContext, Health, RateLimit, mask
from console.errors import BoopError

log = logging.getLogger("console.boop")

Guard = Callable[[str, str, str], None]
"""guard(url, vendor_id, api_key), called before any request leaves; raises to stop."""

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_EXCERPT = 120
_MAX_RATE_LIMIT_RETRIES = 3


def is_loopback(url: str) -> bool:
    """True when the URL points at this machine (no proxy, no TLS expectations)."""
    return (urlsplit(url).hostname or "") in LOOPBACK


def _excerpt(body: bytes) -> str:
    text = body[:400].decode("utf-8", "replace")
    text = " ".join(text.split())
    return text[:_EXCERPT] + ("…" if len(text) > _EXCERPT else "")


class ClientState(StrEnum):
    """Lifecycle of a client: reuse after close is an error, not a surprise."""

    OPEN = "open"
    CLOSED = "closed"


class BoopClient:
    """REST calls to one BOOP environment.

    ``guard`` (from console.credentials) vets every request before it leaves, e.g.
    live keys never to dev hosts. ``transport`` replaces the network in unit tests.
    """

    def __init__(
        self,
        base_url: str,
        vendor_id: str,
        api_key: str,
        *,
        timeout_s: float = 5.0,
        production: bool = False,
        guard: Guard | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 20,
        name: str = "boop",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.vendor_id = vendor_id
        self._api_key = api_key
        self.timeout_s = timeout_s
        self.production = production
        self.name = name
        self._guard = guard
        self.last_rate_limit = RateLimit()
        """The X-RateLimit-* of the latest response (any status)."""
        self.state = ClientState.OPEN
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            # The deadline is ours (asyncio.timeout); httpx's own timeouts only bound
            # a single read, which a trickling server defeats.
            timeout=httpx.Timeout(None),
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
            ),
            headers={"X-API-Key": api_key, "Accept": "application/json"},
            # Loopback peers (the simulator) must never go through a proxy.
            trust_env=not is_loopback(self.base_url),
        )

    def __repr__(self) -> str:
        return (
            f"BoopClient({self.base_url!r}, vendor={self.vendor_id!r}, "
            f"key={mask(self._api_key)!r}, {self.state})"
        )

    async def __aenter__(self) -> BoopClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool. The client cannot be used afterwards."""
        self.state = ClientState.CLOSED
        await self._http.aclose()

    # -- endpoints -------------------------------------------------------------------

    async def health(self, *, deadline_s: float | None = None) -> Health:
        """GET /health. A 503 raises ServiceUnavailable; ``ok`` is status == 'ok'."""
        result = await self.request("GET", "/health", deadline_s=deadline_s)
        data = result.data if isinstance(result.data, Mapping) else {}
        status = str(data.get("status", ""))
        version = data.get("version")
        return Health(
            ok=status == "ok",
            status=status,
            version=None if version is None else str(version),
            latency_ms=result.elapsed_ms,
            rate_limit=result.rate_limit,
        )

    async def status(self, *, deadline_s: float | None = None) -> Mapping[str, Any]:
        """GET /api/v1/status (undocumented schema: returned as a mapping)."""
        result = await self.request("GET", "/api/v1/status", deadline_s=deadline_s)
        return (
            result.data if isinstance(result.data, Mapping) else {"value": result.data}
        )

    async def create_auth(
        self,
        kind: str = "payment",
        *,
        amount_cents: int | None = None,
        attributes: tuple[str, ...] = (),
        context_id: str | None = None,
        wait: bool = False,
        deadline_s: float | None = None,
    ) -> AuthContext:
        """POST /api/v1/auth/create. ``wait`` is the simulator's synchronous extension
        (the answer carries the final result); real BOOP ignores it."""
        requirements: dict[str, Any] = {"type": kind}
        if amount_cents is not None:
            requirements["amount"] = amount_cents
        if attributes:
            requirements["attributes"] = list(attributes)
        body: dict[str, Any] = {
            "context_id": context_id or f"ctx_{uuid.uuid4().hex[:16]}",
            "requirements": requirements,
        }
        if wait:
            body["wait"] = True
        result = await self.request(
            "POST", "/api/v1/auth/create", json_body=body, deadline_s=deadline_s
        )
        return AuthContext.from_data(result.data)

    async def auth_status(
        self, context_id: str, *, deadline_s: float | None = None
    ) -> AuthContext:
        """GET /api/v1/auth/{context_id}/status."""
        path = f"/api/v1/auth/{context_id}/status"
        result = await self.request("GET", path, deadline_s=deadline_s)
        return AuthContext.from_data(result.data)

    async def cancel_auth(
        self, context_id: str, *, deadline_s: float | None = None
    ) -> AuthContext:
        """POST /api/v1/auth/{context_id}/cancel."""
        path = f"/api/v1/auth/{context_id}/cancel"
        result = await self.request("POST", path, json_body={}, deadline_s=deadline_s)
        return AuthContext.from_data(result.data)

    async def create_test_user(
        self,
        user_id: str,
        attributes: Mapping[str, Any] | None = None,
        *,
        deadline_s: float | None = None,
    ) -> Mapping[str, Any]:
        """POST /api/v1/test-users (development only; refused on production)."""
        if self.production:
            raise DevOnlyError(
                f"Test users exist only in development; {self.name} is production.",
                hint="Use the dev environment's client.",
            )
        body = {"user_id": user_id, "attributes": dict(attributes or {})}
        result = await self.request(
            "POST", "/api/v1/test-users", json_body=body, deadline_s=deadline_s
        )
        return result.data if isinstance(result.data, Mapping) else {}

    # -- the one boundary ------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        deadline_s: float | None = None,
    ) -> ApiResult:
        """Send one request under a total deadline and parse the answer.

        A 429 is retried after Retry-After (or the reset) when that fits in what is
        left of the deadline; otherwise RateLimited is raised at once.
        """
        if self.state is ClientState.CLOSED:
            raise BoopError(
                f"The {self.name} client is closed.", hint="Create a new one."
            )
        deadline = self.timeout_s if deadline_s is None else deadline_s
        url = self.base_url + path
        if self._guard is not None:
            self._guard(url, self.vendor_id, self._api_key)
        loop = asyncio.get_running_loop()
        ends_at = loop.time() + deadline
        try:
            async with asyncio.timeout(deadline):
                for attempt in range(_MAX_RATE_LIMIT_RETRIES + 1):
                    try:
                        return await self._send_once(method, path, json_body)
                    except RateLimited as exc:
                        wait = exc.retry_after_s
                        left = ends_at - loop.time()
                        if (
                            wait is None
                            or wait >= left
                            or attempt == _MAX_RATE_LIMIT_RETRIES
                        ):
                            raise
                        log.info(
                            "%s %s rate limited; retrying in %.2f s", method, path, wait
                        )
                        await asyncio.sleep(wait)
        except TimeoutError:
            raise BoopTimeout(
                f"{method} {url} took longer than its {deadline:g} s deadline.",
                hint="BOOP may be slow or hanging; check /health and the network.",
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_once(self, method: str, path: str, json_body: Any) -> ApiResult:
        started = time.perf_counter()
        request = self._http.build_request(
            method,
            path,
            content=None if json_body is None else json.dumps(json_body).encode(),
            headers={"Content-Type": "application/json"}
            if json_body is not None
            else {},
        )
        try:
            response = await self._http.send(request, stream=True)
            try:
                body = await response.aread()
            finally:
                await response.aclose()
        except httpx.TransportError as exc:
            raise BoopTransportError(
                f"{method} {self.base_url}{path} failed: {type(exc).__name__}: {exc}.",
                hint="Check that BOOP is reachable from this host.",
            ) from exc
        elapsed_ms = (time.perf_counter() - started) * 1000
        rate_limit = RateLimit.from_headers(response.headers)
        self.last_rate_limit = rate_limit
        return self._parse(
            method, path, response.status_code, body, rate_limit, elapsed_ms
        )

    def _parse(
        self,
        method: str,
        path: str,
        status: int,
        body: bytes,
        rate_limit: RateLimit,
        elapsed_ms: float,
    ) -> ApiResult:
        where = f"{method} {path} on {self.name}"
        try:
            doc: Any = json.loads(body) if body.strip() else None
        except ValueError:
            doc = _NOT_JSON
        if doc is _NOT_JSON or (doc is None and status >= 400):
            # A status that says it all keeps its class (a bare 503 is still
            # ServiceUnavailable); anything else, e.g. a proxy's HTML 502 page, is a
            # BadResponse carrying the status and an excerpt, never a JSONDecodeError.
            cls = (
                error_class(status, None) if status in _STATUS_SAYS_ALL else BadResponse
            )
            raise self._error(
                cls,
                f"{where} answered HTTP {status} with a non-JSON body: "
                f"{_excerpt(body)!r}.",
                status=status,
                code=None,
                request_id=None,
                excerpt=_excerpt(body),
                rate_limit=rate_limit,
            )
        enveloped = isinstance(doc, dict) and "success" in doc
        if (enveloped and doc.get("success") is False) or status >= 400:
            err = doc.get("error") if isinstance(doc, dict) else None
            err = err if isinstance(err, dict) else {}
            code = err.get("code")
            message = err.get("message") or f"HTTP {status}"
            meta = doc.get("meta") if isinstance(doc, dict) else None
            request_id = meta.get("request_id") if isinstance(meta, dict) else None
            raise self._error(
                error_class(status, code if isinstance(code, str) else None),
                f"{where} failed: HTTP {status} {code or ''} {message}".replace(
                    "  ", " "
                ),
                status=status,
                code=code if isinstance(code, str) else None,
                request_id=request_id if isinstance(request_id, str) else None,
                excerpt=_excerpt(body),
                rate_limit=rate_limit,
            )
        if enveloped:
            meta = doc.get("meta")
            return ApiResult(
                status=status,
                data=doc.get("data"),
                meta=meta if isinstance(meta, dict) else {},
                rate_limit=rate_limit,
                elapsed_ms=elapsed_ms,
                enveloped=True,
            )
        return ApiResult(
            status=status,
            data=doc,
            meta={},
            rate_limit=rate_limit,
            elapsed_ms=elapsed_ms,
            enveloped=False,
        )

    def _error(
        self,
        cls: type[Any],
        message: str,
        *,
        status: int,
        code: str | None,
        request_id: str | None,
        excerpt: str,
        rate_limit: RateLimit,
    ) -> BoopError:
        if self._api_key:
            # An empty key (the /health probes have none) would match between
            # every character and interleave the mask into the whole message.
            message = message.replace(self._api_key, mask(self._api_key))
        hint = _HINTS.get(status)
        if cls is RateLimited:
            limited = RateLimited(
                message,
                retry_after_s=rate_limit.wait_s(),
                status=status,
                code=code or "RATE_LIMITED",
                request_id=request_id,
                excerpt=excerpt,
                hint=hint,
            )
            limited.rate_limit = rate_limit
            return limited
        error: BoopResponseError = cls(
            message,
            status=status,
            code=code,
            request_id=request_id,
            excerpt=excerpt,
            hint=hint,
        )
        error.rate_limit = rate_limit
        return error


_NOT_JSON = object()
_STATUS_SAYS_ALL = {401, 403, 404, 429, 503}

_HINTS = {
    400: "The request was malformed; this is a console bug worth reporting.",
    401: "Check the API key stored for this environment.",
    403: "This key may not do that here (dev keys on dev, live keys on production).",
    429: "Slow down; the rate limit resets shortly.",
    500: "BOOP failed internally; retry, and check its status page.",
    502: "A proxy in front of BOOP failed; retry shortly.",
    503: "BOOP says it is unavailable; wait and retry.",
}
