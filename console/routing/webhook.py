"""The webhook router: any HTTP endpoint (a feature-flag service, an admin API).

A write sends ``body_template`` with ``{percent}`` and ``{generation}`` filled in;
the read-back is a GET of ``read_url`` (default: the write URL) whose JSON holds the
percentage at the dotted path ``read_field``. The auth header's value comes from the
console's secret store by name and never appears in a message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from console.config import WebhookRouterConfig
from console.errors import RouterError
from console.routing.base import RouterState

log = logging.getLogger("console.routing")

SecretLookup = Callable[[str], str | None]

SECRET_ENV_PREFIX = "BOOP_CONSOLE_SECRET_"
SECRET_KEYRING_PREFIX = "secret/"
"""A named secret lives in the environment variable BOOP_CONSOLE_SECRET_<NAME>
(checked first), else in the keyring item ``secret/<name>`` of the credential
store's service (``[credentials] service``)."""


def secret_env_var(name: str) -> str:
    """The environment variable holding secret ``name``: BOOP_CONSOLE_SECRET_<NAME>,
    upper case, every character other than a letter or digit as ``_``."""
    return SECRET_ENV_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def secret_hint(name: str) -> str:
    """Where to put secret ``name`` so that the console finds it."""
    return (
        f"Store it with `boop-console creds set-secret {name}` (keyring item "
        f"'{SECRET_KEYRING_PREFIX}{name}'), or export {secret_env_var(name)}."
    )


def _safe_url(url: str) -> str:
    """The URL without credentials or query (they may carry tokens)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _dig(doc: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        if not isinstance(doc, dict) or key not in doc:
            return None
        doc = doc[key]
    return doc


class WebhookRouter:
    """Routes by calling an HTTP endpoint, then reading it back with a GET."""

    kind = "webhook"

    def __init__(
        self,
        config: WebhookRouterConfig,
        *,
        secret_lookup: SecretLookup | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self._secret_lookup = secret_lookup
        self._client = httpx.AsyncClient(
            timeout=config.timeout_s, trust_env=False, transport=transport
        )
        self._requested: float | None = None
        self._generation = 0

    def describe(self) -> str:
        return f"webhook {self.config.method} {_safe_url(self.config.url)}"

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        name = self.config.auth_secret
        if name:
            value = self._secret_lookup(name) if self._secret_lookup else None
            if not value:
                raise RouterError(
                    f"The webhook router needs the secret {name!r}, which is not set.",
                    hint=secret_hint(name),
                )
            headers[self.config.auth_header] = value
        return headers

    def _body(self, pct: float) -> bytes:
        pct_text = f"{pct:g}"
        text = self.config.body_template.replace("{percent}", pct_text).replace(
            "{generation}", str(self._generation)
        )
        try:
            json.loads(text)
        except ValueError as exc:
            raise RouterError(
                f"router.webhook.body_template does not give JSON: {exc}.",
                hint='Example: {"boop_percent": {percent}}',
            ) from None
        return text.encode("utf-8")

    async def _call(self, method: str, url: str, body: bytes | None) -> httpx.Response:
        try:
            async with asyncio.timeout(self.config.timeout_s):
                resp = await self._client.request(
                    method, url, content=body, headers=self._headers()
                )
        except TimeoutError:
            raise RouterError(
                f"Webhook {method} {_safe_url(url)} took longer than "
                f"{self.config.timeout_s:g} s."
            ) from None
        except httpx.HTTPError as exc:
            raise RouterError(
                f"Webhook {method} {_safe_url(url)} failed: {type(exc).__name__}.",
                hint="Check router.webhook.url and that the service runs.",
            ) from exc
        if resp.status_code >= 300:
            raise RouterError(
                f"Webhook {method} {_safe_url(url)} answered HTTP {resp.status_code}.",
                hint="401/403: check the auth secret; 404: check the URL.",
            )
        return resp

    async def set_percent(
        self, pct: float, *, who: str, reason: str, draining: bool = False
    ) -> RouterState:
        """Send the split, then read it back with a GET."""
        self._requested = pct
        self._generation += 1
        await self._call(self.config.method, self.config.url, self._body(pct))
        state = await self.read()
        log.info("webhook router: boop %.4g%% by %s (%s)", pct, who, reason)
        return state

    async def read(self) -> RouterState:
        """GET the read URL and take the percentage at read_field."""
        url = self.config.read_url or self.config.url
        resp = await self._call("GET", url, None)
        try:
            value = _dig(resp.json(), self.config.read_field)
        except ValueError:
            value = None
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise RouterError(
                f"Webhook GET {_safe_url(url)} has no number at "
                f"{self.config.read_field!r}.",
                hint="Check router.webhook.read_field (a dotted path).",
            )
        return RouterState(
            effective_pct=float(value),
            requested_pct=self._requested,
            generation=self._generation,
            detail=f"webhook {_safe_url(url)} {self.config.read_field}={value:g}",
        )

    async def close(self) -> None:
        await self._client.aclose()
