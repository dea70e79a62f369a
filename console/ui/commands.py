"""Every console action in the command palette (Ctrl+P)."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

PALETTE: tuple[tuple[str, str, str], ...] = (
    ("Roll back now", "rollback", "Traffic to 0% at once (also Ctrl+R anywhere)"),
    ("Apply chosen traffic level", "apply_level", "Confirm from, to and gates first"),
    ("Hold", "hold", "Stop the hold clock (asks for a reason)"),
    ("Resume", "resume", "Restart the hold clock (asks for a reason)"),
    ("Extend hold by 10 minutes", "extend", "Asks for a reason"),
    ("Re-arm after rollback", "rearm", "Asks for a reason"),
    ("Credentials", "credentials", "Set, replace or delete"),
    ("Fault menu", "faults", "Inject or clear simulator faults"),
    ("Toggle low-bandwidth view", "toggle_low_bandwidth", "Numbers and sparklines"),
    ("Keys", "help", "Show every key"),
    ("Quit", "quit_console", "Asks first while driving"),
)
"""(title, app action, help) for each entry."""


class ConsoleCommands(Provider):
    """Offers the console's actions; each runs the same app action as its key."""

    async def _run(self, action: str) -> None:
        await self.app.run_action(action)

    async def discover(self) -> Hits:
        for title, action, help_text in PALETTE:
            yield DiscoveryHit(title, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, action, help_text in PALETTE:
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(self._run, action),
                    help=help_text,
                )
