"""console.routing: where the traffic split is applied (file, haproxy, webhook).

:func:`build_router` makes the one the config names.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from console.config import Config
from console.locations import StatePaths
from console.routing.base import Router, RouterState

if TYPE_CHECKING:
    # Importing the webhook router loads httpx; the file router, the default, does
    # not need it, and the TUI's first frame should not wait for it.
    from console.routing.webhook import SecretLookup

__all__ = ["Router", "RouterState", "build_router"]


def build_router(
    config: Config,
    state_paths: StatePaths,
    secret_lookup: SecretLookup | None = None,
) -> Router:
    """The router ``config.router.kind`` names, ready to use."""
    rc = config.router
    if rc.kind == "haproxy":
        from console.routing.haproxy import HAProxyRouter

        assert rc.haproxy is not None  # parse_config guarantees the section
        h = rc.haproxy
        return HAProxyRouter(
            h.socket,
            backend=h.backend,
            legacy_server=h.legacy_server,
            boop_server=h.boop_server,
            max_weight=h.max_weight,
            drain_on_rollback=h.drain_on_rollback,
            server_state_file=h.server_state_file,
            shutdown_sessions_after_s=h.shutdown_sessions_after_s,
            timeout_s=h.timeout_s,
        )
    if rc.kind == "webhook":
        from console.routing.webhook import WebhookRouter

        assert rc.webhook is not None
        return WebhookRouter(rc.webhook, secret_lookup=secret_lookup)
    from console.routing.file import FileRouter

    path = Path(rc.file.path).expanduser() if rc.file.path else state_paths.routing_file
    return FileRouter(path)
