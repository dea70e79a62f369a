"""The checklist and credentials summaries (details live in their own dialogs)."""

from __future__ import annotations

from textual.content import Content

from console.engine.model import CredentialSummary, Snapshot
from console.ui import format as fmt
from console.ui.widgets.quiet_static import QuietStatic


def credential_line(c: CredentialSummary, now: float) -> Content:
    """'prod v_…12ab sk_live_…9f3a keyring 3d00h' (masked by the engine)."""
    if c.problem:
        return Content.assemble((f"{c.env:<5}", "bold"), (f" ✗ {c.problem}", "$error"))
    stored = fmt.MISSING
    if c.stored_at is not None:
        stored = fmt.duration(now - c.stored_at, coarse=True)
    return Content.assemble(
        (f"{c.env:<5}", "bold"),
        f" {c.vendor_id_masked or fmt.MISSING} {c.api_key_masked or fmt.MISSING}",
        (f" {c.source} {stored}", "dim"),
    )


class Summaries(QuietStatic):
    """Checklist progress, then one line per environment's credentials."""

    DEFAULT_CSS = """
    Summaries {
        height: auto; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis;
    }
    """

    def show(self, snap: Snapshot, now: float) -> None:
        """Re-render from a snapshot."""
        cl = snap.checklist
        if cl is None:
            head = Content("checklist: none")
        else:
            style = "$success" if cl.done == cl.total else "$warning"
            extra = f", {cl.overdue} overdue" if cl.overdue else ""
            head = Content.assemble(
                "checklist ",
                (f"{cl.done}/{cl.total}{extra}", style),
                (f"  next: {cl.next_items[0]}" if cl.next_items else "", "dim"),
            )
        creds = [credential_line(c, now) for c in snap.credentials]
        self.set_content(Content("\n").join([head, *creds]))
