"""Memory of 24 hours of 1-second metrics: RSS must stay <= 150 MB and flat once full.

Feeds 36 hours (150% of the fine buffer) of one point per second for 16 metric ids
straight into a SeriesStore, after filling a ScrapeSource's raw snapshot history
with a realistic exposition (every documented name, labelled as the simulator does).
Prints and returns RSS at 25/50/75/100/150% of 24 hours.

    .venv/bin/python bench/metrics_memory.py
"""

from __future__ import annotations

import gc
import json
import math
import time
from pathlib import Path

from console.metrics.catalog import CATALOG, ENDPOINT_ERROR_PREFIX
from console.metrics.clock import Clock
from console.metrics.scrape import ScrapeSource
from console.metrics.series import FINE_SLOTS, SeriesStore

METRICS = [m for m in CATALOG if m != "synthetic_auth_pct"] + [
    ENDPOINT_ERROR_PREFIX + "/api/v1/auth"
]
CHECKPOINTS = (0.25, 0.5, 0.75, 1.0, 1.5)
LIMIT_MB = 150.0


def rss_mb() -> float:
    """Resident set size of this process now, in MB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def exposition(n: int) -> str:
    """One scrape of every documented name, with the simulator's labels."""
    lines = []
    for result, share in (("success", 0.995), ("failure", 0.003), ("error", 0.002)):
        lines.append(f'boop_auth_requests_total{{result="{result}"}} {n * share:.0f}')
    for le in ("0.1", "0.25", "0.5", "1.0", "2.0", "3.0", "5.0", "+Inf"):
        lines.append(f'boop_auth_duration_seconds_bucket{{le="{le}"}} {n}')
    lines += [
        f"boop_auth_duration_seconds_count {n}",
        "boop_auth_duration_seconds_sum 1",
    ]
    for system in ("boop", "legacy"):
        for result in ("success", "failed"):
            lines.append(f'{system}_payments_total{{result="{result}"}} {n}')
            lines.append(
                f'{system}_payment_amount_cents_total{{result="{result}"}} {n}'
            )
    for endpoint in ("/health", "/api/v1/auth", "/api/v1/payments"):
        for status in ("200", "500", "503"):
            labels = f'endpoint="{endpoint}",status="{status}"'
            lines.append(f"boop_http_requests_total{{{labels}}} {n}")
        for le in ("0.1", "0.5", "1.0", "+Inf"):
            lines.append(
                "boop_http_request_duration_seconds_bucket"
                f'{{endpoint="{endpoint}",le="{le}"}} {n}'
            )
    lines += ["boop_ws_connections 4", f"boop_ws_reconnects_total {n // 1000}"]
    lines += ["boop_concurrent_users 12", "boop_routing_percent 5"]
    return "\n".join(lines) + "\n"


def run() -> dict[str, object]:
    """Feed the data and measure; returns the figures (also printed as JSON)."""
    gc.collect()
    baseline = rss_mb()
    clock = Clock()
    store = SeriesStore()
    source = ScrapeSource("http://127.0.0.1:9/metrics", clock=clock, store=store)
    t0 = clock.now()
    maxlen = source._history.maxlen or 0
    for i in range(maxlen + 10):
        source._history.append(source._parser.parse(exposition(i * 10), t0 + i))
    after_history = rss_mb()

    total = int(FINE_SLOTS * CHECKPOINTS[-1])
    marks = {int(FINE_SLOTS * c): c for c in CHECKPOINTS}
    figures: dict[str, float] = {}
    started = time.perf_counter()
    add = store.add
    for second in range(1, total + 1):
        t = t0 + second
        value = 50.0 + 10.0 * math.sin(second / 600.0)
        for metric in METRICS:
            add(metric, t, value)
        if second in marks:
            gc.collect()
            figures[f"{marks[second]:.0%}"] = round(rss_mb(), 1)
    elapsed = time.perf_counter() - started

    full, final = figures["100%"], figures["150%"]
    result: dict[str, object] = {
        "metrics": len(METRICS),
        "points_fed": total * len(METRICS),
        "feed_s": round(elapsed, 1),
        "rss_baseline_mb": round(baseline, 1),
        "rss_after_snapshot_history_mb": round(after_history, 1),
        "snapshot_history": maxlen,
        "rss_mb": figures,
        "growth_100_to_150_mb": round(final - full, 1),
        "limit_mb": LIMIT_MB,
        "ok": max(figures.values()) <= LIMIT_MB and final - full <= 2.0,
    }
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
