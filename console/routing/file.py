"""The file router: a small JSON document the vendor's application reads.

The document is ``{"boop_percent": 5, "generation": 3, "who": "ana@jump1",
"reason": "...", "at": 1764860000.0, "format_version": 1}``, written atomically
(temporary file, fsync, rename, fsync of the directory). A missing file means 0%:
the application's reader must treat it so (see docs/routing.md for a reader).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

from console.errors import RouterError
from console.routing.atomic import write_json_atomic
from console.routing.base import RouterState

log = logging.getLogger("console.routing")

FORMAT_VERSION = 1
FILE_MODE = 0o644
"""World-readable: the application reading it may run as another user, and a file
it cannot read means 0% to it (the document holds no secret)."""


class FileRouter:
    """Routes by writing ``boop_percent`` into a JSON file."""

    kind = "file"

    def __init__(self, path: Path, *, timeout_s: float = 2.0) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self._requested: float | None = None

    def describe(self) -> str:
        return f"file {self.path}"

    def _read_doc(self) -> dict[str, Any] | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        doc = json.loads(text)
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
        return doc

    def _state(self, doc: dict[str, Any] | None) -> RouterState:
        if doc is None:
            return RouterState(
                effective_pct=0.0,
                requested_pct=self._requested,
                detail=f"no routing file yet at {self.path} (read as 0%)",
            )
        pct = doc.get("boop_percent")
        if not isinstance(pct, (int, float)) or not 0 <= pct <= 100:
            raise ValueError(f"boop_percent is {pct!r}, not a number 0-100")
        gen = doc.get("generation", 0)
        return RouterState(
            effective_pct=float(pct),
            requested_pct=self._requested,
            generation=gen if isinstance(gen, int) else 0,
            detail=f"file generation {gen} by {doc.get('who', '?')}",
        )

    def _write_and_read(self, pct: float, who: str, reason: str) -> RouterState:
        try:
            old = self._read_doc()
        except (OSError, ValueError):
            # A damaged document is replaced: the write is what matters now.
            old = None
        generation = int(old.get("generation", 0)) + 1 if old else 1
        doc = {
            "boop_percent": pct,
            "generation": generation,
            "who": who,
            "reason": reason,
            "at": time.time(),
            "format_version": FORMAT_VERSION,
        }
        write_json_atomic(self.path, doc, mode=FILE_MODE)
        return self._state(self._read_doc())

    async def set_percent(
        self, pct: float, *, who: str, reason: str, draining: bool = False
    ) -> RouterState:
        """Write the split atomically, then read the file back."""
        self._requested = pct
        try:
            async with asyncio.timeout(self.timeout_s):
                state = await asyncio.to_thread(self._write_and_read, pct, who, reason)
        except TimeoutError:
            raise RouterError(
                f"Writing {self.path} took longer than {self.timeout_s:g} s.",
                hint="Check the disk holding the routing file.",
            ) from None
        except (OSError, ValueError) as exc:
            raise RouterError(
                f"Could not write the routing file {self.path}: {exc}.",
                hint="Check that the directory exists and is writable.",
            ) from exc
        log.info("file router: boop %.4g%% (generation %d)", pct, state.generation)
        return state

    async def read(self) -> RouterState:
        """Read the effective split from the file (missing file: 0%)."""
        try:
            async with asyncio.timeout(self.timeout_s):
                doc = await asyncio.to_thread(self._read_doc)
            return self._state(doc)
        except TimeoutError:
            raise RouterError(
                f"Reading {self.path} took longer than {self.timeout_s:g} s."
            ) from None
        except (OSError, ValueError) as exc:
            raise RouterError(
                f"Could not read the routing file {self.path}: {exc}.",
                hint="Roll back to rewrite it, or fix the JSON by hand.",
            ) from exc

    async def close(self) -> None:
        return None
