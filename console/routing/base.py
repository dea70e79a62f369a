"""The router contract: how the console moves the traffic split.

A router holds one number, the percentage of new transactions that go to BOOP; the
rest go to the previous (legacy) payment system. Every write is read back, and both
the requested and the effective value are reported. Routers never talk to BOOP.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class RouterState:
    """What a router reported when it was last read."""

    effective_pct: float | None
    """The split the router really applies now (None when it could not be read)."""
    requested_pct: float | None = None
    """The split this console last asked for, if any."""
    generation: int = 0
    """Increases with every write the console makes."""
    detail: str = ""
    """Router-specific facts, e.g. 'boop weight 5/100, legacy 95/100, boop ready'."""
    read_at: float = field(default_factory=time.time)
    error: str | None = None
    """Set when the read failed; effective_pct is then None."""

    @property
    def drift(self) -> bool:
        """The router applies something other than what was requested."""
        return (
            self.requested_pct is not None
            and self.effective_pct is not None
            and abs(self.requested_pct - self.effective_pct) > 0.5
        )


class Router(Protocol):
    """Implemented by FileRouter, HAProxyRouter and WebhookRouter."""

    kind: str

    async def set_percent(
        self, pct: float, *, who: str, reason: str, draining: bool = False
    ) -> RouterState:
        """Write the split, then read it back. Raises RouterError on failure.

        ``draining`` is set by rollback: the router lets in-flight work on the BOOP
        side finish (HAProxy: the boop server goes to drain) instead of cutting it.
        """
        ...

    async def read(self) -> RouterState:
        """Read the effective split. Raises RouterError when it cannot."""
        ...

    def describe(self) -> str:
        """One line for the UI: 'file /var/lib/.../routing.json', 'haproxy ...'."""
        ...

    async def close(self) -> None: ...
