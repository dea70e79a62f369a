"""The journal's disk fills up in the middle of a cutover.

A child process runs the engine with RLIMIT_FSIZE set just above the journal's size
(no root mounts needed): every write past that offset fails with EFBIG as on a full
disk, after writing what fits. The small files (router document, state, marker) stay
under the limit, as if they lived on another disk. Traffic must still be rolled
back, the operator told, and the journal must hold only whole entries.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from console.engine.journal import Journal

pytestmark = pytest.mark.timeout(60)
REPO = Path(__file__).resolve().parents[2]
ENGINE_TESTS = REPO / "tests" / "engine"

FULL_DISK = textwrap.dedent(
    """
    import asyncio, json, resource, signal, sys
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from helpers_engine import make_engine

    async def main():
        state = Path({state!r})
        engine = make_engine(state)
        await engine.open()
        assert (await engine.shift(5, who="ana@jump1", reason="go", override=True)).ok
        for i in range(6):  # a journal larger than any of the small files
            assert (await engine.hold(who="ana@jump1", reason=f"pause {{i}}")).ok
            assert (await engine.resume(who="ana@jump1", reason=f"go {{i}}")).ok
        assert (await engine.shift(25, who="ana@jump1", reason="up", override=True)).ok
        size = (state / "journal.jsonl").stat().st_size
        # The disk is full: 100 more bytes of journal fit, the next entry does not.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 100, resource.RLIM_INFINITY))
        result = await engine.rollback(who="ana@jump1", reason="disk full")
        snap = engine.snapshot()
        await engine.stop()
        print(json.dumps({{
            "ok": result.ok,
            "phase": str(snap.phase),
            "effective": snap.router.effective_pct,
            "warnings": list(snap.warnings),
            "steps": [[s.name, s.status] for s in snap.rollback_steps],
            "size": size,
        }}))

    asyncio.run(main())
    """
)


def test_full_journal_disk_still_rolls_back_and_leaves_whole_entries(
    tmp_path: Path,
) -> None:
    script = FULL_DISK.format(tests=str(ENGINE_TESTS), state=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])

    # Traffic rolled back and read back at 0%, the rollback sticky.
    assert out["ok"] and out["phase"] == "rolled back" and out["effective"] == 0
    routing = json.loads((tmp_path / "routing.json").read_text())
    assert routing["boop_percent"] == 0
    marker = json.loads((tmp_path / "rollback.json").read_text())
    assert marker["status"] == "done"
    steps = dict(out["steps"])
    assert steps["stop new traffic"] == "done" and steps["verify"] == "done"
    # The operator is told.
    assert any(w.startswith("journal write failed") for w in out["warnings"])

    # Nothing half-written: what the journal holds verifies, entry by entry.
    journal = Journal(tmp_path / "journal.jsonl")
    verified = journal.verify()
    assert verified.ok, verified.problems
    assert verified.count == 14  # shift, 6 x (hold, resume), shift: no rollback
    assert (tmp_path / "journal.jsonl").stat().st_size == out["size"]

    # With space again, the next entry chains onto the last whole one.
    journal.append(ts=1.0, who="ana@jump1", action="note", why="disk freed")
    assert journal.verify().ok and journal.verify().count == 15
