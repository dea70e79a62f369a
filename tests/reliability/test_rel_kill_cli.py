"""`boop-console rollback` killed with SIGKILL half-way, then started again.

The router is a webhook (a feature-flag service on 127.0.0.1:0) whose write stalls,
so the child is killed with its rollback marker `in_progress` and the flag still at
25%. The next `boop-console rollback` finishes the interrupted runbook first: the
flag reads 0%, the marker is `done`, the journal names the interrupted rollback and
verifies. (tests/engine covers the same for an in-process engine with a file router.)
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.cli import main
from console.engine.journal import Journal

pytestmark = pytest.mark.timeout(60)
REPO = Path(__file__).resolve().parents[2]

CONFIG = """
state_dir = "{state}"
[environments.dev]
base_url = "http://127.0.0.1:9"
ws_url = "ws://127.0.0.1:9"
[environments.prod]
base_url = "http://127.0.0.1:9"
ws_url = "ws://127.0.0.1:9"
production = true
[router]
kind = "webhook"
[router.webhook]
url = "http://127.0.0.1:{port}/flag"
timeout_s = 20
"""


class FlagServer(http.server.ThreadingHTTPServer):
    """A feature flag: GET reads it, PUT sets it; writes can be made to stall."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FlagHandler)
        self.percent = 0.0
        self.stall = False
        self.stalled = threading.Event()
        """Set when a stalled write arrived."""
        self.release = threading.Event()


class FlagHandler(http.server.BaseHTTPRequestHandler):
    server: FlagServer

    def _reply(self, doc: dict[str, Any]) -> None:
        body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._reply({"boop_percent": self.server.percent})

    def do_PUT(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        doc = json.loads(self.rfile.read(length))
        if self.server.stall:
            # Hold the write (bounded); the writer is killed meanwhile, so the
            # write is never applied.
            self.server.stalled.set()
            self.server.release.wait(20)
            return
        self.server.percent = float(doc["boop_percent"])
        self._reply({"boop_percent": self.server.percent})

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def flag() -> Iterator[FlagServer]:
    server = FlagServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_cli_rollback_killed_halfway_is_finished_by_the_next_one(
    tmp_path: Path, flag: FlagServer
) -> None:
    state = tmp_path / "state"
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG.format(state=state, port=flag.server_address[1]))
    assert (
        main(["--config", str(cfg), "shift", "25", "--reason", "go", "--override"]) == 0
    )
    assert flag.percent == 25

    flag.stall = True
    argv = ["--config", str(cfg), "rollback", "--reason", "killed halfway"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "console", *argv],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert flag.stalled.wait(20), "the rollback never wrote the router"
        marker = json.loads((state / "rollback.json").read_text())
        assert marker["status"] == "in_progress" and marker["pid"] == proc.pid
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert flag.percent == 25  # the killed write never landed
    flag.stall = False
    flag.release.set()

    started = time.monotonic()
    assert main(["--config", str(cfg), "rollback", "--reason", "again"]) == 0
    assert time.monotonic() - started < 5.0
    assert flag.percent == 0
    assert json.loads((state / "rollback.json").read_text())["status"] == "done"
    journal = Journal(state / "journal.jsonl")
    assert journal.verify().ok, journal.verify().problems
    rollbacks = [e for e in journal.entries() if e["action"] == "rollback"]
    assert len(rollbacks) == 1
    assert "killed halfway" in str(rollbacks[0]["why"])
    assert str(rollbacks[0]["why"]).startswith("finishing rollback by ")
    doc = json.loads((state / "state.json").read_text())
    assert doc["rolled_back"] and "killed halfway" in doc["rolled_back_reason"]
