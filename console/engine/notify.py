"""Notifications through apprise, bounded by a deadline, never raising."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from urllib.parse import urlsplit

log = logging.getLogger("console.engine")


def redact_url(url: str) -> str:
    """An apprise URL with everything after the scheme hidden (it holds tokens)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host in ("127.0.0.1", "localhost", "::1"):
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"
    return f"{parts.scheme}://…(redacted)"


class AppriseNotifier:
    """Sends one message to every apprise URL of ``notify.urls``."""

    def __init__(self, urls: Sequence[str], timeout_s: float) -> None:
        self.urls = list(urls)
        self.timeout_s = timeout_s

    async def send(self, title: str, body: str) -> str | None:
        """Send; returns None on success or a one-line problem (no URL secrets)."""
        if not self.urls:
            return "no notify.urls configured"
        import apprise

        apobj = apprise.Apprise()
        for url in self.urls:
            if not apobj.add(url):
                return f"apprise rejected the URL {redact_url(url)}"
        try:
            async with asyncio.timeout(self.timeout_s):
                ok = await apobj.async_notify(body=body, title=title)
        except TimeoutError:
            return f"notification not confirmed within {self.timeout_s:g} s"
        except Exception as exc:  # apprise plugins raise anything; never fail rollback
            log.warning("notification failed: %s", type(exc).__name__)
            return f"notification failed: {type(exc).__name__}"
        return None if ok else "at least one notification target failed"
