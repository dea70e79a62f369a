"""Small dialogs: quit confirmation, key help, fault menu."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, Static
from textual.widgets.option_list import Option

from console.ui.keys import HELP_ROWS
from console.ui.screens.reason import CSS_PATH

CLEAR_FAULTS = "__clear__"


class QuitScreen(ModalScreen[bool]):
    """Asked before quitting while this console is the driver."""

    CSS_PATH = CSS_PATH
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "answer(False)", "Stay"),
        Binding("y", "answer(True)", "Quit"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Quit the driving console?", classes="title")
            yield Label(
                "This console drives the cutover. After quitting, holds and gates "
                "are watched only if a `boop-console guard` runs; the router stays "
                "as it is.",
                classes="hint",
            )
            with Horizontal(classes="buttons"):
                yield Button("Stay (n)", id="stay", compact=True)
                yield Button("Quit (y)", id="quit", variant="error", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "quit")

    def action_answer(self, quit_: bool) -> None:
        """y quits, n or Escape stays."""
        self.dismiss(quit_)


class HelpScreen(ModalScreen[None]):
    """Every key, in one table."""

    CSS_PATH = CSS_PATH
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close")
    ]

    def compose(self) -> ComposeResult:
        rows = "\n".join(f"{key:>11}  {what}" for key, what in HELP_ROWS)
        with Vertical(classes="dialog"):
            yield Label("Keys", classes="title")
            yield Static(rows)

    def action_close(self) -> None:
        """Back to where you were."""
        self.dismiss(None)


class FaultScreen(ModalScreen[str | None]):
    """Choose a fault to inject (or clear them all); returns its key."""

    CSS_PATH = CSS_PATH
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(self, kinds: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.kinds = kinds

    def compose(self) -> ComposeResult:
        options = [Option(label, id=key) for key, label in self.kinds]
        options.append(Option("clear all faults", id=CLEAR_FAULTS))
        with Vertical(classes="dialog"):
            yield Label("Inject a fault (simulator only)", classes="title")
            yield OptionList(*options)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_close(self) -> None:
        """Close without injecting."""
        self.dismiss(None)


class ConfirmProductionScreen(ModalScreen[bool]):
    """Asked before the first call to a production host (the vendor stream)."""

    CSS_PATH = CSS_PATH
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "answer(False)", "No"),
        Binding("y", "answer(True)", "Yes"),
    ]

    def __init__(self, host: str) -> None:
        super().__init__()
        self.host = host

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Connect to production host {self.host}?", classes="title")
            yield Label(
                f"The console wants to open the vendor stream to {self.host}, a "
                "production BOOP host, with the stored production credentials. "
                "No traffic moves; without a yes the stream stays closed.",
                classes="hint",
            )
            with Horizontal(classes="buttons"):
                yield Button("No (n)", id="no", compact=True)
                yield Button("Connect (y)", id="yes", variant="warning", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        """y connects, n or Escape does not."""
        self.dismiss(yes)
