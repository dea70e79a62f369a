"""The checklist and credentials summaries (details live in their own dialogs)."""

from __future__ import annotations

from textual.content import Content

from console.engine.model import CredentialSummary, Snapshot
from console.ui import format as fmt
from console.ui.widgets.quiet_static import QuietStatic


def credential_line(
    c: CredentialSummary, now: float, *, width: int | None = None
) -> Content:
    """'prod v_…12ab sk_live_…9f3a keyring 3d00h' (masked by the engine).

    Within ``width`` cells the source label stays whole: the vendor id and then a
    missing stored age are left out first (the key mask and source matter most).
    """
    if c.problem:
        return Content.assemble((f"{c.env:<5}", "bold"), (f" ✗ {c.problem}", "$error"))
    stored = None
    if c.stored_at is not None:
        stored = fmt.duration(now - c.stored_at, coarse=True)
    source = c.source or "unknown source"
    key = c.api_key_masked or fmt.MISSING
    vendor = c.vendor_id_masked or fmt.MISSING
    variants = (
        (vendor, stored or fmt.MISSING),
        (None, stored or fmt.MISSING),
        (None, stored),
    )
    line = Content()
    for shown_vendor, shown_age in variants:
        line = Content.assemble(
            (f"{c.env:<5}", "bold"),
            f" {shown_vendor}" if shown_vendor else "",
            f" {key}",
            (f" {source}" + (f" {shown_age}" if shown_age else ""), "dim"),
        )
        if width is None or line.cell_length <= width:
            break
    return line


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
        width = self.size.width or None
        creds = [credential_line(c, now, width=width) for c in snap.credentials]
        self.set_content(Content("\n").join([head, *creds]))
