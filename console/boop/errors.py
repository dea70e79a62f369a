"""Errors raised by the BOOP client (REST and vendor stream).

Every failure talking to BOOP is one of these; httpx and websockets exceptions are
translated at one boundary (``client._send`` and ``stream._session``) and chained with
``from``. No message carries an API key in full::

    BoopError (console.errors)
    ├── BoopTransportError          could not reach BOOP (refused, reset, DNS, TLS)
    │   └── BoopTimeout             the call's total deadline passed
    ├── BoopResponseError           BOOP answered with an error status or a bad body
    │   ├── InvalidRequest          400 INVALID_REQUEST
    │   ├── Unauthorized            401 UNAUTHORIZED (key missing or invalid)
    │   ├── Forbidden               403 FORBIDDEN (key not allowed here)
    │   ├── NotFound                404 NOT_FOUND
    │   ├── RateLimited             429 RATE_LIMITED (retry_after_s)
    │   ├── ServerError             500 INTERNAL_ERROR and other 5xx
    │   │   └── ServiceUnavailable  503 (e.g. /health of an unhealthy gateway)
    │   └── BadResponse             a body that is not the documented JSON (HTML 502)
    ├── DevOnlyError                a dev-only call (test users) aimed at production
    └── StreamError                 the vendor WebSocket
        ├── StreamRejected          401/403 in the handshake or a refused hello: stop
        ├── StreamHandshakeError    another HTTP status in the handshake (5xx retried)
        ├── StreamClosed            not connected (a call needs an open stream)
        └── MessageTooBig           the server sent a message over the size limit
"""

from __future__ import annotations

from console.boop.models import RateLimit
from console.errors import BoopError


class BoopTransportError(BoopError):
    """BOOP could not be reached (connection refused or reset, name, TLS)."""

    title = "BOOP unreachable"


class BoopTimeout(BoopTransportError):
    """The call's total deadline passed (connect, send, wait and body read)."""

    title = "BOOP timeout"


class BoopResponseError(BoopError):
    """BOOP answered, with an error: ``status``, ``code`` and a short body excerpt."""

    title = "BOOP error response"

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        request_id: str | None = None,
        excerpt: str = "",
        hint: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.request_id = request_id
        self.excerpt = excerpt
        self.rate_limit: RateLimit | None = None
        """The response's X-RateLimit-* headers, set by the client."""
        super().__init__(message, hint=hint)


class InvalidRequest(BoopResponseError):
    """400 INVALID_REQUEST."""


class Unauthorized(BoopResponseError):
    """401 UNAUTHORIZED: the API key is missing or invalid."""

    title = "BOOP rejected the key"


class Forbidden(BoopResponseError):
    """403 FORBIDDEN: the key may not do this (e.g. a dev key on production)."""

    title = "BOOP refused"


class NotFound(BoopResponseError):
    """404 NOT_FOUND."""


class RateLimited(BoopResponseError):
    """429 RATE_LIMITED; ``retry_after_s`` says when to try again (None: unknown)."""

    title = "BOOP rate limit"

    def __init__(
        self,
        message: str,
        *,
        retry_after_s: float | None,
        status: int = 429,
        code: str | None = "RATE_LIMITED",
        request_id: str | None = None,
        excerpt: str = "",
        hint: str | None = None,
    ) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(
            message,
            status=status,
            code=code,
            request_id=request_id,
            excerpt=excerpt,
            hint=hint,
        )


class ServerError(BoopResponseError):
    """500 INTERNAL_ERROR or another 5xx."""

    title = "BOOP server error"


class ServiceUnavailable(ServerError):
    """503: the gateway says it is not healthy."""

    title = "BOOP unavailable"


class BadResponse(BoopResponseError):
    """The body is not the documented JSON (an HTML error page from a proxy, ...)."""

    title = "BOOP answered nonsense"


class DevOnlyError(BoopError):
    """A development-only call (test users) was aimed at production."""

    title = "Refused on production"


class StreamError(BoopError):
    """Something went wrong on the vendor WebSocket."""

    title = "BOOP stream error"


class StreamRejected(StreamError):
    """BOOP refused the connection (401/403 or a rejected hello). Not retried."""

    title = "BOOP stream rejected"


class StreamHandshakeError(StreamError):
    """The WebSocket handshake got HTTP ``status`` (502/503 are retried)."""

    def __init__(self, message: str, *, status: int, hint: str | None = None) -> None:
        self.status = status
        super().__init__(message, hint=hint)


class StreamClosed(StreamError):
    """The stream is not connected right now."""


class MessageTooBig(StreamError):
    """BOOP sent a message over the configured size limit."""


_BY_STATUS: dict[int, type[BoopResponseError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    429: RateLimited,
    503: ServiceUnavailable,
}

_BY_CODE: dict[str, type[BoopResponseError]] = {
    "INVALID_REQUEST": InvalidRequest,
    "UNAUTHORIZED": Unauthorized,
    "FORBIDDEN": Forbidden,
    "NOT_FOUND": NotFound,
    "RATE_LIMITED": RateLimited,
    "INTERNAL_ERROR": ServerError,
}


def error_class(status: int, code: str | None) -> type[BoopResponseError]:
    """The class for an HTTP status and (optional) documented error code.

    The status decides first (a 503 is ServiceUnavailable whatever the code says);
    a documented code refines an unusual status; any other 5xx is ServerError.
    """
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if code in _BY_CODE:
        return _BY_CODE[code]
    if status >= 500:
        return ServerError
    return BoopResponseError
