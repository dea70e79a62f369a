"""The demo's simulator start: ports picked up front, the process spawned at once,
its ready line read without blocking, and failures said plainly."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from console.demo import SimulatorStart
from console.errors import SimulatorError
from console.locations import StatePaths
from console.sim.launch import free_port_base, read_ready_line, sim_urls

pytestmark = pytest.mark.timeout(60)


def test_free_port_base_gives_four_bindable_ports() -> None:
    base = free_port_base()
    held = []
    try:
        for port in range(base, base + 4):
            sock = socket.socket()
            held.append(sock)
            sock.bind(("127.0.0.1", port))
    finally:
        for sock in held:
            sock.close()
    assert sim_urls(base) == {
        "dev_url": f"http://127.0.0.1:{base}",
        "prod_url": f"http://127.0.0.1:{base + 1}",
        "metrics_url": f"http://127.0.0.1:{base + 3}/metrics",
        "admin_url": f"http://127.0.0.1:{base + 3}/_sim",
    }


def test_simulator_starts_on_the_picked_ports(tmp_path: Path) -> None:
    start = SimulatorStart(paths=StatePaths(tmp_path).ensure(), rate=5.0, scenario=None)
    try:
        assert start.process.poll() is None  # spawned, not waited for
        creds = start.wait()
        assert creds["prod"][1].startswith("sk_live_")
        assert creds["dev"][0].startswith("ven_dev_")
    finally:
        code = start.stop()
    assert code in (0, -15)
    assert start.process.poll() is not None


@pytest.mark.parametrize(
    ("script", "said"),
    [
        ("import sys; sys.exit(3)", "exited with code 3 before ready"),
        ("print('hello')", "did not report ready"),
        ("import time; time.sleep(30)", "not ready within 0.5 s"),
    ],
)
def test_ready_line_failures_are_simulator_errors(script: str, said: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stdin=subprocess.PIPE
    )
    try:
        with pytest.raises(SimulatorError, match=said):
            read_ready_line(proc, 0.5)
        assert proc.poll() is not None  # never left running
    finally:
        proc.kill()
        proc.wait(5)
        for pipe in (proc.stdout, proc.stdin):
            if pipe is not None:
                pipe.close()
