"""Fixes from a new user's report: one confirmed quit, safe credential auto-type,
chart titles that never show a stale value, the role always visible, whole
credential source labels, a slider that starts at the current level, a said
unknown theme, a readable breach streak and the production confirmation dialog."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import replace
from typing import Any

import pytest
from test_ui_flows import RecordingStore, make_app, screen_text, settle
from textual import events
from textual.widgets import Input
from ui_fake_engine import NOW, FakeEngine, make_snapshot, series

from console.engine.model import (
    CredentialSummary,
    GateResult,
    Overall,
    Phase,
    Role,
    Verdict,
)
from console.ui.app import ConsoleApp
from console.ui.production import ProductionAsker
from console.ui.screens.confirm_shift import ConfirmShiftScreen
from console.ui.screens.credentials import CredentialsScreen
from console.ui.screens.main import MainScreen
from console.ui.screens.simple import ConfirmProductionScreen, QuitScreen
from console.ui.widgets.gate_table import gate_line
from console.ui.widgets.metric_chart import MetricChart, latest_text
from console.ui.widgets.status_line import status_content
from console.ui.widgets.summaries import credential_line

pytestmark = pytest.mark.timeout(30)

SIZE = (80, 24)


def dialog_text(app: ConsoleApp) -> str:
    """The dialog's lines (inside the thick border) joined by spaces."""
    lines = [
        line.strip("█ ").strip()
        for line in screen_text(app).splitlines()
        if line.startswith("█") and not set(line) <= {"█", "▀", "▄"}
    ]
    return " ".join(lines)


# 1. Quit ------------------------------------------------------------------------


async def test_palette_offers_one_quit_and_it_asks_the_driver() -> None:
    app = make_app(FakeEngine())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"quit")
        await pilot.pause(0.3)
        text = screen_text(app)
        assert [line.strip() for line in text.splitlines()].count("Quit") == 1
        assert "as soon as possible" not in text
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, QuitScreen)
        assert app.history[-1] == "quit: asking"
        assert app.is_running


async def test_textual_quit_action_asks_the_driver_too() -> None:
    app = make_app(FakeEngine())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.run_action("quit")
        await settle(pilot)
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("n")
        await settle(pilot)
        assert app.history[-2:] == ["quit: asking", "quit: no"]
        assert app.is_running


async def test_quit_sentence_wraps_whole_at_80x24() -> None:
    app = make_app(FakeEngine())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await settle(pilot)
        assert (
            "This console drives the cutover. After quitting, holds and gates are "
            "watched only if a `boop-console guard` runs; the router stays as it is."
        ) in dialog_text(app)


# 2. Credentials auto-type -------------------------------------------------------


async def test_password_manager_burst_lands_in_the_right_masked_fields() -> None:
    store = RecordingStore()
    app = make_app(FakeEngine(), credentials=store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, CredentialsScreen)
        # One burst, as tmux send-keys delivers it: no wait between keys.
        burst = ["tab", *"v_42", "tab", *"sk_live_SECRET99"]
        driver = app._driver
        assert driver is not None
        for key in burst:
            name = {"_": "underscore", "tab": "tab"}.get(key, key)
            event = events.Key(name, "\t" if key == "tab" else key)
            event.set_sender(app)
            driver.send_message(event)
        await pilot.pause(0.3)
        await settle(pilot)
        values = {i.id: i.value for i in app.screen.query(Input)}
        assert values == {"vendor": "v_42", "key": "sk_live_SECRET99"}
        text = screen_text(app)
        assert "SECRET99" not in text
        assert "v_42" not in text
        await pilot.press("enter")
        await settle(pilot)
        assert store.calls == [("set", "prod", "v_42", "sk_live_SECRET99")]


