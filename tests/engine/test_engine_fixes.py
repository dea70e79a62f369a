"""Fixes from a new user's report: rollback with a damaged state, shift without a
driver, clear errors for unusable state directories, the journal's junk lines, a
rollback from another process seen at once, and the guard's production host."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from console.boop.stream import StreamState, VendorStream
from console.cli import main
from console.commands import cutover
from console.credentials.guard import EnvironmentMismatch
from console.engine.model import Phase, Role
from console.engine.runtime import _refusal_as_stream_error
from console.errors import StateError
from tests.engine.helpers_engine import make_engine, routing_pct

pytestmark = pytest.mark.timeout(60)

CONFIG = """
state_dir = "{state}"
[environments.dev]
base_url = "http://127.0.0.1:9"
ws_url = "ws://127.0.0.1:9"
[environments.prod]
base_url = "http://127.0.0.1:9"
ws_url = "ws://127.0.0.1:9"
production = true
"""


def write_cfg(tmp_path: Path, state: str, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(state=state) + extra)
    return path


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    return write_cfg(tmp_path, str(tmp_path / "state"))


def run(cfg: Path, *argv: str) -> int:
    return main(["--config", str(cfg), *argv])


def journal_entries(state: Path) -> list[dict[str, Any]]:
    lines = (state / "journal.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


# -------------------------------------------------------------- 1. damaged state


@pytest.mark.parametrize("junk", ["", "{not json", "[1, 2]"])
def test_rollback_with_a_damaged_state_puts_traffic_to_zero_first(
    cfg: Path, capsys: pytest.CaptureFixture[str], junk: str
) -> None:
    state = cfg.parent / "state"
    assert run(cfg, "shift", "5", "--reason", "go", "--override") == 0
    assert routing_pct(state) == 5.0
    (state / "state.json").write_text(junk)
    capsys.readouterr()
    assert run(cfg, "rollback", "--reason", "emergency") == 0
    out, err = capsys.readouterr()
    assert routing_pct(state) == 0.0
    assert "Rolled back: BOOP traffic at 0% (emergency)." in out
    assert "warning: " in err and "state.json" in err
    assert "rollback works regardless" in err
    marker = json.loads((state / "rollback.json").read_text())
    assert (marker["status"], marker["reason"]) == ("done", "emergency")
    assert journal_entries(state)[-1]["action"] == "rollback"
    damaged = sorted(p.name for p in state.glob("state.json.damaged-*"))
    assert len(damaged) == 1
    assert (state / damaged[0]).read_text() == junk  # kept for inspection
    assert json.loads((state / "state.json").read_text())["rolled_back"] is True
    assert run(cfg, "status") == 13  # ROLLED BACK, no state error


def test_status_without_state_keeps_the_routers_traffic_and_the_marker(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = cfg.parent / "state"
    assert run(cfg, "shift", "5", "--reason", "go", "--override") == 0
    (state / "state.json").unlink()
    capsys.readouterr()
    run(cfg, "status", "--json")
    doc = json.loads(capsys.readouterr().out)
    assert (doc["router"]["requested_pct"], doc["router"]["effective_pct"]) == (5, 5)
    assert any("no saved state: resumed at 5%" in w for w in doc["warnings"])
    # A marker (someone rolled back) with the router raised behind the console's
    # back: still ROLLED BACK, never a fresh 0% start.
    assert run(cfg, "rollback", "--reason", "drill") == 0
    (state / "state.json").unlink()
    (state / "routing.json").write_text('{"boop_percent": 5, "format_version": 1}')
    capsys.readouterr()
    assert run(cfg, "status", "--json") == 13
    doc = json.loads(capsys.readouterr().out)
    assert doc["phase"] == "rolled back" and doc["rolled_back_reason"] == "drill"


async def test_engine_starts_with_a_damaged_state_and_can_roll_back(
    tmp_path: Path,
) -> None:
    engine = make_engine(tmp_path)
    await engine.open()
    assert (await engine.shift(5, who="a@b", reason="go", override=True)).ok
    await engine.stop()
    (tmp_path / "state.json").write_text("garbage")
    engine = make_engine(tmp_path)
    await engine.start()
    try:
        assert engine.role is Role.DRIVER
        assert engine.state_problem is not None
        assert "is unreadable" in engine.state_problem
        snap = engine.snapshot()
        assert snap.router.requested_pct == 5.0  # resumed from the router
        assert any("is unreadable" in w for w in snap.warnings)
        shift = await engine.shift(10, who="a@b", reason="more")
        assert not shift.ok and "saved state was unusable" in shift.message
        assert (await engine.rollback(who="a@b", reason="bad")).ok
        assert routing_pct(tmp_path) == 0.0
    finally:
        await engine.stop()


# ---------------------------------------------------- 2. shift without a driver


def test_shift_without_a_driver_warns_and_journals_no_driver(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = cfg.parent / "state"
    assert run(cfg, "shift", "5", "--reason", "go", "--override") == 0
    out, err = capsys.readouterr()
    assert "BOOP traffic 0% → 5%" in out
    assert "WARNING: no console or guard is running" in err
    assert "boop-console guard" in err and "tmux" in err
    last = journal_entries(state)[-1]
    assert last["action"] == "shift (override)"
    assert last["why"].endswith(
        "| no driver: no console or guard watches gates and holds"
    )


def test_shift_refused_on_a_journal_that_fails_verification(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = cfg.parent / "state"
    assert run(cfg, "shift", "5", "--reason", "go", "--override") == 0
    assert run(cfg, "hold", "--reason", "look") == 0
    with (state / "journal.jsonl").open("a") as f:
        f.write("junk line\n")
    capsys.readouterr()
    assert run(cfg, "resume", "--reason", "on") == 0  # only raising is checked
    assert run(cfg, "shift", "10", "--reason", "more") == 3
    err = capsys.readouterr().err
    assert "WARNING: the journal fails verification:" in err
    assert "line 3: not JSON (damaged or cut)" in err
    assert "needs --override" in err
    assert routing_pct(state) == 5.0
    assert run(cfg, "shift", "10", "--reason", "more", "--override") == 0
    assert "WARNING: the journal fails verification:" in capsys.readouterr().err
    assert routing_pct(state) == 10.0
    assert run(cfg, "rollback") == 0  # never blocked
    assert routing_pct(state) == 0.0


# ---------------------------------------------- 3. clear errors, no tracebacks


@pytest.mark.parametrize("kind", ["proc", "under_file"])
def test_unusable_state_dir_is_a_clear_state_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    if kind == "proc":
        state = "/proc/nope"
    else:
        (tmp_path / "plain").write_text("x")
        state = str(tmp_path / "plain" / "state")
    cfg = write_cfg(tmp_path, state)
    for argv in (["status"], ["shift", "5", "--reason", "go"], ["guard"]):
        assert run(cfg, *argv) == 1
        err = capsys.readouterr().err
        assert f"State error: The state directory {state} cannot be used:" in err
        assert "Set state_dir in the config" in err
        assert "Traceback" not in err


def test_rollback_with_an_unusable_state_dir_still_writes_the_router(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "plain").write_text("x")
    routing = tmp_path / "routing.json"
    routing.write_text('{"boop_percent": 5, "format_version": 1}')
    cfg = write_cfg(
        tmp_path,
        str(tmp_path / "plain" / "state"),
        f'[router.file]\npath = "{routing}"\n',
    )
    code = run(cfg, "rollback", "--reason", "now")
    assert json.loads(routing.read_text())["boop_percent"] == 0
    out, err = capsys.readouterr()
    assert "  done     stop new traffic" in out
    assert "  failed   freeze" in out  # no marker without a state directory
    assert code == 0  # traffic is at 0% and verified; what failed is listed
    assert "Rolled back: BOOP traffic at 0% (now)." in out
    assert "warning: The state directory" in err and "cannot be used" in err


async def test_a_credential_refusal_stops_the_stream_with_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def refuse(url: str, vendor_id: str, api_key: str) -> None:
        raise EnvironmentMismatch("Refused before sending: live key on dev.")

    stream = VendorStream(
        "ws://127.0.0.1:9/ws",
        "ven_live_x",
        "sk_live_y",
        guard=_refusal_as_stream_error(refuse),
        name="dev",
    )
    with caplog.at_level(logging.INFO, logger="console"):
        async with asyncio.timeout(5):
            await stream.run()
    assert stream.state is StreamState.FAILED
    assert stream.last_error == "Refused before sending: live key on dev."
    assert not [r for r in caplog.records if r.exc_info]
    assert not [r for r in caplog.records if "unexpectedly" in r.getMessage()]


def test_status_checks_the_probe_deadline_like_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = "[probes]\ninterval_s = 5\ndeadline_s = 5\n"
    cfg = write_cfg(tmp_path, str(tmp_path / "state"), extra)
    assert run(cfg, "status") == 2
    err = capsys.readouterr().err
    assert "deadline_s (5) must be shorter than interval_s (5)" in err


# ------------------------------------------------------------ 5. seen at once


async def test_driver_shows_another_processs_rollback_without_drift(
    tmp_path: Path,
) -> None:
    driver = make_engine(tmp_path)
    driver.router_poll_s = 2.0  # as in the TUI: the old reading lingers that long
    await driver.start()
    other = make_engine(tmp_path, who="bo@jump2")
    try:
        assert (await driver.shift(5, who="a@b", reason="go", override=True)).ok
        await asyncio.sleep(0.1)
        await other.open()
        assert other.role is Role.OBSERVER
        assert (await other.rollback(who="bo@jump2", reason="cli")).ok
        seen_drift = False
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            snap = driver.snapshot()
            seen_drift |= snap.router.drift
            await asyncio.sleep(0.02)
        snap = driver.snapshot()
        assert not seen_drift
        assert snap.phase is Phase.ROLLED_BACK
        assert snap.router.effective_pct == 0.0 and not snap.warnings
    finally:
        await other.stop()
        await driver.stop()


# ------------------------------------------------------------- 6. journal show


def test_journal_show_names_an_unreadable_line(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = cfg.parent / "state"
    assert run(cfg, "shift", "5", "--reason", "go", "--override") == 0
    with (state / "journal.jsonl").open("a") as f:
        f.write("junk\n")
    assert run(cfg, "hold", "--reason", "look") == 0
    capsys.readouterr()
    assert run(cfg, "journal", "show") == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 3
    assert "shift (override): go" in lines[0]
    assert lines[1] == "line 2: unreadable (not JSON: Expecting value)"
    assert "hold: look" in lines[2]
    assert "1 unreadable line(s)" in err
    assert run(cfg, "journal", "show", "--json") == 1
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert docs[1] == {"line": 2, "unreadable": "not JSON: Expecting value"}


# ------------------------------------------------- 8. guard's production host


def test_guard_confirms_only_the_named_production_host(
    cfg: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    confirm = cutover.confirm_only("App.Boop.IT")
    assert confirm("app.boop.it") and not confirm("evil.example")
    seen: dict[str, Any] = {}

    def fake_build(config: Any, **kwargs: Any) -> Any:
        seen.update(kwargs)
        raise StateError("stop here")

    monkeypatch.setattr("console.engine.runtime.build_engine", fake_build)
    assert run(cfg, "guard", "--confirm-production-host", "127.0.0.1") == 1
    confirm = seen["confirm_production"]
    assert confirm("127.0.0.1") is True and confirm("10.0.0.1") is False
    assert run(cfg, "guard") == 1
    assert seen["confirm_production"] is None
    with pytest.raises(SystemExit):
        main(["guard", "--help"])
    assert "--confirm-production-host HOST" in capsys.readouterr().out
