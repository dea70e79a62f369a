"""Per environment: last probe, latency, version (and when it changed), uptime,
WebSocket state and round trip."""

from __future__ import annotations

from textual.content import Content

from console.engine.model import HealthState, Snapshot, StreamState
from console.ui import format as fmt
from console.ui.widgets.quiet_static import QuietStatic


def health_line(
    h: HealthState, s: StreamState | None, now: float, *, coarse: bool = False
) -> Content:
    """One environment on one line; ``coarse`` (low bandwidth) rounds the
    latencies to one significant figure."""
    ms = fmt.coarse_ms if coarse else fmt.ms
    if h.ok is None:
        mark = ("?", "$warning")
    else:
        mark = ("●", "$success") if h.ok else ("✗", "bold $error")
    version = h.version or fmt.MISSING
    if h.version_changed_at is not None:
        version += f" (new {fmt.duration(now - h.version_changed_at, coarse=True)})"
    ws: tuple[str, str] = ("ws –", "dim")
    if s is not None:
        style = "$success" if s.state == "connected" else "bold $warning"
        state = "ok" if s.state == "connected" else s.state
        ws = (f"ws {state} {ms(s.rtt_ms)} ↻{s.reconnects}", style)
    parts: list[str | tuple[str, str]] = [
        mark,
        (f" {h.env:<5}", "bold"),
        f" {ms(h.latency_ms):>7} {fmt.pct(h.uptime_pct, 2):>7} v{version}"
        f" {fmt.freshness(h.last_probe_at, now)}  ",
        ws,
    ]
    if h.error:
        parts.append((f"  {h.error}", "$error"))
    return Content.assemble(*parts)


class HealthStrip(QuietStatic):
    """One line per environment."""

    DEFAULT_CSS = """
    HealthStrip { height: auto; padding: 0 1; }
    """

    def show(self, snap: Snapshot, now: float, *, coarse: bool = False) -> None:
        """Re-render from a snapshot (``coarse``: latencies to one figure)."""
        streams = {s.env: s for s in snap.streams}
        lines = [
            health_line(h, streams.get(h.env), now, coarse=coarse) for h in snap.health
        ]
        self.set_content(Content("\n").join(lines) if lines else "health: no probe yet")
