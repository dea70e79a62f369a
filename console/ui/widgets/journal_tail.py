"""The last journal events, each with who and why."""

from __future__ import annotations

from textual.content import Content

from console.engine.model import JournalLine, Snapshot
from console.ui import format as fmt
from console.ui.widgets.quiet_static import QuietStatic


def journal_line(j: JournalLine) -> Content:
    """'12:03:04 alice@jump raise 5%→10%: planned step'."""
    return Content.assemble(
        (fmt.clock(j.ts), "dim"),
        f" {j.who} ",
        (j.action, "bold"),
        f": {j.why}",
    )


class JournalTail(QuietStatic):
    """As many recent events as the screen gives room for (newest last)."""

    DEFAULT_CSS = """
    JournalTail {
        height: 1fr; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis;
    }
    """

    def show(self, snap: Snapshot) -> None:
        """Re-render from a snapshot, newest at the bottom."""
        room = max(1, self.size.height or 3)
        lines = [journal_line(j) for j in snap.journal_tail[-room:]]
        self.set_content(
            Content("\n").join(lines) if lines else "journal: no events yet"
        )
