"""Pilot tests: every key and flow, asserting on the fake engine's recorded calls,
the app's fact history (message order) and what the screen shows."""

from __future__ import annotations

from dataclasses import replace

import pytest
from textual.widgets import Input
from ui_fake_engine import NOW, FakeEngine, make_snapshot, rolled_back

from console.engine.model import ActionResult, Role
from console.errors import RouterError
from console.ui.app import ConsoleApp
from console.ui.commands import PALETTE
from console.ui.screens.confirm_shift import ConfirmShiftScreen
from console.ui.screens.credentials import CredentialsScreen
from console.ui.screens.main import MainScreen
from console.ui.screens.reason import ReasonScreen
from console.ui.screens.simple import FaultScreen, HelpScreen, QuitScreen
from console.ui.widgets.rollback_panel import RollbackPanel

pytestmark = pytest.mark.timeout(30)

SIZE = (80, 24)


def make_app(engine: FakeEngine, **kwargs: object) -> ConsoleApp:
    return ConsoleApp(engine, who="alice@jump", clock=lambda: NOW, **kwargs)  # type: ignore[arg-type]


def screen_text(app: ConsoleApp) -> str:
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


async def settle(pilot: object) -> None:
    for _ in range(3):
        await pilot.pause()  # type: ignore[attr-defined]


async def test_rollback_key_from_main_screen_rolls_back_and_shows_why() -> None:
    engine = FakeEngine()
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert engine.calls == [
            ("rollback", {"who": "alice@jump", "reason": "^R pressed in the console"})
        ]
        assert app.history[0] == "rollback: requested"
        assert set(app.history[1:3]) == {"rollback: ok", "snapshot"}
        panel = app.screen.query_one(RollbackPanel)
        assert panel.has_class("-shown")
        text = screen_text(app)
        assert "ROLLED BACK" in text
        assert "^R pressed in the console" in text
        assert "stop new traffic" in text


async def test_rollback_key_inside_confirmation_cancels_the_raise() -> None:
    engine = FakeEngine()
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmShiftScreen)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert engine.names() == ["preview_shift", "rollback"]
        assert isinstance(app.screen, MainScreen)
        assert "shift: cancelled" in app.history


async def test_rollback_key_inside_an_input_is_not_typed() -> None:
    engine = FakeEngine()
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("h")
        await settle(pilot)
        assert isinstance(app.screen, ReasonScreen)
        await pilot.press("a", "b", "c", "ctrl+r")
        await settle(pilot)
        assert engine.names() == ["rollback"]
        assert app.screen.query_one(Input).value == "abc"


async def test_rollback_key_inside_password_input() -> None:
    engine = FakeEngine()
    store = RecordingStore()
    app = make_app(engine, credentials=store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, CredentialsScreen)
        app.screen.query_one("#key", Input).focus()
        await pilot.press("s", "k", "ctrl+r")
        await settle(pilot)
        assert engine.names() == ["rollback"]
        assert store.calls == []


async def test_rollback_when_already_rolled_back_says_so() -> None:
    engine = FakeEngine(rolled_back(make_snapshot(), "earlier"))
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert engine.names() == ["rollback"]
        assert app.history == ["rollback: requested", "rollback: ok"]


async def test_raise_shows_from_to_and_gates_then_shifts() -> None:
    engine = FakeEngine()
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(app)
        assert "RAISE traffic to BOOP: 5% → 10%" in text
        assert "auth_success_pct 99.82 > 99.5" in text
        assert engine.names() == ["preview_shift"]
        await pilot.press("enter")
        await settle(pilot)
        assert engine.calls[-1] == (
            "shift",
            {
                "to_pct": 10.0,
                "who": "alice@jump",
                "reason": "planned step",
                "override": False,
            },
        )
        assert app.history[:3] == ["shift: confirming", "shift: requested", "shift: ok"]


