"""What the screen says after a rollback: ROLLED BACK, the reason and the steps."""

from __future__ import annotations

from textual.content import Content

from console.engine.model import Phase, RollbackStep, Snapshot
from console.ui.widgets.quiet_static import QuietStatic

_STEP_STYLE = {
    "done": ("✓", "$success"),
    "running": ("…", "$warning"),
    "pending": ("·", "dim"),
    "failed": ("✗", "bold $error"),
    "skipped": ("-", "dim"),
}


def step_line(step: RollbackStep) -> Content:
    """'✓ stop new traffic 0.04 s  router at 0%'."""
    mark, style = _STEP_STYLE.get(step.status, ("?", "$warning"))
    took = f" {step.duration_s:.2f} s" if step.duration_s is not None else ""
    return Content.assemble(
        (f"{mark} {step.name}", style), (took, "dim"), f"  {step.detail}"
    )


class RollbackPanel(QuietStatic):
    """Shown instead of the charts while rolling back and once rolled back."""

    DEFAULT_CSS = """
    RollbackPanel {
        height: auto; padding: 0 1; border: heavy $error; display: none;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    RollbackPanel.-shown { display: block; }
    """

    def show(self, snap: Snapshot) -> None:
        """Show the panel in the two rollback phases, hide it otherwise."""
        shown = snap.phase in (Phase.ROLLING_BACK, Phase.ROLLED_BACK)
        self.set_class(shown, "-shown")
        if not shown:
            return
        title = "ROLLED BACK" if snap.phase is Phase.ROLLED_BACK else "ROLLING BACK"
        lines = [
            Content.assemble(
                (f" {title} ", "bold reverse $error"),
                f"  {snap.rolled_back_reason or 'no reason recorded'}",
            ),
            *(step_line(s) for s in snap.rollback_steps),
        ]
        if snap.evidence_path:
            lines.append(Content.assemble(("evidence ", "dim"), snap.evidence_path))
        lines.append(
            Content("Traffic stays at 0% until someone re-arms (a) with a reason.")
        )
        self.set_content(Content("\n").join(lines))
