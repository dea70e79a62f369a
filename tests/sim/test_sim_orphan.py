"""A simulator started by start_simulator_process never outlives its parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(40)

PARENT = """
import sys, time
from console.sim.simulator import start_simulator_process
sim = start_simulator_process(rate=1)
print(sim.pid, flush=True)
time.sleep(60)
"""


def alive(pid: int) -> bool:
    """Running (a zombie nobody reaps, as under a container's init, is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_sim_child_exits_within_3_s_of_its_parent_being_sigkilled(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "BOOP_CONSOLE_STATE_DIR": str(tmp_path)}
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    sim_pid = 0
    try:
        assert parent.stdout is not None
        sim_pid = int(parent.stdout.readline())
        assert alive(sim_pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(5)
        killed_at = time.monotonic()
        while alive(sim_pid) and time.monotonic() - killed_at < 3.0:
            time.sleep(0.05)
        assert not alive(sim_pid), "the simulator outlived its SIGKILLed parent by 3 s"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()
        if sim_pid and alive(sim_pid):
            os.kill(sim_pid, signal.SIGKILL)
