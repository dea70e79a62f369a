"""A Static that redraws only the lines whose rendering changed.

Textual repaints a whole widget region on every update, even an identical one, and
a 1 Hz snapshot stream would otherwise re-send every pane to the terminal each
second: over a slow link that is most of the byte budget. Two levels of quiet:

- the same content again is a no-op;
- new content is rendered at the widget's width and compared line by line with the
  old rendering; only the lines that differ on screen are repainted. Text cut off by
  an ellipsis can change (a data age in a gate's why) without a byte being sent.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content
from textual.geometry import Region
from textual.strip import Strip
from textual.visual import Visual, visualize
from textual.widget import Widget
from textual.widgets import Static


def _key(content: Content | str) -> object:
    # Content equality ignores styles; a colour change must still redraw.
    if isinstance(content, Content):
        return (content.plain, tuple(content.spans))
    return content


def changed_lines(before: Sequence[Strip], after: Sequence[Strip]) -> list[int]:
    """Indexes of the lines that render differently (text or style)."""
    return [y for y, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]


def repaint_lines(widget: Widget, lines: Sequence[int]) -> None:
    """Mark only ``lines`` of ``widget``'s content dirty: the compositor sends
    those rows and nothing else."""
    width = widget.size.width
    widget.refresh(*(Region(0, y, width, 1) for y in lines))


class QuietStatic(Static):
    """Static with :meth:`set_content`, which redraws only on a real change."""

    _shown_key: object = None
    _quiet_visual: Visual | None = None
    repainted_lines: int = 0
    """Lines repainted by :meth:`set_content` so far (a whole repaint counts its
    height), for tests and measurements."""

    def render(self) -> Visual:  # type: ignore[override]
        """The content last given to :meth:`set_content` (or the Static's own)."""
        if self._quiet_visual is not None:
            return self._quiet_visual
        return self.visual

    def update(self, content: object = "", *, layout: bool = True) -> None:
        """Static's update; :meth:`set_content` compares against it from then on."""
        self._quiet_visual = None
        self._shown_key = None
        super().update(content, layout=layout)  # type: ignore[arg-type]

    def _strips(self, visual: Visual, width: int) -> list[Strip]:
        return Visual.to_strips(self, visual, width, None, self.visual_style)

    def set_content(self, content: Content | str) -> bool:
        """Show ``content``; return whether anything was repainted."""
        key = _key(content)
        if key == self._shown_key:
            return False
        self._shown_key = key
        old = self.render()
        new = visualize(self, content, markup=self._render_markup)
        self._quiet_visual = new
        width = self.size.width
        auto_width = self.styles.width is not None and self.styles.width.is_auto
        if not self.is_mounted or width <= 0 or auto_width:
            # Not laid out yet, or the width follows the content: a full layout.
            self.repainted_lines += max(1, self.size.height)
            self.refresh(layout=True)
            return True
        before, after = self._strips(old, width), self._strips(new, width)
        if len(before) != len(after):
            # The height may change: let the layout place everything again.
            self.repainted_lines += len(after)
            self.refresh(layout=True)
            return True
        changed = changed_lines(before, after)
        if not changed:
            # Same on screen (e.g. only text past an ellipsis moved): the next
            # paint for any other reason renders the new content.
            self._layout_cache.clear()
            return False
        self.repainted_lines += len(changed)
        repaint_lines(self, changed)
        return True
