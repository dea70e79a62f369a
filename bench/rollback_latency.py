"""Rollback latency: from the rollback call to the router at 0% and read back.

100 trials each with the file router and with a real HAProxy (runtime API over a
unix socket), while the BOOP endpoints and the metrics endpoint hang: a local socket
that accepts connections and never answers. The engine runs with its real runtime
(metrics hub, health probes) pointed at that socket, so the figures show that a
rollback waits for none of it. Everything is on 127.0.0.1 and stops by itself.

Run: ``.venv/bin/python bench/rollback_latency.py`` (prints JSON). Budget: p99 at
most 100 ms.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from console.config import parse_config
from console.engine.runtime import build_engine
from console.locations import StatePaths
from console.routing.base import Router, RouterState
from console.routing.haproxy import HAProxyRouter

TRIALS = 100

HAPROXY_CFG = """
global
    stats socket {dir}/admin.sock mode 600 level admin
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
backend boop_cutover
    balance roundrobin
    server legacy 127.0.0.1:9 weight 100
    server boop 127.0.0.1:9 weight 0
"""


class HangingServer:
    """Accepts TCP connections on 127.0.0.1:0 and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self._stop = threading.Event()
        self.sock.settimeout(0.1)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
                self.held.append(conn)
            except TimeoutError:
                continue
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        self.thread.join(timeout=2)
        for conn in self.held:
            conn.close()
        self.sock.close()


class Timed:
    """Wraps a router and notes when a rollback write returned (read back)."""

    def __init__(self, inner: Router) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.landed: float | None = None

    async def set_percent(
        self, pct: float, *, who: str, reason: str, draining: bool = False
    ) -> RouterState:
        state = await self.inner.set_percent(
            pct, who=who, reason=reason, draining=draining
        )
        if draining and state.effective_pct == 0:
            self.landed = time.perf_counter()
        return state

    async def read(self) -> RouterState:
        return await self.inner.read()

    def describe(self) -> str:
        return self.inner.describe()

    async def close(self) -> None:
        await self.inner.close()


def _config(state_dir: Path, hang_port: int) -> Any:
    hang = f"http://127.0.0.1:{hang_port}"
    return parse_config(
        {
            "environments": {
                "dev": {"base_url": hang, "ws_url": hang.replace("http", "ws")},
                "prod": {
                    "base_url": hang,
                    "ws_url": hang.replace("http", "ws"),
                    "production": True,
                },
            },
            "state_dir": str(state_dir),
            "metrics": {"url": hang + "/metrics", "interval_s": 1.0, "timeout_s": 2.0},
            "probes": {"interval_s": 1.0, "deadline_s": 0.8},
            "rollback": {"inflight_grace_s": 0},
        },
        "bench config",
    )


async def _trials(router: Router, state_dir: Path, hang_port: int) -> list[float]:
    timed = Timed(router)
    engine = build_engine(
        _config(state_dir, hang_port),
        who="bench@127.0.0.1",
        state_paths=StatePaths(state_dir),
        router=timed,
    )
    await engine.start()
    out: list[float] = []
    try:
        for _ in range(TRIALS):
            await engine.shift(5, who="bench", reason="bench", override=True)
            timed.landed = None
            t0 = time.perf_counter()
            result = await engine.rollback(who="bench", reason="bench")
            assert result.ok and timed.landed is not None, result.message
            out.append((timed.landed - t0) * 1000)
            await engine.rearm(who="bench", reason="bench")
    finally:
        await engine.stop()
    return out


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 2),
        "max_ms": round(ordered[-1], 2),
        "trials": len(ordered),
    }


def _start_haproxy(directory: Path) -> int | None:
    binary = shutil.which("haproxy")
    if binary is None:
        return None
    cfg = directory / "haproxy.cfg"
    cfg.write_text(HAPROXY_CFG.format(dir=directory))
    pidfile = directory / "haproxy.pid"
    subprocess.run(
        [binary, "-f", str(cfg), "-D", "-p", str(pidfile)],
        check=True,
        capture_output=True,
        timeout=10,
    )
    deadline = time.monotonic() + 5
    while not (directory / "admin.sock").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return int(pidfile.read_text().split()[0])


def run() -> dict[str, Any]:
    """Measure both routers; returns p50/p99/max in ms per router."""
    hang = HangingServer()
    results: dict[str, Any] = {"boop_endpoint": f"127.0.0.1:{hang.port} (hangs)"}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            from console.routing.file import FileRouter

            state = root / "file"
            results["file"] = _summary(
                asyncio.run(
                    _trials(FileRouter(state / "routing.json"), state, hang.port)
                )
            )
            pid = _start_haproxy(root)
            if pid is None:
                results["haproxy"] = "skipped: haproxy not installed"
            else:
                try:
                    router = HAProxyRouter(str(root / "admin.sock"))
                    results["haproxy"] = _summary(
                        asyncio.run(_trials(router, root / "hx", hang.port))
                    )
                finally:
                    os.kill(pid, signal.SIGKILL)
    finally:
        hang.close()
    return results


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
