"""Set, replace or delete an environment's credentials. Keys are typed into
password inputs and never shown; the dialog returns them to the app, which hands
them to the credential store in a worker and drops them.

Password managers auto-type "Tab vendor Tab key" in one burst. Textual routes each
key to the widget focused when the app reads it, while a plain Tab binding moves
focus only later, as the key bubbles up: the burst's characters then land in the
wrong field. Here Tab is a priority binding, so focus moves before the next key is
routed; and the vendor field is masked as well, so that a key typed into it by
mistake is never shown in clear (and is refused on save).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from console.ui.screens.reason import CSS_PATH

LOOKS_LIKE_KEY = re.compile(r"^(sk|pk|rk)_", re.IGNORECASE)
"""BOOP-style API key prefixes: such a value in the vendor field is a mistake."""


@dataclass(frozen=True)
class CredentialChange:
    """A set (with values) or a delete (without)."""

    env: str
    delete: bool = False
    vendor_id: str = ""
    api_key: str = field(default="", repr=False)
    """Kept out of repr so that no log or traceback shows it."""


class CredentialsScreen(ModalScreen[CredentialChange | None]):
    """Asks for env, vendor id and API key (password input)."""

    CSS_PATH = CSS_PATH
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        # Priority: focus moves before the next key of an auto-type burst is routed.
        Binding("tab", "app.focus_next", "Next field", show=False, priority=True),
        Binding(
            "shift+tab",
            "app.focus_previous",
            "Previous field",
            show=False,
            priority=True,
        ),
    ]

    def __init__(self, envs: Sequence[str]) -> None:
        super().__init__()
        self.envs = list(envs) or ["prod"]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Credentials", classes="title")
            yield Select(
                [(e, e) for e in self.envs],
                value=self.envs[-1],
                allow_blank=False,
                id="env",
            )
            yield Input(
                placeholder="vendor id (hidden)",
                password=True,
                id="vendor",
                compact=True,
            )
            yield Input(
                placeholder="API key (hidden)", password=True, id="key", compact=True
            )
            yield Label("", id="problem", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Delete", id="delete", variant="error", compact=True)
                yield Button("Save", id="save", variant="primary", compact=True)

    def _env(self) -> str:
        return str(self.query_one("#env", Select).value)

    def _save(self) -> None:
        vendor = self.query_one("#vendor", Input).value.strip()
        key = self.query_one("#key", Input).value.strip()
        if not vendor or not key:
            self.query_one("#problem", Label).update("Both vendor id and key needed.")
            return
        if LOOKS_LIKE_KEY.match(vendor):
            # Cleared so that it cannot be revealed or saved as a vendor id.
            self.query_one("#vendor", Input).value = ""
            self.query_one("#problem", Label).update(
                "The vendor id field held an API key (sk_…); it was cleared. "
                "Type the vendor id there and the key in the key field."
            )
            return
        self.dismiss(CredentialChange(self._env(), vendor_id=vendor, api_key=key))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self._save()
        elif event.button.id == "delete":
            self.dismiss(CredentialChange(self._env(), delete=True))
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        """Close without changing anything."""
        self.dismiss(None)
