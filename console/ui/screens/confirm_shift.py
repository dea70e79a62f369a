"""The raise confirmation: from, to, each gate's verdict and why, and blockers.

Blockers need an override, and an override needs a typed reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from console.engine.model import ShiftPreview
from console.ui.keys import ROLLBACK_LABEL
from console.ui.screens.reason import CSS_PATH
from console.ui.widgets.gate_table import gate_line

PLANNED_REASON = "planned step"


@dataclass(frozen=True)
class ShiftDecision:
    """What the person confirmed."""

    to_pct: float
    reason: str
    override: bool


class ConfirmShiftScreen(ModalScreen[ShiftDecision | None]):
    """Asks before any traffic change; returns None when cancelled."""

    CSS_PATH = CSS_PATH
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, preview: ShiftPreview) -> None:
        super().__init__()
        self.preview = preview

    def compose(self) -> ComposeResult:
        p = self.preview
        direction = "RAISE" if p.to_pct > p.from_pct else "LOWER"
        with Vertical(classes="dialog"):
            yield Label(
                f"{direction} traffic to BOOP: {p.from_pct:g}% → {p.to_pct:g}%",
                classes="title",
            )
            gates = [gate_line(g) for g in p.gates] or [Content("no gate evaluated")]
            yield Static(Content("\n").join(gates), id="gates")
            if p.blockers:
                text = "\n".join(f"✗ {b}" for b in p.blockers)
                yield Static(f"Blocked:\n{text}", id="blockers", classes="error")
            hint = (
                "Override: type why you accept the blockers, then Enter."
                if p.needs_override
                else f"Reason (optional, default '{PLANNED_REASON}'), then Enter."
            )
            yield Label(hint, classes="hint")
            yield Input(placeholder="reason", id="reason", compact=True)
            yield Label("", id="problem", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel (Esc)", id="cancel", compact=True)
                label = "Override and apply" if p.needs_override else "Apply"
                yield Button(label, id="apply", variant="warning", compact=True)
            yield Label(f"{ROLLBACK_LABEL} rolls back at any time.", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    def _confirm(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if self.preview.needs_override and not reason:
            self.query_one("#problem", Label).update(
                "An override needs a reason: it goes into the journal."
            )
            return
        self.dismiss(
            ShiftDecision(
                self.preview.to_pct,
                reason or PLANNED_REASON,
                self.preview.needs_override,
            )
        )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._confirm()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self._confirm()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        """Close without changing traffic."""
        self.dismiss(None)
