"""The two-line status bar: where the cutover stands, in one glance."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from console.engine.model import Overall, Phase, Snapshot
from console.ui import format as fmt
from console.ui.keys import ROLLBACK_LABEL

_VERDICT_STYLE = {
    Overall.OK: "bold $success",
    Overall.WARN: "bold $warning",
    Overall.BREACH: "bold reverse $error",
    Overall.INSUFFICIENT: "bold $warning",
    Overall.ROLLED_BACK: "bold reverse $error",
}


def status_content(snap: Snapshot | None, now: float) -> Content:
    """Both lines of the status bar as styled content."""
    if snap is None:
        return Content.from_markup(
            "waiting for the engine's first snapshot…  [b]$key[/b] rolls back",
            key=ROLLBACK_LABEL,
        )
    env = snap.env.upper() + (" (production)" if snap.production else "")
    hold = fmt.hold_left(snap, now)
    hold_txt = f"hold {fmt.duration(hold)}" if hold is not None else snap.phase.value
    if snap.phase is Phase.PAUSED:
        hold_txt = f"PAUSED, {fmt.duration(hold)} left"
    line1 = Content.assemble(
        (env, "bold"),
        f" {fmt.pct(snap.traffic_pct)} ",
        (fmt.stage_text(snap), "dim"),
        " │ ",
        hold_txt,
        " │ ",
        (f" {snap.overall.value} ", _VERDICT_STYLE[snap.overall]),
        " │ ",
        (snap.role.value, "bold" if snap.role.value == "driver" else "italic"),
    )
    if snap.warnings:
        tail: tuple[str, str] = ("⚠ " + snap.warnings[0], "bold $error")
    elif snap.router.drift:
        tail = (
            f"⚠ drift: requested {fmt.pct(snap.router.requested_pct)}, "
            f"router applies {fmt.pct(snap.router.effective_pct)}",
            "bold $error",
        )
    elif snap.phase in (Phase.ROLLED_BACK, Phase.ROLLING_BACK):
        tail = (f"{snap.phase.value}: {snap.rolled_back_reason or '?'}", "bold $error")
    else:
        worst = fmt.duration(snap.worst_case_rollback_s)
        tail = (f"auto-rollback ≤ {worst} after a fault", "dim")
    line2 = Content.assemble(
        (f" {ROLLBACK_LABEL} ROLL BACK ", "bold reverse $error"),
        "  ",
        tail,
        ("   ? keys", "dim"),
    )
    return Content("\n").join([line1, line2])


class StatusLine(Static):
    """Env, traffic %, stage N of M, hold countdown, verdict, role, rollback key."""

    DEFAULT_CSS = """
    StatusLine { height: 2; width: 1fr; background: $panel; padding: 0 1; }
    """

    def show(self, snap: Snapshot | None, now: float) -> None:
        """Re-render from a snapshot (cheap: Static diffs its own lines)."""
        self.update(status_content(snap, now))
