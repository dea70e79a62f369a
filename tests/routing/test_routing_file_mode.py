"""The routing file is readable by the application's user; state files stay private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from console.engine.state import CutoverState, save_state
from console.routing.file import FileRouter

pytestmark = pytest.mark.timeout(30)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_routing_file_is_0644_even_under_a_strict_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        router = FileRouter(tmp_path / "routing.json")
        await router.set_percent(5, who="ana@jump1", reason="start")
        assert _mode(tmp_path / "routing.json") == 0o644
        await router.set_percent(0, who="ana@jump1", reason="rollback")
        assert _mode(tmp_path / "routing.json") == 0o644  # the rename keeps it
        save_state(tmp_path / "state.json", CutoverState(), fsync=False)
        assert _mode(tmp_path / "state.json") == 0o600
    finally:
        os.umask(old)
