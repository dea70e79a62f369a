"""A deferred engine start (the demo's simulator still coming up): the console is
on screen at once and says it is starting; raising traffic waits, rollback does
not. And ROLLED BACK on screen means the runbook is through."""

from __future__ import annotations

from dataclasses import replace

import pytest
from ui_fake_engine import NOW, FakeEngine, make_snapshot, rolled_back

from console.commands.run import first_readings_in
from console.engine.model import HealthState, Phase
from console.ui import format as fmt
from console.ui.app import ConsoleApp
from console.ui.screens.confirm_shift import ConfirmShiftScreen

pytestmark = pytest.mark.timeout(30)

SIZE = (80, 24)
WAITING = "starting the simulator…"


def screen_text(app: ConsoleApp) -> str:
    return "\n".join(s.text for s in app.screen._compositor.render_strips())


async def settle(pilot: object) -> None:
    for _ in range(3):
        await pilot.pause()  # type: ignore[attr-defined]


async def test_starting_console_shows_progress_refuses_raise_allows_rollback() -> None:
    # Before the engine starts there are no probe results yet.
    engine = FakeEngine(replace(make_snapshot(phase=Phase.NOT_STARTED), health=()))
    app = ConsoleApp(engine, who="alice@jump", clock=lambda: NOW)
    app.waiting = WAITING
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "PROD (production)" in text
        assert "starting…" in text
        assert WAITING in text
        assert "not started" not in text

        await pilot.press("enter")  # the slider's raise
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmShiftScreen)
        assert "shift: confirming" not in app.history
        assert engine.names() == []

        await pilot.press("ctrl+r")
        await settle(pilot)
        assert engine.names() == ["rollback"]

        app.engine_started()
        await settle(pilot)
        assert "engine started" in app.history
        assert app.waiting is None
        assert "starting…" not in screen_text(app)


def test_rolling_back_is_not_yet_rolled_back() -> None:
    done = rolled_back(make_snapshot(), "^R")
    running = replace(done, phase=Phase.ROLLING_BACK)
    assert fmt.verdict_text(running) == "ROLLING BACK"
    assert fmt.verdict_text(done) == "ROLLED BACK"


def test_first_readings_need_every_probe_and_a_metric() -> None:
    snap = make_snapshot()
    assert first_readings_in(snap)
    assert not first_readings_in(replace(snap, series={}))
    unprobed = replace(snap.health[0], last_probe_at=None)
    assert isinstance(unprobed, HealthState)
    assert not first_readings_in(replace(snap, health=(unprobed, *snap.health[1:])))
    assert not first_readings_in(replace(snap, health=()))
