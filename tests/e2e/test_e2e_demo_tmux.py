"""The whole product, as a person meets it: `boop-console demo` in a real terminal.

tmux runs the demo at 80x24 on a private socket; the test types keys with send-keys,
reads the screen with capture-pane, and checks the router document the simulator's
vendor application obeys. It raises traffic to the first level, rolls back with the
one key, and quits.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import require_binary

pytestmark = [pytest.mark.tmux, pytest.mark.timeout(150)]


class Tmux:
    def __init__(self, binary: str, socket: str) -> None:
        self.binary = binary
        self.socket = socket

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            [self.binary, "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return done.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "demo")

    def keys(self, *keys: str) -> None:
        for key in keys:
            self("send-keys", "-t", "demo", key)
            time.sleep(0.3)


def wait_for(
    what: str, check: Callable[[], bool], timeout_s: float, tmux: Tmux
) -> None:
    ends = time.monotonic() + timeout_s
    while time.monotonic() < ends:
        if check():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}; screen:\n{tmux.screen()}")


def boop_percent(state: Path) -> float | None:
    try:
        return float(json.loads((state / "routing.json").read_text())["boop_percent"])
    except (OSError, ValueError, KeyError):
        return None


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Tmux, Path]]:
    tmux = Tmux(require_binary("tmux"), f"boop-e2e-{uuid.uuid4().hex[:8]}")
    state = tmp_path / "state"
    command = (
        f"{sys.executable} -m console demo --state-dir {state}; "
        "echo DEMO-EXITED $?; sleep 60"
    )
    tmux(
        "new-session", "-d", "-s", "demo", "-x", "80", "-y", "24",
        "-e", "TERM=xterm-256color", command,
    )  # fmt: skip
    try:
        yield tmux, state
    finally:
        tmux("kill-server")
        # The demo stops its simulator on SIGHUP; give it a moment to go.
        time.sleep(1.0)


def test_demo_raise_then_one_key_rollback(demo: tuple[Tmux, Path]) -> None:
    tmux, state = demo
    wait_for(
        "the console's first frame",
        lambda: "not started" in tmux.screen() and "driver" in tmux.screen(),
        60,
        tmux,
    )
    assert "0.0%" in tmux.screen()

    # The slider starts on the next planned level; Enter asks to confirm the raise.
    tmux.keys("Enter")
    wait_for("the raise confirmation", lambda: "0% → 5%" in tmux.screen(), 10, tmux)
    tmux.keys("Enter")
    wait_for("the router at 5%", lambda: boop_percent(state) == 5.0, 10, tmux)
    wait_for("5% on screen", lambda: "5.0%" in tmux.screen(), 10, tmux)

    # One key, no confirmation: the router is at 0% and the screen says so.
    tmux.keys("C-r")
    wait_for("the router at 0%", lambda: boop_percent(state) == 0.0, 5, tmux)
    wait_for("ROLLED BACK on screen", lambda: "ROLLED BACK" in tmux.screen(), 10, tmux)
    screen = tmux.screen()
    assert "stop new traffic" in screen

    journal = [
        json.loads(line)
        for line in (state / "journal.jsonl").read_text().splitlines()
        if line.strip()
    ]
    actions = [entry["action"] for entry in journal]
    assert "shift" in actions
    assert any(a.startswith("rollback") for a in actions), actions

    # Quitting the driving console asks first; afterwards the terminal is back to
    # normal (mouse tracking off) and the demo reports where its evidence is.
    tmux.keys("q")
    wait_for("the quit question", lambda: "Quit" in tmux.screen(), 5, tmux)
    tmux.keys("y")
    wait_for("the demo to exit", lambda: "DEMO-EXITED 0" in tmux.screen(), 20, tmux)
    assert "journal and evidence kept in" in tmux.screen()
    assert tmux("display-message", "-p", "-t", "demo", "#{mouse_any_flag}").strip() in (
        "0",
        "",
    )
    assert boop_percent(state) == 0.0
