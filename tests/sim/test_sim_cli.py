"""`boop-console sim` as a subprocess: ready lines, /health, faults, clean stop."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from console.sim.simulator import start_simulator_process

pytestmark = pytest.mark.timeout(40)

BIN = Path(sys.executable).parent / "boop-console"
SERVICES = ["dev BOOP", "prod BOOP", "legacy payments", "vendor app metrics", "admin"]


def read_lines(proc: subprocess.Popen[bytes], count: int, timeout: float) -> list[str]:
    """Read ``count`` lines, without the buffering that hides lines from select()."""
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    buf = b""
    ends = time.monotonic() + timeout
    while buf.count(b"\n") < count and sel.select(max(0.0, ends - time.monotonic())):
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
    sel.close()
    return buf.decode().splitlines()[:count]


def test_sim_command_prints_services_answers_and_stops_on_sigint(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "BOOP_CONSOLE_STATE_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [str(BIN), "sim", "--rate", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        lines = read_lines(proc, 6, timeout=15)
        assert [line[:20].strip() for line in lines[:5]] == SERVICES
        urls = {
            name: line[20:].strip() for name, line in zip(SERVICES, lines, strict=False)
        }
        assert all(u.startswith("http://127.0.0.1:") for u in urls.values())
        assert lines[5].startswith("credentials")
        assert "sk_live_…" in lines[5]
        health = httpx.get(urls["prod BOOP"] + "/health", timeout=2, trust_env=False)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        state = json.loads((tmp_path / "sim.json").read_text())
        assert state["admin_url"] == urls["admin"]
        # `sim fault` and `sim clear` find the running simulator from sim.json.
        fault = subprocess.run(
            [str(BIN), "sim", "fault", "prod", "outage", "--for", "30"],
            capture_output=True,
            text=True,
            env=env,
            timeout=15,
        )
        assert fault.returncode == 0, fault.stderr
        assert json.loads(fault.stdout)["fault"]["kind"] == "outage"
        down = httpx.get(urls["prod BOOP"] + "/health", timeout=2, trust_env=False)
        assert down.status_code == 503
        clear = subprocess.run(
            [str(BIN), "sim", "clear"],
            capture_output=True,
            text=True,
            env=env,
            timeout=15,
        )
        assert json.loads(clear.stdout) == {"cleared": 1}
        bad = subprocess.run(
            [str(BIN), "sim", "fault", "prod", "meteor"],
            capture_output=True,
            text=True,
            env=env,
            timeout=15,
        )
        assert bad.returncode == 1 and "unknown fault kind" in bad.stderr
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert not (tmp_path / "sim.json").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_start_simulator_process_json_and_stop(tmp_path: Path) -> None:
    routing = tmp_path / "routing.json"
    routing.write_text(json.dumps({"boop_percent": 100}))
    env = {**os.environ, "BOOP_CONSOLE_STATE_DIR": str(tmp_path)}
    sim = start_simulator_process(routing_file=routing, rate=50, seed=3, env=env)
    try:
        vendor, key = sim.credentials["prod"]
        assert vendor.startswith("ven_live_") and key.startswith("sk_live_")
        assert sim.credentials["dev"][1].startswith("sk_dev_")
        assert (
            sim.info["prod_ws_url"] == sim.prod_url.replace("http", "ws") + "/ws/vendor"
        )
        r = httpx.get(
            sim.prod_url + "/api/v1/status",
            headers={"X-API-Key": key},
            timeout=2,
            trust_env=False,
        )
        assert r.json()["data"]["environment"] == "prod"
        time.sleep(1.0)
        text = httpx.get(sim.metrics_url, timeout=2, trust_env=False).text
        assert "boop_auth_requests_total" in text
        assert "_created" not in text  # exactly the documented names
    finally:
        code = sim.stop()
    assert code == 0
