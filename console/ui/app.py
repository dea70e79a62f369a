"""The console app: a thin hub of screens, bindings and workers.

Data flows one way: an exclusive worker takes snapshots from the engine's single-slot
queue and posts :class:`SnapshotReceived`; the main screen re-renders from it. Every
request to the engine runs in a worker (group ``engine-actions``) that reports back
with :class:`ActionFinished`; one handler turns worker failures into notifications.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from console.engine.model import ActionResult, EngineAPI, Phase, Role, Snapshot
from console.errors import ConsoleError
from console.ui.commands import ConsoleCommands
from console.ui.keys import ROLLBACK_KEY, ROLLBACK_LABEL
from console.ui.messages import ActionFinished, EngineStarted, SnapshotReceived
from console.ui.protocols import CredentialEditor, FaultMenu
from console.ui.screens.confirm_shift import ConfirmShiftScreen, ShiftDecision
from console.ui.screens.credentials import CredentialChange, CredentialsScreen
from console.ui.screens.main import CHART_INTERVAL_S, MAIN_CSS, MainScreen
from console.ui.screens.reason import ReasonScreen
from console.ui.screens.simple import CLEAR_FAULTS, FaultScreen, HelpScreen, QuitScreen
from console.ui.themes import DEFAULT_THEME, load_themes
from console.ui.widgets.metric_chart import STALE_AFTER_S
from console.ui.widgets.traffic_slider import TrafficSlider

log = logging.getLogger("console.ui")

EXTEND_S = 600.0
"""What one press of `x` adds to the hold."""


class ConsoleApp(App[int]):
    """The console the on-call engineer lives in during a cutover."""

    TITLE = "boop-console"
    CSS_PATH = MAIN_CSS
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    # Plain attributes: mypy rejects ClassVar here (App declares them untyped).
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012
        (0, "-narrow"),
        (80, "-normal"),
        (140, "-wide"),
    ]
    VERTICAL_BREAKPOINTS = [  # noqa: RUF012
        (0, "-short"),
        (24, "-high"),
        (40, "-tall"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: rollback wins over every screen, dialog and input field.
        Binding(ROLLBACK_KEY, "rollback", f"{ROLLBACK_LABEL} ROLL BACK", priority=True),
        Binding("ctrl+q", "quit_console", "Quit", priority=True),
        Binding("q", "quit_console", "Quit"),
        Binding("question_mark", "help", "Keys"),
        Binding("h", "hold", "Hold"),
        Binding("u", "resume", "Resume"),
        Binding("x", "extend", "Extend hold"),
        Binding("a", "rearm", "Re-arm"),
        Binding("c", "credentials", "Credentials"),
        Binding("f", "faults", "Faults"),
        Binding("l", "toggle_low_bandwidth", "Low bandwidth"),
    ]

    def __init__(
        self,
        engine: EngineAPI,
        *,
        theme: str = DEFAULT_THEME,
        low_bandwidth: bool = False,
        faults: FaultMenu | None = None,
        credentials: CredentialEditor | None = None,
        who: str,
        clock: Callable[[], float] = time.time,
        chart_interval_s: float = CHART_INTERVAL_S,
        stale_after_s: float = STALE_AFTER_S,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.faults = faults
        self.credentials = credentials
        self.who = who
        self.clock = clock
        self.low_bandwidth = low_bandwidth
        self.chart_interval_s = chart_interval_s
        self.stale_after_s = stale_after_s
        self.snapshot: Snapshot | None = None
        self.started = threading.Event()
        """Set once the first snapshot is on screen (dialogs may be asked from
        other threads from then on)."""
        self.waiting: str | None = None
        """Shown where the health rows go until the engine has started (a deferred
        start: the demo's simulator is still coming up)."""
        self.start_error: ConsoleError | None = None
        """Why a deferred start failed (the command raises it after the UI)."""
        self.history: list[str] = []
        """Facts in the order handled ('snapshot', 'rollback: ok'...), for tests."""
        themes = load_themes()
        for t in themes.values():
            self.register_theme(t)
        self.theme_problem: str | None = None
        """Said on stderr by the command before the UI starts (None: theme found)."""
        if theme not in self.available_themes:
            ours = sorted(themes)
            others = sorted(set(self.available_themes) - set(ours))
            names = ", ".join([*ours, *others])
            self.theme_problem = (
                f"unknown theme {theme!r}; using {DEFAULT_THEME}; themes: {names}"
            )
            log.warning("%s", self.theme_problem)
            theme = DEFAULT_THEME
        self.theme = theme

    @property
    def main(self) -> MainScreen:
        """The main screen (always at the bottom of the stack)."""
        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    def get_default_screen(self) -> MainScreen:
        return MainScreen(
            low_bandwidth=self.low_bandwidth,
            chart_interval_s=self.chart_interval_s,
            stale_after_s=self.stale_after_s,
            # The main screen composes after the app mounts: render once it
            # exists, before its first paint.
            on_mounted=self._start,
        )

    def _start(self) -> None:
        self._render(self.engine.snapshot())
        # Again once laid out: widths (status line fit, charts shown) are known
        # only then.
        self.call_after_refresh(self._rerender)
        self._follow_engine()
        self.set_interval(1.0, self._tick)
        self.started.set()

    # Snapshots -----------------------------------------------------------------

    @work(
        exclusive=True,
        group="engine-stream",
        description="engine snapshots",
        exit_on_error=False,
    )
    async def _follow_engine(self) -> None:
        queue = self.engine.subscribe()
        try:
            while True:
                self.post_message(SnapshotReceived(await queue.get()))
        finally:
            queue.close()

    def on_snapshot_received(self, message: SnapshotReceived) -> None:
        self.history.append("snapshot")
        self._render(message.snapshot)

    def _render(self, snap: Snapshot) -> None:
        self.snapshot = snap
        self.main.waiting = self.waiting
        self.main.show(snap, self.clock())

    def _rerender(self) -> None:
        if self.snapshot is not None:
            self._render(self.snapshot)

    def engine_started(self) -> None:
        """Called (from the event loop) once a deferred engine start is done."""
        self.post_message(EngineStarted())

    def on_engine_started(self, message: EngineStarted) -> None:
        self.history.append("engine started")
        self.waiting = None
        if self.snapshot is not None:
            self._render(self.snapshot)

    def _tick(self) -> None:
        self.main.tick(self.snapshot, self.clock())

    # Engine calls ----------------------------------------------------------------

    def _call(self, action: str, call: Callable[[], Awaitable[ActionResult]]) -> None:
        async def runner() -> None:
            self.post_message(ActionFinished(action, await call()))

        self.history.append(f"{action}: requested")
        self.run_worker(
            runner(), group="engine-actions", description=action, exit_on_error=False
        )

    def on_action_finished(self, message: ActionFinished) -> None:
        result = message.result
        self.history.append(f"{message.action}: {'ok' if result.ok else 'refused'}")
        log.info("%s: %s (%s)", message.action, result.ok, result.message)
        self.notify(
            result.message,
            title=message.action,
            severity="information" if result.ok else "error",
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a failed worker becomes a notification (and a log line)."""
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        what = event.worker.description or event.worker.name
        self.history.append(f"{what}: failed")
        log.error("%s failed", what, exc_info=error)
        title = error.title if isinstance(error, ConsoleError) else "Unexpected error"
        self.notify(
            f"{what} failed: {error}", title=title, severity="error", timeout=15
        )

    def _at_main(self) -> bool:
        """Actions other than rollback open dialogs only from the main screen."""
        return not isinstance(self.screen, ModalScreen)

    def _may_steer(self) -> bool:
        """Observers are read-only (rollback excepted), and nobody steers before
        the engine's probes and gates run: say so instead of asking."""
        if self.waiting is not None:
            self.notify(
                f"Still starting ({self.waiting}): raising traffic waits until the "
                f"console can see it. {ROLLBACK_LABEL} rolls back now.",
                severity="warning",
            )
            return False
        if self.snapshot is not None and self.snapshot.role is Role.OBSERVER:
            self.notify(
                f"Observer: read-only. Another console drives; {ROLLBACK_LABEL} still "
                "rolls back from here.",
                severity="warning",
            )
            return False
        return True

    # Actions ---------------------------------------------------------------------

    def action_rollback(self) -> None:
        """One key, no typing, from anywhere: the engine rolls back (or says no-op)."""
        if isinstance(self.screen, ConfirmShiftScreen):
            # A pending raise makes no sense any more; show the rolled-back state.
            self.screen.dismiss(None)
        reason = f"{ROLLBACK_LABEL} pressed in the console"
        self._call(
            "rollback", lambda: self.engine.rollback(who=self.who, reason=reason)
        )

    def on_traffic_slider_shift_requested(
        self, msg: TrafficSlider.ShiftRequested
    ) -> None:
        self._confirm_shift(msg.to_pct)

    def action_apply_level(self) -> None:
        """Same as Enter on the slider."""
        self.main.query_one(TrafficSlider).action_apply()

    def _confirm_shift(self, to_pct: float) -> None:
        if not self._at_main() or not self._may_steer():
            return
        preview = self.engine.preview_shift(to_pct)

        def decided(decision: ShiftDecision | None) -> None:
            if decision is None:
                self.history.append("shift: cancelled")
                return
            self._call(
                "shift",
                lambda: self.engine.shift(
                    decision.to_pct,
                    who=self.who,
                    reason=decision.reason,
                    override=decision.override,
                ),
            )

        self.history.append("shift: confirming")
        self.push_screen(ConfirmShiftScreen(preview), decided)

    def _with_reason(
        self,
        action: str,
        title: str,
        explanation: str,
        call: Callable[[str], Awaitable[ActionResult]],
    ) -> None:
        if not self._at_main() or not self._may_steer():
            return

        def decided(reason: str | None) -> None:
            if reason is not None:
                self._call(action, lambda: call(reason))

        self.push_screen(ReasonScreen(title, explanation), decided)

    def action_hold(self) -> None:
        """Stop the hold clock."""
        self._with_reason(
            "hold",
            "Hold",
            "Stop the hold clock at this level.",
            lambda r: self.engine.hold(who=self.who, reason=r),
        )

    def action_resume(self) -> None:
        """Restart the hold clock."""
        self._with_reason(
            "resume",
            "Resume",
            "Restart the hold clock.",
            lambda r: self.engine.resume(who=self.who, reason=r),
        )

    def action_extend(self) -> None:
        """Add ten minutes to the hold."""
        self._with_reason(
            "extend",
            "Extend hold",
            f"Add {EXTEND_S / 60:.0f} minutes to the hold.",
            lambda r: self.engine.extend_hold(EXTEND_S, who=self.who, reason=r),
        )

    def action_rearm(self) -> None:
        """Leave ROLLED BACK; traffic stays at 0% until someone raises it."""
        if self.snapshot is not None and self.snapshot.phase is not Phase.ROLLED_BACK:
            self.notify("Nothing to re-arm: not rolled back.")
            return
        self._with_reason(
            "rearm",
            "Re-arm after rollback",
            "Traffic stays at 0%; raising it becomes possible again.",
            lambda r: self.engine.rearm(who=self.who, reason=r),
        )

    def action_credentials(self) -> None:
        """Set, replace or delete credentials (when a store was given)."""
        if not self._at_main():
            return
        store = self.credentials
        if store is None:
            self.notify("No credential store here: use `boop-console creds`.")
            return
        envs = [c.env for c in self.snapshot.credentials] if self.snapshot else []

        def decided(change: CredentialChange | None) -> None:
            if change is not None:
                self._change_credentials(store, change)

        self.push_screen(CredentialsScreen(envs), decided)

    def _change_credentials(
        self, store: CredentialEditor, change: CredentialChange
    ) -> None:
        async def runner() -> None:
            if change.delete:
                await asyncio.to_thread(store.delete, change.env)
                message = f"{change.env}: credentials deleted"
            else:
                await asyncio.to_thread(
                    store.set, change.env, change.vendor_id, change.api_key
                )
                message = f"{change.env}: credentials stored"
            self.post_message(
                ActionFinished("credentials", ActionResult(True, message))
            )

        self.run_worker(
            runner(),
            group="credentials",
            description="credentials",
            exit_on_error=False,
        )

    def action_faults(self) -> None:
        """Inject or clear a simulator fault (demo only)."""
        menu = self.faults
        if not self._at_main():
            return
        if menu is None:
            self.notify("No fault menu: faults exist only in the demo.")
            return

        def chosen(kind: str | None) -> None:
            if kind is None:
                return

            async def runner() -> None:
                if kind == CLEAR_FAULTS:
                    await menu.clear()
                else:
                    await menu.inject(kind)
                self.post_message(ActionFinished("fault", ActionResult(True, kind)))

            self.run_worker(
                runner(),
                group="faults",
                description=f"fault {kind}",
                exit_on_error=False,
            )

        self.push_screen(FaultScreen(menu.kinds()), chosen)

    def action_toggle_low_bandwidth(self) -> None:
        """Charts or numbers-with-sparklines."""
        self.low_bandwidth = not self.low_bandwidth
        self.main.set_low_bandwidth(self.low_bandwidth)
        if self.snapshot is not None:
            self._render(self.snapshot)

    def action_help(self) -> None:
        """Show every key."""
        if self._at_main():
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Textual's palette entries minus its own Quit: ours (which asks the
        driver first) is the one Quit in the palette."""
        for command in super().get_system_commands(screen):
            if command.title != "Quit":
                yield command

    async def action_quit(self) -> None:
        """Textual's quit (its Ctrl+Q, any stray caller) asks like ours does."""
        self.action_quit_console()

    def action_quit_console(self) -> None:
        """Quit; the driver is asked first."""
        if self.snapshot is None or self.snapshot.role is not Role.DRIVER:
            self.exit(0)
            return
        if isinstance(self.screen, QuitScreen):
            return

        def answered(quit_: bool | None) -> None:
            self.history.append(f"quit: {'yes' if quit_ else 'no'}")
            if quit_:
                self.exit(0)

        self.history.append("quit: asking")
        self.push_screen(QuitScreen(), answered)
