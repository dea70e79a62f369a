"""The traffic slider: a bar of planned levels that the arrow keys walk along.

Textual has no slider, and one of our own is a bar plus three bindings. The slider
never changes traffic itself: Enter posts :class:`TrafficSlider.ShiftRequested` and
the app opens the confirmation that shows from, to and the gate verdicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from console.engine.model import Phase, Snapshot
from console.ui import format as fmt
from console.ui.widgets.quiet_static import QuietStatic


def bar(width: int, effective: float | None, chosen: float | None) -> Content:
    """A bar ``width`` cells wide: filled up to the effective share, the chosen
    level marked with a caret-like block."""
    width = max(4, width)
    filled = 0 if effective is None else round(width * max(0.0, effective) / 100)
    mark = None if chosen is None else min(width - 1, round(width * chosen / 100))
    cells: list[tuple[str, str]] = []
    for i in range(width):
        if i == mark:
            cells.append(("▲" if i >= filled else "◆", "bold $accent"))
        elif i < filled:
            cells.append(("█", "$primary"))
        else:
            cells.append(("░", "dim"))
    return Content.assemble("▕", *cells, "▏")


class TrafficSlider(Widget, can_focus=True):
    """The traffic pane: share now, chosen next level, hold and rollback timing."""

    DEFAULT_CSS = """
    TrafficSlider { height: 2; width: 1fr; padding: 0 1; }
    TrafficSlider:focus { background: $boost; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1)", "Lower level", show=False),
        Binding("right", "move(1)", "Next level", show=False),
        Binding("enter", "apply", "Apply level", show=False),
    ]

    class ShiftRequested(Message):
        """The person asked to move traffic to ``to_pct`` (not yet confirmed)."""

        def __init__(self, to_pct: float) -> None:
            super().__init__()
            self.to_pct = to_pct

    chosen: reactive[int] = reactive(0)
    """Index into the choices (0 means 0%, i means levels[i - 1]); starts at the
    current level."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._snap: Snapshot | None = None
        self._now = 0.0
        self._levels: Sequence[int] = ()
        self._shown_key: object = None

    @property
    def choices(self) -> list[int]:
        """0% followed by the planned levels."""
        return [0, *self._levels]

    def show(self, snap: Snapshot, now: float, *, coarse: bool = False) -> None:
        """Take a new snapshot; the choice follows the plan until the person moves."""
        moved = self._snap is not None and self.chosen != self._default_choice()
        self._snap, self._now, self._levels = snap, now, snap.levels
        if not moved:
            self.chosen = self._default_choice()
        self.chosen = min(self.chosen, len(self.choices) - 1)
        # Redraw only when something the two lines show changed; the ticking
        # countdown lives in TrafficFoot so that it redraws one line only.
        key = (snap.traffic_pct, snap.phase, snap.levels, snap.stage)
        if key != self._shown_key:
            self._shown_key = key
            self.refresh()

    def _default_choice(self) -> int:
        """The current level: the selection starts where traffic is."""
        if self._snap is None:
            return 0
        return max(0, min(self._snap.stage + 1, len(self._snap.levels)))

    def target_index(self) -> int:
        """What Enter asks for: the chosen level, or the next planned level while
        the choice is still the current one (so a plain Enter raises one step)."""
        if self._snap is None or self.chosen != self._default_choice():
            return self.chosen
        return min(self.chosen + 1, len(self.choices) - 1)

    def target_pct(self) -> int:
        """The level Enter asks for, in percent."""
        return self.choices[self.target_index()]

    def action_move(self, step: int) -> None:
        """Walk to the previous or next planned level (→ from the current level
        selects the next one)."""
        self.chosen = max(0, min(len(self.choices) - 1, self.chosen + step))

    def action_apply(self) -> None:
        """Ask for the target level; the app confirms before anything moves."""
        if self._snap is not None:
            self.post_message(self.ShiftRequested(float(self.target_pct())))

    def render(self) -> Content:
        snap = self._snap
        if snap is None:
            return Content("traffic: waiting for the engine…")
        to = self.target_pct()
        now_pct = snap.traffic_pct
        head = Content.assemble(
            ("traffic ", "bold"),
            (fmt.pct(now_pct), "bold"),
            f" → next {to}%",
            ("  ←/→ Enter", "dim"),
        )
        if snap.phase is Phase.ROLLED_BACK:
            head = Content.assemble(
                ("traffic ", "bold"),
                (fmt.pct(now_pct), "bold"),
                (" ROLLED BACK (a)", "bold $error"),
            )
        width = max(10, self.size.width - 4)
        return Content("\n").join([head, bar(width, now_pct, to)])


def foot_content(snap: Snapshot, now: float, *, coarse: bool = False) -> Content:
    """'hold 12m03s  auto-rollback ≤ 44s': the two clocks that matter here."""
    left = fmt.countdown(fmt.hold_left(snap, now), coarse=coarse)
    worst = fmt.duration(snap.worst_case_rollback_s)
    return Content.assemble(f"hold {left}", (f"  auto-rollback ≤ {worst}", "dim"))


class TrafficFoot(QuietStatic):
    """The traffic pane's last line: hold countdown and worst-case auto-rollback."""

    DEFAULT_CSS = """
    TrafficFoot { height: 1; padding: 0 1; text-wrap: nowrap; }
    """

    def show(self, snap: Snapshot, now: float, *, coarse: bool = False) -> None:
        """Re-render the countdown (one line)."""
        self.set_content(foot_content(snap, now, coarse=coarse))