async def test_a_key_in_the_vendor_field_is_masked_cleared_and_refused() -> None:
    store = RecordingStore()
    app = make_app(FakeEngine(), credentials=store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        app.screen.query_one("#vendor", Input).focus()
        await pilot.press(*"sk_live_SECRET99")
        app.screen.query_one("#key", Input).focus()
        await pilot.press(*"sk_live_OTHER77")
        await settle(pilot)
        assert "SECRET99" not in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert store.calls == []
        assert isinstance(app.screen, CredentialsScreen)
        assert app.screen.query_one("#vendor", Input).value == ""
        text = dialog_text(app)
        assert "The vendor id field held an API key (sk_…); it was cleared." in text
        assert "SECRET99" not in text


# 3. Chart titles ----------------------------------------------------------------


def test_latest_text_is_missing_for_gap_stale_or_empty() -> None:
    assert latest_text([(NOW - 1, 99.81)], NOW) == "99.81"
    assert latest_text([(NOW - 2, 100.0), (NOW - 1, math.nan)], NOW) == "–"
    assert latest_text([(NOW - 30, 100.0)], NOW, max_age_s=10.0) == "–"
    assert latest_text([(NOW - 9, 100.0)], NOW, max_age_s=10.0) == "100"
    assert latest_text([], NOW) == "–"


def _titles(app: ConsoleApp) -> dict[str, str]:
    return {c.metric: c.title_text for c in app.screen.query(MetricChart)}


async def test_chart_titles_show_missing_when_gates_say_no_data() -> None:
    snap = make_snapshot()
    old = series(NOW - 40, [100.0] * 30)  # ended 40 s ago: older than 10 s
    gap = [*series(NOW - 1, [100.0] * 30), (NOW, math.nan)]
    nodata = tuple(
        replace(g, verdict=Verdict.INSUFFICIENT, value=None)
        if g.metric == "payment_success_pct"
        else g
        for g in snap.gates
    )
    snap = replace(
        snap,
        series={
            **snap.series,
            "auth_success_pct": gap,
            "payment_success_pct": old,
            "auth_p95_s": series(NOW, [0.8] * 30),
        },
        gates=nodata,
    )
    app = make_app(FakeEngine(snap))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        titles = _titles(app)
        assert titles["auth_success_pct"] == "auth ok % –"
        assert titles["payment_success_pct"] == "payments ok % –"
        assert titles["auth_p95_s"] == "auth p95 s 0.8"


async def test_chart_title_shows_missing_when_only_the_gate_has_no_data() -> None:
    snap = make_snapshot()
    gates = tuple(
        replace(g, verdict=Verdict.INSUFFICIENT, value=None)
        if g.metric == "auth_success_pct"
        else g
        for g in snap.gates
    )
    app = make_app(FakeEngine(replace(snap, gates=gates)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert _titles(app)["auth_success_pct"] == "auth ok % –"
        assert "auth ok % –" in screen_text(app)


# 4. Status line -----------------------------------------------------------------


def _paused() -> Any:
    return make_snapshot(phase=Phase.PAUSED, overall=Overall.INSUFFICIENT)


def test_paused_status_keeps_the_role_within_80_columns() -> None:
    line1, _ = status_content(_paused(), NOW, width=78)
    assert line1.plain == (
        "PROD (production) 5.0% 1/5 │ PAUSED 12m03s │  INSUFFICIENT DATA  │ driver"
    )
    line1, _ = status_content(_paused(), NOW, width=70)
    assert line1.plain == (
        "PROD (production) 5.0% 1/5 │ PAUSED 12m03s │  NO DATA  │ driver"
    )
    tight, _ = status_content(_paused(), NOW, width=40)
    assert tight.cell_length <= 40
    assert tight.plain.endswith("… │ driver")
    full, _ = status_content(_paused(), NOW)
    assert full.plain.endswith("│  INSUFFICIENT DATA  │ driver")


async def test_paused_status_shows_driver_at_80x24() -> None:
    app = make_app(FakeEngine(_paused()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = screen_text(app).splitlines()[0]
        assert first.rstrip().endswith("│ driver")


# 5 and 10. Credentials column ---------------------------------------------------


def _labelled() -> Any:
    return make_snapshot(
        credentials=(
            CredentialSummary(
                "dev", "v_…a1b2", "sk_test_…77c1", "env BOOP_DEV_API_KEY", None
            ),
            CredentialSummary(
                "prod", "v_…c3d4", "sk_live_…9f3a", "demo (this run only)", None
            ),
        )
    )


def test_credential_line_keeps_the_source_and_drops_the_vendor_first() -> None:
    c = CredentialSummary("prod", "v_…c3d4", "sk_live_…9f3a", "demo (this run only)")
    assert credential_line(c, NOW).plain == (
        "prod  v_…c3d4 sk_live_…9f3a demo (this run only) –"
    )
    assert credential_line(c, NOW, width=42).plain == (
        "prod  sk_live_…9f3a demo (this run only) –"
    )
    assert credential_line(c, NOW, width=40).plain == (
        "prod  sk_live_…9f3a demo (this run only)"
    )


async def test_credential_sources_are_whole_at_80_and_200_columns() -> None:
    app = make_app(FakeEngine(_labelled()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "prod  sk_live_…9f3a demo (this run only)" in text
        assert "dev   sk_test_…77c1 env BOOP_DEV_API_KEY" in text
    app = make_app(FakeEngine(_labelled()))
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "prod  v_…c3d4 sk_live_…9f3a demo (this run only) –" in text
        assert "dev   v_…a1b2 sk_test_…77c1 env BOOP_DEV_API_KEY –" in text


# 6. Slider ----------------------------------------------------------------------


async def test_right_once_then_enter_asks_for_the_next_level_only() -> None:
    engine = FakeEngine()
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("right", "enter")
        await settle(pilot)
        assert engine.calls == [("preview_shift", {"to_pct": 10.0})]
        await pilot.press("escape")
        await pilot.press("left", "left", "enter")
        await settle(pilot)
        assert engine.calls[-1] == ("preview_shift", {"to_pct": 0.0})


async def test_from_zero_enter_and_right_enter_both_ask_for_five() -> None:
    zero = make_snapshot(
        stage=-1,
        router=replace(make_snapshot().router, effective_pct=0.0, requested_pct=0.0),
    )
    for keys in (("enter",), ("right", "enter")):
        engine = FakeEngine(zero)
        app = make_app(engine)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert "traffic 0.0% → next 5%" in screen_text(app)
            await pilot.press(*keys)
            await settle(pilot)
            assert engine.calls == [("preview_shift", {"to_pct": 5.0})]
            assert isinstance(app.screen, ConfirmShiftScreen)


# 7. Theme -----------------------------------------------------------------------


def test_unknown_theme_is_said_on_stderr_before_the_ui(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from console.commands.run import run_app

    async def no_ui(self: ConsoleApp, *args: object, **kwargs: object) -> None:
        assert self.theme == "boop-dark"

    monkeypatch.setattr(ConsoleApp, "run_async", no_ui)
    assert run_app(FakeEngine(), theme="nope", who="alice@jump") == 0  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert err.startswith(
        "boop-console: unknown theme 'nope'; using boop-dark; themes: boop-16, "
        "boop-contrast, boop-dark, boop-light, "
    )
    assert "textual-dark" in err


# 8. Breach streak ---------------------------------------------------------------


def test_breach_streak_past_the_limit_reads_as_capped() -> None:
    why = "auth_success_pct 97.10 < 99.5 over 60 s (412 samples, data 1.2 s old)"
    g = GateResult(
        "auth_success", "auth_success_pct", Verdict.BREACH, 97.1, "<", 99.5, 60,
        412, 1.2, 26, 2, why,
    )  # fmt: skip
    assert gate_line(g).plain == f"✗ BREACH  auth_success    {why} [2/2+]"
    assert gate_line(replace(g, consecutive_breaches=1)).plain.endswith(f"{why} [1/2]")
    assert gate_line(replace(g, consecutive_breaches=2)).plain.endswith(f"{why} [2/2]")


# 9. Production confirmation ----------------------------------------------------


async def _ask_in_thread(
    app: ConsoleApp, asker: ProductionAsker, pilot: Any, key: str
) -> bool:
    asker.attach(app, asyncio.get_running_loop())
    answer = asyncio.create_task(asyncio.to_thread(asker, "boop.prod.test"))
    question = "Connect to production host boop.prod.test?"
    try:
        # The dialog is pushed, then composed and painted: wait for its text (a
        # loaded machine takes a few frames longer).
        for _ in range(100):
            await pilot.pause(0.05)
            if isinstance(app.screen, ConfirmProductionScreen) and (
                question in screen_text(app)
            ):
                break
        assert isinstance(app.screen, ConfirmProductionScreen)
        assert question in screen_text(app)
        await pilot.press(key)
        return await asyncio.wait_for(answer, 5)
    finally:
        # A failed assertion must not leave the asker's thread waiting minutes
        # for an answer (the event loop's shutdown waits for it).
        asker.close()


async def test_production_dialog_yes_and_no() -> None:
    for key, expected in (("y", True), ("n", False)):
        app = make_app(FakeEngine())
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert await _ask_in_thread(app, ProductionAsker(), pilot, key) is expected
            await settle(pilot)
            assert isinstance(app.screen, MainScreen)


def test_production_asker_says_no_without_a_running_app() -> None:
    asker = ProductionAsker(start_wait_s=0.3)
    assert asker("boop.prod.test") is False
    app = make_app(FakeEngine())
    loop = asyncio.new_event_loop()
    try:
        asker.attach(app, loop)
        started = time.monotonic()
        assert asker("boop.prod.test") is False  # never started
        assert time.monotonic() - started < 2.0
    finally:
        loop.close()


async def test_production_question_times_out_and_close_answers_no() -> None:
    app = make_app(FakeEngine())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        asker = ProductionAsker(answer_timeout_s=0.3)
        asker.attach(app, asyncio.get_running_loop())
        assert await asyncio.wait_for(asyncio.to_thread(asker, "h.test"), 5) is False
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        waiting = ProductionAsker()
        waiting.attach(app, asyncio.get_running_loop())
        pending = asyncio.create_task(asyncio.to_thread(waiting, "h.test"))
        await pilot.pause(0.3)
        waiting.close()
        assert await asyncio.wait_for(pending, 5) is False


def test_observer_role_is_kept_when_paused_too() -> None:
    snap = replace(_paused(), role=Role.OBSERVER)
    line1, _ = status_content(snap, NOW, width=60)
    assert line1.plain.endswith("│ observer")
    assert line1.cell_length <= 60