async def test_arrows_choose_the_planned_level() -> None:
    engine = FakeEngine()
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # The choice starts at the current 5%: two steps right is 25%.
        await pilot.press("right", "right", "enter")
        await settle(pilot)
        assert engine.calls == [("preview_shift", {"to_pct": 25.0})]
        await pilot.press("escape")
        await pilot.press("left", "left", "left", "left", "enter")
        await settle(pilot)
        assert engine.calls[-1] == ("preview_shift", {"to_pct": 0.0})
        assert "LOWER traffic to BOOP: 5% → 0%" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert "shift" not in engine.names()


async def test_blocked_raise_needs_a_typed_override_reason() -> None:
    engine = FakeEngine(blockers=["hold: 12m03s left"])
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert "hold: 12m03s left" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmShiftScreen)
        assert "An override needs a reason" in screen_text(app)
        await pilot.press(*"ok by bob")
        await pilot.press("enter")
        await settle(pilot)
        assert engine.calls[-1] == (
            "shift",
            {
                "to_pct": 10.0,
                "who": "alice@jump",
                "reason": "ok by bob",
                "override": True,
            },
        )


async def test_rearm_requires_a_reason() -> None:
    engine = FakeEngine(rolled_back(make_snapshot(), "auth errors"))
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ReasonScreen)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReasonScreen)
        assert "A reason is required." in screen_text(app)
        assert engine.names() == []
        await pilot.press(*"fixed", "enter")
        await settle(pilot)
        assert engine.calls == [("rearm", {"who": "alice@jump", "reason": "fixed"})]


async def test_rearm_when_not_rolled_back_opens_nothing() -> None:
    engine = FakeEngine()
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert engine.names() == []


@pytest.mark.parametrize(
    ("key", "call", "extra"),
    [("h", "hold", {}), ("u", "resume", {}), ("x", "extend_hold", {"seconds": 600.0})],
)
async def test_hold_resume_extend_ask_for_a_reason(
    key: str, call: str, extra: dict[str, object]
) -> None:
    engine = FakeEngine()
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(key, *"lunch", "enter")
        await settle(pilot)
        assert engine.calls == [
            (call, {**extra, "who": "alice@jump", "reason": "lunch"})
        ]


async def test_quit_asks_when_driver() -> None:
    engine = FakeEngine()
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await settle(pilot)
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        await pilot.press("q", "y")
        await settle(pilot)
    assert app.history == ["quit: asking", "quit: no", "quit: asking", "quit: yes"]
    assert app.return_code == 0


async def test_quit_as_observer_does_not_ask() -> None:
    engine = FakeEngine(make_snapshot(role=Role.OBSERVER))
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await settle(pilot)
    assert app.history == []
    assert app.return_code == 0


