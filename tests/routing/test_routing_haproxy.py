"""The HAProxy router against a real haproxy on 127.0.0.1 (admin unix socket)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.errors import RouterError
from console.routing.haproxy import HAProxyRouter, weights_for
from tests.conftest import require_binary

pytestmark = [pytest.mark.haproxy, pytest.mark.timeout(60)]

CFG = """
global
    stats socket {dir}/admin.sock mode 600 level admin
    stats socket {dir}/user.sock mode 600 level user
    server-state-file {dir}/server-state
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
    load-server-state-from-file global
backend boop_cutover
    balance roundrobin
    server legacy 127.0.0.1:9 weight 100
    server boop 127.0.0.1:9 weight 0
backend static_bk
    balance source
    server legacy 127.0.0.1:9 weight 100
    server boop 127.0.0.1:9 weight 0
"""


def _alive(pid: int) -> bool:
    """Running and not a zombie (a daemonised haproxy may go unreaped here)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class HAProxy:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.cfg = directory / "haproxy.cfg"
        self.cfg.write_text(CFG.format(dir=directory))
        self.pidfile = directory / "haproxy.pid"
        self.pid = 0

    def start(self) -> None:
        binary = require_binary("haproxy")
        subprocess.run(
            [binary, "-f", str(self.cfg), "-D", "-p", str(self.pidfile)],
            check=True,
            capture_output=True,
            timeout=10,
        )
        self.pid = int(self.pidfile.read_text().split()[0])
        deadline = time.monotonic() + 5
        while not (self.dir / "admin.sock").exists():
            assert time.monotonic() < deadline, "haproxy admin socket did not appear"
            time.sleep(0.02)

    def stop(self, *, hard: bool = False) -> None:
        if not self.pid:
            return
        os.kill(self.pid, signal.SIGKILL if hard else signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if not _alive(self.pid):
                break
            time.sleep(0.02)
        else:
            os.kill(self.pid, signal.SIGKILL)
        self.pid = 0
        (self.dir / "admin.sock").unlink(missing_ok=True)


@pytest.fixture
def haproxy(tmp_path: Path) -> Iterator[HAProxy]:
    proxy = HAProxy(tmp_path)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop(hard=True)


def router(proxy: HAProxy, **kwargs: object) -> HAProxyRouter:
    return HAProxyRouter(str(proxy.dir / "admin.sock"), **kwargs)  # type: ignore[arg-type]


def test_weights_are_absolute_and_share_max_weight() -> None:
    assert weights_for(5, 100) == (5, 95)
    assert weights_for(25, 256) == (64, 192)
    assert weights_for(0, 100) == (0, 100)


async def test_set_read_back_drain_and_ready(haproxy: HAProxy) -> None:
    r = router(haproxy)
    state = await r.set_percent(5, who="a@b", reason="start")
    assert state.effective_pct == 5.0
    assert state.detail == "boop weight 5/100 (ready), legacy 95/100 (ready)"
    assert await r.command("get weight boop_cutover/boop") == "5 (initial 0)"

    rolled = await r.set_percent(0, who="a@b", reason="rollback", draining=True)
    assert rolled.effective_pct == 0.0
    assert rolled.detail == "boop weight 0/100 (drain), legacy 100/100 (ready)"

    rearmed = await r.set_percent(0, who="a@b", reason="rearm")
    assert rearmed.detail == "boop weight 0/100 (ready), legacy 100/100 (ready)"


async def test_drift_is_visible_in_read(haproxy: HAProxy) -> None:
    r = router(haproxy)
    await r.set_percent(10, who="a@b", reason="go")
    await r.command("set server boop_cutover/boop weight 50")  # someone else
    state = await r.read()
    assert state.requested_pct == 10
    assert state.effective_pct == pytest.approx(100 * 50 / 140)
    assert state.drift


async def test_reload_keeps_a_rollback_through_the_server_state_file(
    haproxy: HAProxy,
) -> None:
    r = router(haproxy, server_state_file=str(haproxy.dir / "server-state"))
    await r.set_percent(25, who="a@b", reason="go")
    await r.set_percent(0, who="a@b", reason="rollback", draining=True)
    haproxy.stop()
    haproxy.start()
    state = await router(haproxy).read()
    assert state.effective_pct == 0.0
    assert state.detail == "boop weight 0/100 (drain), legacy 100/100 (ready)"


async def test_permission_denied_and_static_algorithm_messages(
    haproxy: HAProxy,
) -> None:
    user = HAProxyRouter(str(haproxy.dir / "user.sock"))
    with pytest.raises(RouterError, match="Permission denied") as info:
        await user.set_percent(5, who="a@b", reason="go")
    assert "level admin" in str(info.value)

    static = router(haproxy, backend="static_bk")
    with pytest.raises(RouterError, match="static balance algorithm"):
        await static.set_percent(5, who="a@b", reason="go")
    # Rollback still works there: 0% and 100% are accepted.
    state = await static.set_percent(0, who="a@b", reason="rollback", draining=True)
    assert state.effective_pct == 0.0


async def test_unreachable_socket_and_unknown_server(tmp_path: Path) -> None:
    missing = HAProxyRouter(str(tmp_path / "nope.sock"), timeout_s=0.5)
    with pytest.raises(RouterError, match="Cannot reach the HAProxy runtime API"):
        await missing.read()


async def test_unknown_backend_is_named(haproxy: HAProxy) -> None:
    r = router(haproxy, boop_server="bop")
    with pytest.raises(RouterError, match="HAProxy refused"):
        await r.set_percent(5, who="a@b", reason="go")


async def test_engine_rollback_drains_cuts_sessions_and_sees_drift(
    haproxy: HAProxy, tmp_path: Path
) -> None:
    import asyncio

    from console.config import parse_config
    from console.engine.engine import Engine
    from console.locations import StatePaths

    env = {"base_url": "http://127.0.0.1:9", "ws_url": "ws://127.0.0.1:9"}
    config = parse_config(
        {
            "environments": {"dev": env, "prod": {**env, "production": True}},
            "state_dir": str(tmp_path / "state"),
            "guide_gates": False,
            "gates": {},
            "rollback": {"inflight_grace_s": 5},
        }
    )
    r = router(haproxy, shutdown_sessions_after_s=0.0)
    engine = Engine(
        config,
        paths=StatePaths(tmp_path / "state").ensure(),
        router=r,
        who="ana@jump1",
        tick_s=0.02,
        router_poll_s=0.05,
    )
    await engine.start()
    try:
        assert (await engine.shift(10, who="ana@jump1", reason="go", override=True)).ok
        await r.command("set server boop_cutover/boop weight 40")  # behind our back
        deadline = time.monotonic() + 5
        while not any(w.startswith("drift:") for w in engine.snapshot().warnings):
            assert time.monotonic() < deadline, "drift not raised"
            await asyncio.sleep(0.02)
        assert (await engine.rollback(who="ana@jump1", reason="drill")).ok
        steps = engine.snapshot().rollback_steps
    finally:
        await engine.stop()
    assert steps[1].detail == "open sessions cut after 0 s"
    assert steps[2].detail == "boop weight 0/100 (drain), legacy 100/100 (ready)"
