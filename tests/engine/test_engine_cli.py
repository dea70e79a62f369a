"""The cutover CLI: exit codes, refusal naming the driver, rollback beside a guard."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.cli import main
from console.engine.lease import Lease
from tests.conftest import MINIMAL_CONFIG

pytestmark = pytest.mark.timeout(60)
REPO = Path(__file__).resolve().parents[2]

CONFIG = MINIMAL_CONFIG


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(state=tmp_path / "state"))
    return path


def run(cfg: Path, *argv: str) -> int:
    return main(["--config", str(cfg), *argv])


def routing(cfg: Path) -> float:
    doc = json.loads((cfg.parent / "state" / "routing.json").read_text())
    return float(doc["boop_percent"])


def test_status_exit_code_follows_the_verdict(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(cfg, "status", "--json") == 11  # no driver: INSUFFICIENT DATA
    doc = json.loads(capsys.readouterr().out)
    assert doc["overall"] == "INSUFFICIENT DATA" and doc["traffic_pct"] == 0.0
    assert run(cfg, "shift", "5", "--reason", "go", "--override") == 0
    assert run(cfg, "rollback", "--reason", "drill") == 0
    assert run(cfg, "status") == 13
    assert "rolled back: drill" in capsys.readouterr().out


def test_shift_refused_while_another_drives_but_rollback_works(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(cfg, "shift", "10", "--reason", "go", "--override") == 0
    other = Lease(cfg.parent / "state" / "lease", "guard@jump1")
    assert other.try_acquire()
    try:
        capsys.readouterr()
        assert run(cfg, "shift", "25", "--reason", "more", "--override") == 3
        err = capsys.readouterr().err
        assert f"Refused: guard@jump1 (pid {os.getpid()}) drives" in err
        assert run(cfg, "hold", "--reason", "x") == 3
        assert run(cfg, "rollback") == 0
        assert routing(cfg) == 0
    finally:
        other.release()
    marker = json.loads((cfg.parent / "state" / "rollback.json").read_text())
    assert marker["status"] == "done"


def test_journal_verify_fails_on_an_edit(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(cfg, "shift", "5", "--reason", "go", "--override") == 0
    assert run(cfg, "journal", "verify") == 0
    path = cfg.parent / "state" / "journal.jsonl"
    path.write_text(path.read_text().replace('"go', '"ok'))
    assert run(cfg, "journal", "verify") == 1
    assert "hash mismatch" in capsys.readouterr().err


def test_guard_drives_refuses_others_and_stops_on_sigterm(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lease = cfg.parent / "state" / "lease"
    proc = subprocess.Popen(
        [sys.executable, "-m", "console", "--config", str(cfg), "guard"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while f'"pid": {proc.pid}' not in (lease.read_text() if lease.exists() else ""):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "guard did not take the lease"
            time.sleep(0.05)
        assert run(cfg, "shift", "5", "--reason", "go", "--override") == 3
        assert run(cfg, "rollback", "--reason", "beside the guard") == 0
        state = cfg.parent / "state" / "state.json"
        while '"gates_at": null' in state.read_text():
            assert time.monotonic() < deadline + 10, "the guard saved no verdicts"
            time.sleep(0.05)
        capsys.readouterr()
        assert run(cfg, "status", "--json") == 11
        doc = json.loads(capsys.readouterr().out)
        assert doc["role"] == "observer"
        assert f"(pid {proc.pid}) drives this cutover" in doc["warnings"][0]
        # The guard's own verdicts (it has no metrics source), not "not evaluated".
        assert "no metrics source" in doc["gates"][0]["why"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stderr:
                proc.stderr.close()
    assert code == 0


def test_checklist_ticked_elsewhere_unblocks_the_first_level(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from console.engine.checklist import Checklist
    from console.engine.runtime import ReloadingChecklist
    from console.locations import StatePaths

    paths = StatePaths(cfg.parent / "state").ensure()
    watched = ReloadingChecklist(paths)
    assert len(watched.premigration_blockers()) == 4
    assert run(cfg, "shift", "5", "--reason", "go") == 3
    assert "checklist: 4 pre-migration item(s) open" in capsys.readouterr().err

    other = Checklist(paths.checklist)  # another process ticking items
    for item in ("pre.testing", "pre.credentials", "pre.review", "pre.deployment"):
        other.tick(item, who="ana@jump1", note="done")
    assert watched.premigration_blockers() == []
    assert run(cfg, "shift", "5", "--reason", "checklist complete") == 0
    assert routing(cfg) == 5
