"""The smallest Textual app: the yardstick for first-frame time and idle cost.

Run it with ``python bench/ref/hello.py``; quit with Ctrl+Q.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Static


class HelloApp(App[None]):
    """One line of text and nothing that changes."""

    def compose(self) -> ComposeResult:
        yield Static("Hello, World")


if __name__ == "__main__":
    HelloApp().run()