async def test_tiny_terminal_shows_a_summary() -> None:
    engine = FakeEngine()
    app = make_app(engine)
    async with app.run_test(size=(40, 12)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "PROD 5.0%" in text
        assert "^R = ROLL BACK" in text
        assert "auth_success" not in text
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "ROLLED BACK" in screen_text(app)


async def test_newest_snapshot_wins_when_updates_pile_up() -> None:
    engine = FakeEngine()
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for pct in (10.0, 25.0, 50.0):
            router = replace(engine.current.router, effective_pct=pct)
            engine.publish(replace(engine.current, router=router))
        await settle(pilot)
        assert app.snapshot is not None
        assert app.snapshot.traffic_pct == 50.0
        assert app.history.count("snapshot") == 1
        assert "PROD (production) 50.0%" in screen_text(app)


async def test_failed_engine_call_becomes_a_notification() -> None:
    engine = FakeEngine()

    async def broken_hold(*, who: str, reason: str) -> ActionResult:
        raise RouterError("router write failed: no such server", hint="check cfg")

    engine.hold = broken_hold  # type: ignore[method-assign]
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("h", *"x", "enter")
        await settle(pilot)
        assert app.history == ["hold: requested", "hold: failed"]
        notes = [n.message for n in app._notifications]
        assert notes == ["hold failed: router write failed: no such server check cfg"]
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert engine.names() == ["rollback"]


class RecordingStore:
    """A CredentialEditor that records calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def set(self, env: str, vendor_id: str, api_key: str) -> object:
        self.calls.append(("set", env, vendor_id, api_key))
        return "keyring"

    def delete(self, env: str) -> object:
        self.calls.append(("delete", env))
        return []


async def test_credentials_dialog_stores_without_showing_the_key() -> None:
    store = RecordingStore()
    app = make_app(FakeEngine(), credentials=store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        app.screen.query_one("#vendor", Input).focus()
        await pilot.press(*"v_42")
        app.screen.query_one("#key", Input).focus()
        await pilot.press(*"sk_live_SECRET99")
        await settle(pilot)
        assert "SECRET99" not in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert store.calls == [("set", "prod", "v_42", "sk_live_SECRET99")]
        assert "SECRET99" not in screen_text(app)
        assert "credentials: ok" in app.history


class RecordingFaults:
    """A FaultMenu that records calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def kinds(self) -> list[tuple[str, str]]:
        return [("prod_5xx", "prod: 5% HTTP 500"), ("ws_drop", "drop WebSockets")]

    async def inject(self, kind: str) -> None:
        self.calls.append(kind)

    async def clear(self) -> None:
        self.calls.append("clear")


async def test_fault_menu_injects_and_clears() -> None:
    faults = RecordingFaults()
    app = make_app(FakeEngine(), faults=faults)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, FaultScreen)
        await pilot.press("down", "enter")
        await settle(pilot)
        await pilot.press("f", "end", "enter")
        await settle(pilot)
        assert faults.calls == ["ws_drop", "clear"]


async def test_help_lists_the_rollback_key() -> None:
    app = make_app(FakeEngine())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert "ROLL BACK now" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)


def test_every_palette_entry_names_an_app_action() -> None:
    for _title, action, _help in PALETTE:
        assert callable(getattr(ConsoleApp, f"action_{action}", None)), action


async def test_palette_rollback_entry_rolls_back() -> None:
    engine = FakeEngine()
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"roll back", "enter")
        await settle(pilot)
        assert engine.names() == ["rollback"]


async def test_dialog_opened_after_resize_fits() -> None:
    app = make_app(FakeEngine(blockers=["hold: 12m03s left", "checklist: 2 open"]))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        dialog = app.screen.query_one(".dialog")
        region = dialog.region
        assert region.right <= 80 and region.bottom <= 24
        assert region.x >= 0 and region.y >= 0


async def test_low_bandwidth_draws_no_plotext_chart() -> None:
    from console.ui.widgets.metric_chart import MetricChart
    from console.ui.widgets.spark_panel import SparkPanel

    app = make_app(FakeEngine(), low_bandwidth=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert all(chart.draws == 0 for chart in app.screen.query(MetricChart))
        assert app.screen.query_one(SparkPanel).display
        assert "auth ok % 99.81 (target 99.5)" in screen_text(app)
        await pilot.press("l")
        await settle(pilot)
        assert not app.screen.query_one(SparkPanel).display
        assert sum(chart.draws for chart in app.screen.query(MetricChart)) == 2


async def test_observer_cannot_open_a_raise_but_can_roll_back() -> None:
    engine = FakeEngine(make_snapshot(role=Role.OBSERVER))
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter", "h")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert engine.names() == []
        notes = [n.message for n in app._notifications]
        assert len(notes) == 2
        assert all(note.startswith("Observer: read-only.") for note in notes)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert engine.names() == ["rollback"]


@pytest.mark.parametrize("opener", ["ctrl+p", "question_mark", "f"])
async def test_rollback_key_over_palette_help_and_fault_menu(opener: str) -> None:
    engine = FakeEngine()
    app = make_app(engine, faults=RecordingFaults())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(opener)
        await settle(pilot)
        assert not isinstance(app.screen, MainScreen)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert engine.names() == ["rollback"]
