"""The two-line status bar: where the cutover stands, in one glance."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content

from console.engine.model import Overall, Phase, Snapshot
from console.ui import format as fmt
from console.ui.keys import ROLLBACK_LABEL
from console.ui.widgets.quiet_static import QuietStatic

_VERDICT_STYLE = {
    Overall.OK: "bold $success",
    Overall.WARN: "bold $warning",
    Overall.BREACH: "bold reverse $error",
    Overall.INSUFFICIENT: "bold $warning",
    Overall.ROLLED_BACK: "bold reverse $error",
}


def status_content(
    snap: Snapshot | None, now: float, *, coarse: bool = False
) -> tuple[Content, Content]:
    """The two lines of the status bar as styled content."""
    if snap is None:
        return Content("waiting for the engine's first snapshot…"), Content.styled(
            f" {ROLLBACK_LABEL} ROLL BACK ", "bold reverse $error"
        )
    env = snap.env.upper() + (" (production)" if snap.production else "")
    hold = fmt.hold_left(snap, now)
    left = fmt.duration(hold, coarse=coarse)
    hold_txt = f"hold {left}" if hold is not None else snap.phase.value
    if snap.phase is Phase.PAUSED:
        hold_txt = f"PAUSED, {left} left"
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
        router = snap.router
        tail = (
            f"router {snap.router_kind} {fmt.pct(router.effective_pct)}"
            f" (requested {fmt.pct(router.requested_pct)})",
            "dim",
        )
        if router.error:
            tail = (f"⚠ router unreadable: {router.error}", "bold $error")
    line2 = Content.assemble(
        (f" {ROLLBACK_LABEL} ROLL BACK ", "bold reverse $error"),
        "  ",
        tail,
        ("   ? keys", "dim"),
    )
    return line1, line2


class StatusLine(Vertical):
    """Env, traffic %, stage N of M, hold countdown, verdict, role, rollback key.

    Two one-line widgets, so that the ticking countdown redraws one line only.
    """

    DEFAULT_CSS = """
    StatusLine { height: 2; width: 1fr; background: $panel; padding: 0 1; }
    StatusLine > QuietStatic { height: 1; }
    """

    def compose(self) -> ComposeResult:
        yield QuietStatic(id="status-1")
        yield QuietStatic(id="status-2")

    def show(self, snap: Snapshot | None, now: float, *, coarse: bool = False) -> None:
        """Re-render from a snapshot (each line redrawn only when it changed)."""
        line1, line2 = status_content(snap, now, coarse=coarse)
        self.query_one("#status-1", QuietStatic).set_content(line1)
        self.query_one("#status-2", QuietStatic).set_content(line2)
