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


_SHORT_VERDICT = {Overall.INSUFFICIENT: "NO DATA"}
"""Shorter verdict words for narrow terminals (the gate table says NO DATA too)."""


def _line1(
    snap: Snapshot, now: float, *, coarse: bool, short: int, starting: bool = False
) -> Content:
    """The first status line; ``short`` 0..3 shortens more and more of it, never
    the role. ``starting``: the engine has not started, said where the phase goes."""
    env = snap.env.upper()
    if snap.production:
        env += " (production)" if short < 3 else " (prod)"
    hold = fmt.hold_left(snap, now)
    left = fmt.countdown(hold, coarse=coarse)
    hold_txt = f"hold {left}" if hold is not None else snap.phase.value
    if snap.phase is Phase.PAUSED:
        hold_txt = f"PAUSED, {left} left" if short < 1 else f"PAUSED {left}"
    if starting:
        hold_txt = "starting…"
    stage = fmt.stage_text(snap)
    if short >= 1:
        stage = stage.removeprefix("stage ")
    verdict = fmt.verdict_text(snap)
    if short >= 2:
        verdict = _SHORT_VERDICT.get(snap.overall, verdict)
    return Content.assemble(
        (env, "bold"),
        f" {fmt.pct(snap.traffic_pct)} ",
        (stage, "dim"),
        " │ ",
        hold_txt,
        " │ ",
        (f" {verdict} ", _VERDICT_STYLE[snap.overall]),
        " │ ",
        (snap.role.value, "bold" if snap.role.value == "driver" else "italic"),
    )


def fit_line1(
    snap: Snapshot,
    now: float,
    *,
    coarse: bool,
    width: int | None,
    starting: bool = False,
) -> Content:
    """The first line within ``width`` cells: other parts shorten first, and if
    that is not enough the middle is cut, so that the role always stays visible."""
    line = _line1(snap, now, coarse=coarse, short=0, starting=starting)
    if width is None:
        return line
    for short in range(1, 4):
        if line.cell_length <= width:
            return line
        line = _line1(snap, now, coarse=coarse, short=short, starting=starting)
    if line.cell_length <= width:
        return line
    role = Content.assemble(
        " │ ",
        (snap.role.value, "bold" if snap.role.value == "driver" else "italic"),
    )
    head = line[: max(0, width - role.cell_length - 1)]
    return Content.assemble(head, "…", role)


def status_content(
    snap: Snapshot | None,
    now: float,
    *,
    coarse: bool = False,
    width: int | None = None,
    starting: bool = False,
) -> tuple[Content, Content]:
    """The two lines of the status bar as styled content; ``width`` (cells) makes
    the first line fit, keeping the role visible."""
    if snap is None:
        return Content("waiting for the engine's first snapshot…"), Content.styled(
            f" {ROLLBACK_LABEL} ROLL BACK ", "bold reverse $error"
        )
    line1 = fit_line1(snap, now, coarse=coarse, width=width, starting=starting)
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

    def show(
        self,
        snap: Snapshot | None,
        now: float,
        *,
        coarse: bool = False,
        starting: bool = False,
    ) -> None:
        """Re-render from a snapshot (each line redrawn only when it changed);
        ``starting``: the engine has not started yet."""
        # Before the first layout the width is 0: render in full, fit next tick.
        width = self.size.width or None
        line1, line2 = status_content(
            snap, now, coarse=coarse, width=width, starting=starting
        )
        self.query_one("#status-1", QuietStatic).set_content(line1)
        self.query_one("#status-2", QuietStatic).set_content(line2)
