"""Per-request routing through a real HAProxy holding the legacy and prod servers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from console.sim.launch import free_port_base
from console.sim.simulator import Simulator
from tests.conftest import require_binary

pytestmark = [pytest.mark.haproxy, pytest.mark.timeout(40)]

CFG = """
global
    maxconn 256
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend vendor
    bind 127.0.0.1:{port}
    default_backend boop_cutover
backend boop_cutover
    balance roundrobin
    server legacy {legacy} weight 75
    server boop {prod} weight 25
"""


def free_port() -> int:
    # Below the ephemeral range: the servers this test starts on port 0 meanwhile
    # cannot be handed the same port.
    return free_port_base(1)


async def test_vendor_load_through_haproxy_follows_its_weights(tmp_path: Path) -> None:
    binary = require_binary("haproxy")
    port = free_port()
    async with Simulator(rate=150, seed=9, proxy_url=f"http://127.0.0.1:{port}") as sim:
        cfg = tmp_path / "haproxy.cfg"
        cfg.write_text(
            CFG.format(port=port, legacy=sim.legacy_url[7:], prod=sim.prod_url[7:])
        )
        pidfile = tmp_path / "haproxy.pid"
        subprocess.run(
            [binary, "-f", str(cfg), "-D", "-p", str(pidfile)],
            check=True,
            capture_output=True,
            timeout=10,
        )
        pid = int(pidfile.read_text().split()[0])
        try:
            await asyncio.sleep(2.5)  # > 200 transactions through the proxy
            async with httpx.AsyncClient(trust_env=False) as client:
                text = (await client.get(sim.metrics_url)).text
        finally:
            os.kill(pid, signal.SIGKILL)
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    share = values[("boop_routing_percent", ())]
    assert 15.0 <= share <= 35.0  # weights 25/100, measured over 200 transactions
    assert values[("boop_auth_requests_total", (("result", "success"),))] > 40
    assert values[("legacy_payments_total", (("result", "success"),))] > 60
