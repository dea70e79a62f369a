"""Each gate with its verdict and its why (value, threshold, window, samples, age)."""

from __future__ import annotations

import math
import time

from textual.content import Content

from console.engine.model import GateResult, Snapshot, Verdict
from console.ui import format as fmt
from console.ui.widgets.quiet_static import QuietStatic

_MARK = {
    Verdict.PASS: "✓",
    Verdict.WARN: "!",
    Verdict.BREACH: "✗",
    Verdict.INSUFFICIENT: "?",
}


def streak_text(consecutive: int, needed: int) -> str:
    """'[1/2]' on the way to a rollback; '[2/2+]' once the limit is reached and
    the gate keeps breaching (a count past the limit, '26/2', read as nonsense)."""
    if consecutive > needed:
        return f"[{needed}/{needed}+]"
    return f"[{consecutive}/{needed}]"


def gate_line(g: GateResult) -> Content:
    """'✓ PASS  auth_success  auth_success_pct 99.80 % > 99.5 over 60 s (...)'.

    The why is the engine's own text, word for word (as in journal and
    notifications); only the streak column after it is the table's.
    """
    style = fmt.verdict_style(g.verdict)
    label = "NO DATA" if g.verdict is Verdict.INSUFFICIENT else g.verdict.value
    streak = ""
    if g.verdict in (Verdict.WARN, Verdict.BREACH):
        streak = " " + streak_text(g.consecutive_breaches, g.breaches_needed)
    return Content.assemble(
        (f"{_MARK[g.verdict]} {label:<7}", style),
        (f" {g.name:<15}", "bold"),
        f" {g.why}{streak}",
    )


class GateTable(QuietStatic):
    """One line per gate; long whys wrap only on wide screens (ellipsis at 80)."""

    DEFAULT_CSS = """
    GateTable {
        height: auto; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis;
    }
    """

    _verdicts: object = None
    _values_at = -math.inf

    def show(self, snap: Snapshot, *, values_every_s: float = 0.0) -> None:
        """Re-render from a snapshot. ``values_every_s`` (low bandwidth): while no
        verdict or streak changes, the numbers are redrawn at most this often; a
        verdict change is drawn at once."""
        if not snap.gates:
            self._verdicts = None
            self.set_content("gates: none evaluated yet (INSUFFICIENT DATA)")
            return
        verdicts = tuple(
            (g.name, g.verdict, g.consecutive_breaches) for g in snap.gates
        )
        now = time.monotonic()
        if verdicts == self._verdicts and now - self._values_at < values_every_s:
            return
        self._verdicts, self._values_at = verdicts, now
        self.set_content(Content("\n").join(gate_line(g) for g in snap.gates))
