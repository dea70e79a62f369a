"""Notifications through apprise, bounded by a deadline, never raising."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Sequence
from typing import Any
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


def _load_apprise(urls: Sequence[str]) -> tuple[Any, str | None]:
    """Build the Apprise object; blocking (apprise imports its plugins lazily)."""
    with warnings.catch_warnings():
        # apprise 2.3 imports the stdlib imghdr, deprecated since 3.11: harmless here.
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise

        apobj = apprise.Apprise()
        for url in urls:
            if not apobj.add(url):
                return apobj, url
    return apobj, None


KINDS = ("info", "success", "warning", "failure")


def _notify_type(kind: str) -> Any:
    """apprise's NotifyType for ``kind`` (unknown kinds are info)."""
    from apprise import NotifyType

    return NotifyType(kind if kind in KINDS else "info")


class AppriseNotifier:
    """Sends one message to every apprise URL of ``notify.urls``."""

    def __init__(self, urls: Sequence[str], timeout_s: float) -> None:
        self.urls = list(urls)
        self.timeout_s = timeout_s

    def _build(self) -> tuple[Any, str | None]:
        return _load_apprise(self.urls)

    async def send(self, title: str, body: str, kind: str = "info") -> str | None:
        """Send with severity ``kind`` ("info", "success", "warning", "failure");
        returns None on success or a one-line problem (no URL secrets)."""
        if not self.urls:
            return "no notify.urls configured"
        apobj, rejected = await asyncio.to_thread(self._build)
        if rejected is not None:
            return f"apprise rejected the URL {redact_url(rejected)}"
        try:
            async with asyncio.timeout(self.timeout_s):
                ok = await apobj.async_notify(
                    body=body, title=title, notify_type=_notify_type(kind)
                )
        except TimeoutError:
            return f"notification not confirmed within {self.timeout_s:g} s"
        except Exception as exc:  # apprise plugins raise anything; never fail rollback
            log.warning("notification failed: %s", type(exc).__name__)
            return f"notification failed: {type(exc).__name__}"
        return None if ok else "at least one notification target failed"
