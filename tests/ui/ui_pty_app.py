"""The console on the fake engine, as a real process for the pty tests.

Usage: python ui_pty_app.py [driver|observer|crash]; crash makes the engine's
snapshot() raise, so the app fails on its first render.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from ui_fake_engine import FakeEngine, make_snapshot

from console.commands.run import run_app
from console.engine.model import Role

mode = sys.argv[1] if len(sys.argv) > 1 else "driver"
role = Role.OBSERVER if mode == "observer" else Role.DRIVER
engine = FakeEngine(replace(make_snapshot(), role=role))
if mode == "crash":

    def broken() -> None:
        raise RuntimeError("engine exploded on purpose")

    engine.snapshot = broken  # type: ignore[assignment,method-assign]
sys.exit(run_app(engine, theme="boop-dark", who="pty@test"))
