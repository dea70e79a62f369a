"""Where the console keeps its files. One module so that every part agrees.

``BOOP_CONSOLE_STATE_DIR`` and ``BOOP_CONSOLE_CONFIG`` override the defaults, which
follow the platform's conventions (``~/.local/state/boop-console`` and
``~/.config/boop-console/config.toml`` on Linux).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "boop-console"


def default_state_dir() -> Path:
    override = os.environ.get("BOOP_CONSOLE_STATE_DIR")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_state_dir(APP_NAME))


def default_config_path() -> Path:
    override = os.environ.get("BOOP_CONSOLE_CONFIG")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


class StatePaths:
    """The files inside one state directory (shared by every instance of a cutover)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def ensure(self) -> StatePaths:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self

    @property
    def state(self) -> Path:
        """The persisted cutover state (JSON, written atomically)."""
        return self.root / "state.json"

    @property
    def lease(self) -> Path:
        """The driver lease: an exclusive ``flock`` held for the driver's lifetime."""
        return self.root / "lease"

    @property
    def rollback_marker(self) -> Path:
        """Written by any instance that rolls back; the driver honours it."""
        return self.root / "rollback.json"

    @property
    def journal(self) -> Path:
        """Append-only, hash-chained JSON Lines journal."""
        return self.root / "journal.jsonl"

    @property
    def routing_file(self) -> Path:
        """The file router's document when config names no other path."""
        return self.root / "routing.json"

    @property
    def checklist(self) -> Path:
        return self.root / "checklist.json"

    @property
    def evidence_dir(self) -> Path:
        return self.root / "evidence"

    @property
    def log_file(self) -> Path:
        return self.root / "console.log"
