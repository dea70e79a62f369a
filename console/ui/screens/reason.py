"""A dialog that asks for a typed reason (re-arm, hold, resume, extend, override)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

CSS_PATH = Path(__file__).with_name("dialogs.tcss")


class ReasonScreen(ModalScreen[str | None]):
    """Returns the reason typed (non-empty), or None when cancelled with Escape."""

    CSS_PATH = CSS_PATH
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, explanation: str, *, placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.explanation = explanation
        self.placeholder = placeholder or "why? (recorded in the journal)"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="title")
            yield Label(self.explanation, classes="hint")
            yield Input(placeholder=self.placeholder, id="reason", compact=True)
            yield Label("", id="problem", classes="error")
            yield Label("Enter: confirm   Escape: cancel", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """An empty reason is refused on the spot: the journal needs a why."""
        reason = event.value.strip()
        if not reason:
            self.query_one("#problem", Label).update("A reason is required.")
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        """Close without doing anything."""
        self.dismiss(None)
