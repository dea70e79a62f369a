"""The HAProxy router: absolute weights over two servers of one backend.

Talks to the runtime API (``stats socket ... level admin``), one command per
connection, reading the reply to EOF. The BOOP share ``pct`` becomes
``boop = round(pct * max_weight / 100)`` and ``legacy = max_weight - boop``. A
rollback also puts the boop server in ``drain`` so open connections finish while no
new ones arrive; any later write that is not a rollback puts it back to ``ready``.
Weights set at runtime are lost on reload unless saved: with ``server_state_file``
the router writes ``show servers state`` there after every change, and a
``load-server-state-from-file`` in haproxy.cfg restores it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace
from pathlib import Path

from console.errors import RouterError
from console.routing.atomic import write_bytes_atomic
from console.routing.base import RouterState

log = logging.getLogger("console.routing")

# srv_admin_state bits (haproxy/include/haproxy/server-t.h): any maintenance or
# drain flag means the server takes no new traffic whatever its weight.
_ADMIN_MAINT = 0x01 | 0x02 | 0x04 | 0x20
_ADMIN_DRAIN = 0x08 | 0x10 | 0x40


class HAProxyError(RouterError):
    """The HAProxy runtime API refused a command or could not be reached."""


@dataclass(frozen=True)
class ServerState:
    """One row of ``show servers state``."""

    name: str
    op_state: int
    admin_state: int
    weight: int

    @property
    def mode(self) -> str:
        if self.admin_state & _ADMIN_MAINT:
            return "maint"
        if self.admin_state & _ADMIN_DRAIN:
            return "drain"
        return "ready" if self.op_state != 0 else "down"

    @property
    def takes_new(self) -> int:
        """The weight new connections see: 0 when in drain, maintenance or down."""
        return self.weight if self.mode == "ready" else 0


def parse_servers_state(text: str) -> dict[str, ServerState]:
    """Parse ``show servers state BK`` into rows by server name."""
    header: list[str] = []
    rows: dict[str, ServerState] = {}
    for line in text.splitlines():
        if line.startswith("# "):
            header = line[2:].split()
            continue
        fields = line.split()
        if not header or len(fields) < len(header) - 2 or not fields[0].isdigit():
            continue
        row = dict(zip(header, fields, strict=False))
        try:
            rows[row["srv_name"]] = ServerState(
                name=row["srv_name"],
                op_state=int(row["srv_op_state"]),
                admin_state=int(row["srv_admin_state"]),
                weight=int(row["srv_uweight"]),
            )
        except (KeyError, ValueError):
            continue
    return rows


def weights_for(pct: float, max_weight: int) -> tuple[int, int]:
    """(boop, legacy) absolute weights for a BOOP share in percent."""
    boop = round(pct * max_weight / 100)
    return boop, max_weight - boop


class HAProxyRouter:
    """Routes by setting absolute weights through HAProxy's runtime API."""

    kind = "haproxy"

    def __init__(
        self,
        socket: str,
        *,
        backend: str = "boop_cutover",
        legacy_server: str = "legacy",
        boop_server: str = "boop",
        max_weight: int = 100,
        drain_on_rollback: bool = True,
        server_state_file: str | None = None,
        shutdown_sessions_after_s: float | None = None,
        timeout_s: float = 2.0,
    ) -> None:
        self.socket = socket
        self.backend = backend
        self.legacy = legacy_server
        self.boop = boop_server
        self.max_weight = max_weight
        self.drain_on_rollback = drain_on_rollback
        self.server_state_file = Path(server_state_file) if server_state_file else None
        self.timeout_s = timeout_s
        self.cut_after_s = shutdown_sessions_after_s
        """Seconds after a rollback's drain to cut boop sessions (None: never)."""
        self._requested: float | None = None
        self._generation = 0

    def describe(self) -> str:
        return f"haproxy {self.socket} backend {self.backend}"

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.socket.startswith("/") or self.socket.startswith("unix@"):
            return await asyncio.open_unix_connection(self.socket.removeprefix("unix@"))
        host, _, port = self.socket.rpartition(":")
        return await asyncio.open_connection(host or "127.0.0.1", int(port))

    async def command(self, cmd: str) -> str:
        """Send one runtime API command and return its reply (read to EOF)."""
        try:
            async with asyncio.timeout(self.timeout_s):
                reader, writer = await self._open()
                try:
                    writer.write(cmd.encode("ascii") + b"\n")
                    await writer.drain()
                    reply = await reader.read()
                finally:
                    writer.close()
                    with contextlib.suppress(OSError):
                        await writer.wait_closed()
        except TimeoutError:
            raise HAProxyError(
                f"HAProxy at {self.socket} did not answer {cmd.split()[0]!r} "
                f"within {self.timeout_s:g} s.",
                hint="Check that haproxy runs and its stats socket is reachable.",
            ) from None
        except (OSError, ValueError) as exc:
            raise HAProxyError(
                f"Cannot reach the HAProxy runtime API at {self.socket}: {exc}.",
                hint="Check router.haproxy.socket and that haproxy runs.",
            ) from exc
        text = reply.decode("utf-8", "replace").strip()
        self._check_reply(cmd, text)
        return text

    def _check_reply(self, cmd: str, text: str) -> None:
        if "Permission denied" in text:
            raise HAProxyError(
                f"HAProxy refused {cmd!r}: Permission denied.",
                hint="The stats socket must be at 'level admin' "
                "(stats socket PATH mode 600 level admin).",
            )
        if "static" in text.lower() and "weight" in cmd:
            raise HAProxyError(
                f"Backend {self.backend} uses a static balance algorithm, which "
                "accepts only 0% or 100%.",
                hint="Use 'balance roundrobin' or 'leastconn' for a staged shift.",
            )
        if text.startswith("No such") or "Unknown" in text or "expects" in text:
            raise HAProxyError(
                f"HAProxy refused {cmd!r}: {text.splitlines()[0]}",
                hint="Check router.haproxy backend and server names.",
            )

    async def servers(self) -> dict[str, ServerState]:
        """The backend's servers as HAProxy reports them now."""
        text = await self.command(f"show servers state {self.backend}")
        rows = parse_servers_state(text)
        for name in (self.legacy, self.boop):
            if name not in rows:
                raise HAProxyError(
                    f"HAProxy backend {self.backend} has no server {name!r}.",
                    hint="Check router.haproxy.legacy_server and boop_server.",
                )
        return rows

    def _state(self, rows: dict[str, ServerState]) -> RouterState:
        boop, legacy = rows[self.boop], rows[self.legacy]
        total = boop.takes_new + legacy.takes_new
        pct = 100.0 * boop.takes_new / total if total else 0.0
        detail = (
            f"boop weight {boop.weight}/{self.max_weight} ({boop.mode}), "
            f"legacy {legacy.weight}/{self.max_weight} ({legacy.mode})"
        )
        return RouterState(
            effective_pct=pct,
            requested_pct=self._requested,
            generation=self._generation,
            detail=detail,
        )

    async def _set_weight(self, server: str, weight: int, pct_fallback: str) -> None:
        try:
            await self.command(f"set server {self.backend}/{server} weight {weight}")
        except HAProxyError as exc:
            # Static algorithms take only 0% or 100% (relative to the initial
            # weight): a rollback and a full switch still work through them.
            if "static" not in str(exc) or pct_fallback not in ("0%", "100%"):
                raise
            await self.command(
                f"set server {self.backend}/{server} weight {pct_fallback}"
            )

    async def set_percent(
        self, pct: float, *, who: str, reason: str, draining: bool = False
    ) -> RouterState:
        """Set both weights (boop first when lowering), drain on rollback, read back."""
        self._requested = pct
        self._generation += 1
        boop_w, legacy_w = weights_for(pct, self.max_weight)
        boop_fb = "0%" if boop_w == 0 else "100%" if legacy_w == 0 else "?"
        legacy_fb = "0%" if legacy_w == 0 else "100%" if boop_w == 0 else "?"
        await self._set_weight(self.boop, boop_w, boop_fb)
        if draining and self.drain_on_rollback:
            await self.command(f"set server {self.backend}/{self.boop} state drain")
        await self._set_weight(self.legacy, legacy_w, legacy_fb)
        if not draining:
            await self.command(f"set server {self.backend}/{self.boop} state ready")
        state = self._state(await self.servers())
        log.info(
            "haproxy router: boop %.4g%% by %s (%s); %s", pct, who, reason, state.detail
        )
        if self.server_state_file is not None:
            try:
                await self.save_state()
            except HAProxyError as exc:
                # The split is applied: report the unsaved file, do not fail the write.
                log.warning("%s", exc)
                state = replace(state, detail=f"{state.detail}; state file NOT saved")
        return state

    async def save_state(self) -> None:
        """Write ``show servers state`` so a reload keeps the runtime weights."""
        assert self.server_state_file is not None
        text = await self.command("show servers state")
        try:
            await asyncio.to_thread(
                write_bytes_atomic, self.server_state_file, (text + "\n").encode()
            )
        except OSError as exc:
            raise HAProxyError(
                f"Weights are set, but saving {self.server_state_file} failed: {exc}.",
                hint="A reload of haproxy would undo them; check the path.",
            ) from exc

    async def cut_sessions(self) -> None:
        """Close every session still open on the boop server."""
        await self.command(f"shutdown sessions server {self.backend}/{self.boop}")
        log.info("haproxy router: open sessions on %s/%s cut", self.backend, self.boop)

    async def read(self) -> RouterState:
        """Read both servers' weights and states back."""
        return self._state(await self.servers())

    async def close(self) -> None:
        return None
