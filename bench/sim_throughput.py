"""How many contexts per second the simulator's vendor load sustains on loopback.

Runs the in-process simulator with the routing file at a given BOOP share, asks for
``rate`` contexts/s for ``seconds``, and reports what was achieved (sent, completed,
process CPU). Not a test: run it by hand, ``python bench/sim_throughput.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from console.sim.simulator import Simulator


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _measure(rate: float, seconds: float, boop_percent: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        routing = Path(tmp) / "routing.json"
        routing.write_text(json.dumps({"boop_percent": boop_percent}))
        async with Simulator(routing_file=routing, rate=rate, seed=1) as sim:
            assert sim.vendor is not None
            await asyncio.sleep(1.5)  # connect and reach steady state
            sent0, done0 = sim.vendor.sent, sim.vendor.completed
            cpu0, t0 = _cpu_s(), time.perf_counter()
            await asyncio.sleep(seconds)
            elapsed = time.perf_counter() - t0
            cpu = _cpu_s() - cpu0
            sent = sim.vendor.sent - sent0
            done = sim.vendor.completed - done0
    return {
        "requested_per_s": rate,
        "boop_percent": boop_percent,
        "seconds": round(elapsed, 2),
        "sent_per_s": round(sent / elapsed, 1),
        "completed_per_s": round(done / elapsed, 1),
        "cpu_pct_of_one_core": round(100 * cpu / elapsed, 1),
    }


def run(
    rate: float = 500.0, seconds: float = 10.0, boop_percent: float = 50.0
) -> dict[str, Any]:
    """Measure once; returns the figures as a dict."""
    return asyncio.run(_measure(rate, seconds, boop_percent))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--boop-percent", type=float, default=50.0)
    args = parser.parse_args(argv)
    figures = run(args.rate, args.seconds, args.boop_percent)
    for key, value in figures.items():
        print(f"{key:<22} {value}")
    ok = figures["completed_per_s"] >= 0.95 * args.rate
    print("sustained" if ok else "NOT sustained")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
