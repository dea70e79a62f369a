"""A Static that ignores updates which would draw the same thing again.

Textual repaints a whole widget region on every update, even an identical one, and
a 1 Hz snapshot stream would otherwise re-send every pane to the terminal each
second: over a slow link that is most of the byte budget.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static


def _key(content: Content | str) -> object:
    # Content equality ignores styles; a colour change must still redraw.
    if isinstance(content, Content):
        return (content.plain, tuple(content.spans))
    return content


class QuietStatic(Static):
    """Static with :meth:`set_content`, which redraws only on a real change."""

    _shown_key: object = None

    def set_content(self, content: Content | str) -> bool:
        """Show ``content``; return whether anything was redrawn."""
        key = _key(content)
        if key == self._shown_key:
            return False
        self._shown_key = key
        self.update(content)
        return True
