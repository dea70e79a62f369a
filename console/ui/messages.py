"""App-level messages: facts, named in the past tense."""

from __future__ import annotations

from textual.message import Message

from console.engine.model import ActionResult, Snapshot


class SnapshotReceived(Message):
    """The engine published a new snapshot (already coalesced by its queue)."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class ActionFinished(Message):
    """An engine action (rollback, shift, ...) returned a result."""

    def __init__(self, action: str, result: ActionResult) -> None:
        super().__init__()
        self.action = action
        self.result = result


class EngineStarted(Message):
    """The engine's loops and probes started (after a deferred start)."""
