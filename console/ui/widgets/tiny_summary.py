"""Below 80x24: a legible summary instead of a broken layout."""

from __future__ import annotations

from textual.content import Content

from console.engine.model import Snapshot
from console.ui import format as fmt
from console.ui.keys import ROLLBACK_LABEL
from console.ui.widgets.quiet_static import QuietStatic


def tiny_content(snap: Snapshot | None, now: float, *, coarse: bool = False) -> Content:
    """A handful of short lines that fit 40x12."""
    if snap is None:
        return Content(f"waiting for engine…\n{ROLLBACK_LABEL} = ROLL BACK")
    failing = [g.name for g in snap.gates if g.verdict.value != "PASS"]
    lines = [
        Content.assemble((snap.env.upper(), "bold"), f" {fmt.pct(snap.traffic_pct)}"),
        Content(f"{fmt.stage_text(snap)} {snap.phase.value}"),
        Content.styled(fmt.verdict_text(snap), "bold reverse"),
        Content(f"hold {fmt.countdown(fmt.hold_left(snap, now), coarse=coarse)}"),
        Content(f"not passing: {', '.join(failing) or 'none'}"),
        Content(snap.role.value),
        Content.assemble((f"{ROLLBACK_LABEL} = ROLL BACK", "bold $error")),
        Content.styled("enlarge to 80x24 for more", "dim"),
    ]
    if snap.rolled_back_reason:
        lines.insert(3, Content(f"why: {snap.rolled_back_reason}"))
    return Content("\n").join(lines)


class TinySummary(QuietStatic):
    """Shown only when the terminal is smaller than 80x24."""

    DEFAULT_CSS = """
    TinySummary { display: none; padding: 0 1; }
    """

    def show(self, snap: Snapshot | None, now: float, *, coarse: bool = False) -> None:
        """Re-render from a snapshot."""
        self.set_content(tiny_content(snap, now, coarse=coarse))
