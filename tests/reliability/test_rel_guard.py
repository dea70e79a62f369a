"""A guard and a console at once, and a router changed behind their backs.

`boop-console guard` runs in a child process and drives; an engine in this process
is an observer. An outside raise of the router is drift (warning and journal entry
by the guard); the observer's rollback is honoured by the guard, which then puts an
outside raise back to 0% at once. Every instance writes one verifiable journal.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from console.cli import main
from console.config import load_config
from console.engine.journal import Journal
from console.engine.model import Phase, Role
from console.engine.runtime import build_engine
from tests.conftest import MINIMAL_CONFIG

pytestmark = pytest.mark.timeout(60)
REPO = Path(__file__).resolve().parents[2]

CONFIG = MINIMAL_CONFIG


async def wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g} s"
        await asyncio.sleep(0.05)


def raise_behind_the_back(state: Path, pct: float) -> None:
    """What an operator editing the router by hand does."""
    (state / "routing.json").write_text(json.dumps({"boop_percent": pct}))


def actions_by(state: Path, action: str) -> list[dict[str, object]]:
    return [
        e for e in Journal(state / "journal.jsonl").entries() if e["action"] == action
    ]


@pytest.fixture
def guard(tmp_path: Path) -> Iterator[tuple[Path, Path, subprocess.Popen[str]]]:
    """Config at 5% (shifted by the CLI), then a guard driving it."""
    state = tmp_path / "state"
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG.format(state=state))
    assert (
        main(["--config", str(cfg), "shift", "5", "--reason", "go", "--override"]) == 0
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "console", "--config", str(cfg), "guard"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lease = state / "lease"
        deadline = time.monotonic() + 15
        while f'"pid": {proc.pid}' not in (lease.read_text() if lease.exists() else ""):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "guard did not take the lease"
            time.sleep(0.05)
        yield cfg, state, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stderr:
                proc.stderr.close()


async def test_guard_drives_sees_drift_and_honours_an_observers_rollback(
    guard: tuple[Path, Path, subprocess.Popen[str]],
) -> None:
    cfg, state, proc = guard
    observer = build_engine(load_config(cfg), who="bo@jump2", probes=False)
    await observer.start()
    try:
        assert observer.role is Role.OBSERVER

        # Drift: raised behind everyone's back; the guard says so (once), and
        # does not roll back by itself for a drift.
        raise_behind_the_back(state, 25)
        await wait_for(lambda: bool(actions_by(state, "drift")), 10, "drift entry")
        drift = actions_by(state, "drift")[0]
        assert str(drift["why"]).startswith(
            "drift: the router applies 25% but the console requested 5%"
        )
        assert drift["who"] != "bo@jump2"  # the driver's entry, not ours

        refused = await observer.shift(50, who="bo@jump2", reason="me", override=True)
        assert not refused.ok and refused.message.startswith("Refused:")
        result = await observer.rollback(who="bo@jump2", reason="pager fired")
        assert result.ok, result.message
        assert json.loads((state / "routing.json").read_text())["boop_percent"] == 0

        # The guard honours it: its persisted state says rolled back, by us.
        def guard_saved() -> bool:
            doc = json.loads((state / "state.json").read_text())
            return bool(doc["rolled_back"]) and doc["rolled_back_by"] == "bo@jump2"

        await wait_for(guard_saved, 10, "guard persisted the rollback")

        # Sticky: an outside raise is put back to 0% by the guard at first sight.
        raise_behind_the_back(state, 25)
        put_back = time.monotonic()
        await wait_for(
            lambda: bool(actions_by(state, "rollback re-enforced")),
            10,
            "re-enforced",
        )
        took = time.monotonic() - put_back
        assert json.loads((state / "routing.json").read_text())["boop_percent"] == 0
        assert took < 2.0 + 2.0  # one router poll (2 s) and slack
        assert observer.snapshot().phase is Phase.ROLLED_BACK
    finally:
        await observer.stop()
    assert proc.poll() is None, "the guard died"
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(proc.wait, 15) == 0

    status = await asyncio.to_thread(main, ["--config", str(cfg), "status"])
    assert status == 13  # ROLLED BACK
    verified = Journal(state / "journal.jsonl").verify()
    assert verified.ok, verified.problems
    whos = {e["who"] for e in Journal(state / "journal.jsonl").entries()}
    assert "bo@jump2" in whos and len(whos) >= 2
