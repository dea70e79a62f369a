"""Fakes and builders shared by the engine tests (not a conftest: explicit imports)."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from console.config import Config, parse_config
from console.engine.engine import Engine
from console.engine.model import ChecklistSummary
from console.errors import MetricsError
from console.locations import StatePaths
from console.metrics.base import Measurement
from console.routing.file import FileRouter


class FakeMetrics:
    """A metrics source whose values the test sets directly."""

    def __init__(self) -> None:
        self.values: dict[str, float | None] = {}
        self.samples = 100
        self.age_s: float | None = 0.5
        self.fail = False
        self.hang = False
        self.polls = 0

    async def poll(self) -> None:
        self.polls += 1
        if self.hang:
            await asyncio.sleep(3600)
        if self.fail:
            raise MetricsError("scrape of 127.0.0.1 failed: connection refused")

    def measure(self, metric: str, window_s: float, now: float) -> Measurement:
        value = self.values.get(metric)
        return Measurement(metric, value, window_s, self.samples, self.age_s)

    def series(self, metric: str, since: float) -> Sequence[tuple[float, float]]:
        value = self.values.get(metric)
        return [(since + 1, value)] if value is not None else []

    async def close(self) -> None:
        return None


class FakeChecklist:
    def __init__(self, blockers: list[str] | None = None) -> None:
        self.blockers = blockers or []

    def premigration_blockers(self) -> list[str]:
        return list(self.blockers)

    def summary(self) -> ChecklistSummary | None:
        return ChecklistSummary(0, len(self.blockers), not self.blockers)


def make_config(state_dir: Path, **overrides: Any) -> Config:
    """A config with one quick gate on auth_success_pct > 99.5 and tiny holds."""
    data: dict[str, Any] = {
        "environments": {
            "dev": {"base_url": "http://127.0.0.1:9", "ws_url": "ws://127.0.0.1:9"},
            "prod": {
                "base_url": "http://127.0.0.1:9",
                "ws_url": "ws://127.0.0.1:9",
                "production": True,
            },
        },
        "state_dir": str(state_dir),
        "plan": {"levels": [5, 10, 25, 50, 100], "hold_s": 0.2, "warmup_s": 0},
        "guide_gates": False,
        "gates": {
            "auth_success": {
                "metric": "auth_success_pct",
                "op": ">",
                "threshold": 99.5,
                "window_s": 1,
                "interval_s": 0.05,
                "breaches": 2,
                "min_samples": 5,
            }
        },
        "metrics": {"interval_s": 0.05, "stale_after_s": 5},
        "rollback": {"inflight_grace_s": 0.2},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return parse_config(data, "test config")


def make_engine(
    state_dir: Path,
    *,
    metrics: FakeMetrics | None = None,
    who: str = "ana@jump1",
    config: Config | None = None,
    **kwargs: Any,
) -> Engine:
    config = config or make_config(state_dir)
    paths = StatePaths(state_dir).ensure()
    return Engine(
        config,
        paths=paths,
        router=FileRouter(paths.routing_file),
        who=who,
        metrics=metrics,
        tick_s=0.02,
        lease_retry_s=0.05,
        router_poll_s=0.05,
        **kwargs,
    )


def routing_pct(state_dir: Path) -> float:
    doc = json.loads((state_dir / "routing.json").read_text())
    return float(doc["boop_percent"])


class _Receiver(http.server.BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.server.bodies.append(json.loads(self.rfile.read(length)))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


@contextmanager
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A JSON receiver on 127.0.0.1:0 (for apprise json:// URLs)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.bodies = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"json://127.0.0.1:{server.server_address[1]}/hook", server.bodies  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
