"""The console's key map, in one place so the status line, the help screen and the
bindings never disagree.

Rollback is Ctrl+R: a plain control byte (0x12) that every terminal sends, over ssh,
inside tmux (whose prefix is Ctrl+B) and screen (Ctrl+A); it is not a flow-control key
(Ctrl+S/Ctrl+Q), not a signal key (Ctrl+C/Ctrl+Z/Ctrl+\\) and not bound by Textual's
Input. Function keys are avoided because some terminals and laptops swallow them.
"""

from __future__ import annotations

ROLLBACK_KEY = "ctrl+r"
ROLLBACK_LABEL = "^R"

HELP_ROWS: tuple[tuple[str, str], ...] = (
    ("Ctrl+R", "ROLL BACK now: traffic to 0%, from every screen and dialog"),
    ("← / →", "choose a planned level (the choice starts at the current one)"),
    ("Enter", "apply the choice, or raise one step from the current (asks)"),
    ("h", "hold: stop the hold clock (asks for a reason)"),
    ("u", "resume the hold clock (asks for a reason)"),
    ("x", "extend the hold by 10 minutes (asks for a reason)"),
    ("a", "re-arm after a rollback (asks for a reason)"),
    ("c", "credentials: set, replace or delete (keys are never shown)"),
    ("f", "fault menu (demo and game days only)"),
    ("l", "low-bandwidth view: numbers and sparklines only"),
    ("Ctrl+P", "command palette: every action, and themes"),
    ("?", "this help"),
    ("q / Ctrl+Q", "quit (asks first while this console drives the cutover)"),
    ("Escape", "close a dialog without doing anything"),
)
