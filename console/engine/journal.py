"""The append-only, hash-chained journal (JSON Lines).

Each line is ``{"seq", "ts", "who", "action", "why", "before", "after", "gates",
"prev", "hash"}`` where ``hash = sha256(prev + canonical JSON of the other fields)``.
A sidecar ``journal.jsonl.head`` holds the count and the last hash, so that
:func:`verify` notices an edit (a hash no longer matches), a deletion (a broken
``prev`` link or a gap in ``seq``) and a truncation (fewer lines than the head
says). Appends from several instances are serialised with ``flock`` on the journal.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.errors import StateError
from console.routing.atomic import write_json_atomic

GENESIS = "0" * 64


class JournalError(StateError):
    """The journal could not be written or read."""

    title = "Journal error"


def _digest(prev: str, entry: Mapping[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev + canon).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify` found."""

    ok: bool
    count: int
    problems: list[str] = field(default_factory=list)


class Journal:
    """Appends and reads one journal file. Blocking: call from a thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.head_path = path.with_name(path.name + ".head")

    def _read_head(self) -> tuple[int, str]:
        try:
            doc = json.loads(self.head_path.read_text(encoding="utf-8"))
            return int(doc["count"]), str(doc["head"])
        except FileNotFoundError:
            return 0, GENESIS
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise JournalError(
                f"The journal head {self.head_path} is unreadable: {exc}.",
                hint="Run `boop-console journal verify` to see what happened.",
            ) from exc

    def append(
        self,
        *,
        ts: float,
        who: str,
        action: str,
        why: str,
        before: Any = None,
        after: Any = None,
        gates: Any = None,
    ) -> dict[str, Any]:
        """Append one entry (fsynced) and return it. Raises JournalError."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                count, prev = self._read_head()
                entry: dict[str, Any] = {
                    "seq": count + 1,
                    "ts": ts,
                    "who": who,
                    "action": action,
                    "why": why,
                    "before": before,
                    "after": after,
                    "gates": gates,
                    "prev": prev,
                }
                entry["hash"] = _digest(prev, entry)
                line = json.dumps(entry, sort_keys=True, ensure_ascii=False)
                fd = handle.fileno()
                start = os.lseek(fd, 0, os.SEEK_END)
                try:
                    data = (line + "\n").encode("utf-8")
                    while data:
                        data = data[os.write(fd, data) :]
                    os.fsync(fd)
                    write_json_atomic(
                        self.head_path, {"count": count + 1, "head": entry["hash"]}
                    )
                except OSError:
                    # A full disk writes what fits: cut the partial entry off, so
                    # the journal holds only whole entries that match the head.
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, start)
                    raise
                return entry
        except OSError as exc:
            raise JournalError(
                f"Could not append to the journal {self.path}: {exc.strerror or exc}.",
                hint="Free disk space or fix permissions; rollback works regardless.",
            ) from exc

    def tail(self, n: int) -> list[dict[str, Any]]:
        """The last ``n`` entries (reads only the end of the file)."""
        try:
            with open(self.path, "rb") as handle:
                handle.seek(0, os.SEEK_END)
                size = handle.tell()
                chunk = min(size, max(4096, n * 2048))
                handle.seek(size - chunk)
                data = handle.read()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise JournalError(
                f"Could not read the journal {self.path}: {exc}."
            ) from exc
        lines = data.decode("utf-8", "replace").splitlines()
        if chunk < size:
            lines = lines[1:]  # the first line may be cut
        out = []
        for line in lines[-n:] if n > 0 else []:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def numbered_tail(self, n: int) -> list[tuple[int, dict[str, Any] | None, str]]:
        """The last ``n`` lines as ``(line number, entry, "")``, or ``(line number,
        None, why)`` for a line that is not a JSON object: nothing skipped silently.
        Reads the whole file (for `journal show`, not for the engine's loop)."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise JournalError(
                f"Could not read the journal {self.path}: {exc}."
            ) from exc
        lines = text.splitlines()
        start = max(0, len(lines) - n) if n > 0 else len(lines)
        out: list[tuple[int, dict[str, Any] | None, str]] = []
        for lineno, line in enumerate(lines[start:], start=start + 1):
            try:
                doc = json.loads(line)
            except json.JSONDecodeError as exc:
                out.append((lineno, None, f"not JSON: {exc.msg}"))
                continue
            if not isinstance(doc, dict):
                out.append((lineno, None, "not a JSON object"))
                continue
            out.append((lineno, doc, ""))
        return out

    def entries(self) -> list[dict[str, Any]]:
        """Every parseable entry, oldest first."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise JournalError(
                f"Could not read the journal {self.path}: {exc}."
            ) from exc
        out = []
        for line in text.splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def verify(self) -> VerifyResult:
        """Check every hash and link, and the count and head against the sidecar."""
        problems: list[str] = []
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        except OSError as exc:
            return VerifyResult(False, 0, [f"cannot read {self.path}: {exc}"])
        prev = GENESIS
        count = 0
        for lineno, line in enumerate(text.splitlines(), start=1):
            try:
                entry = json.loads(line)
            except ValueError:
                problems.append(f"line {lineno}: not JSON (damaged or cut)")
                continue
            count += 1
            if entry.get("seq") != count:
                problems.append(
                    f"line {lineno}: seq {entry.get('seq')} where {count} was expected "
                    "(an entry was deleted or inserted)"
                )
                count = (
                    entry.get("seq", count)
                    if isinstance(entry.get("seq"), int)
                    else count
                )
            if entry.get("prev") != prev:
                problems.append(
                    f"line {lineno}: prev hash does not link to the line before"
                )
            if _digest(entry.get("prev", ""), entry) != entry.get("hash"):
                problems.append(f"line {lineno}: hash mismatch (the entry was edited)")
            prev = str(entry.get("hash"))
        try:
            head_count, head = self._read_head()
        except JournalError as exc:
            problems.append(str(exc))
        else:
            if head_count != count or (count and head != prev):
                problems.append(
                    f"the head records {head_count} entries ending {head[:12]}, "
                    f"the file has {count} ending {prev[:12]} (truncated or rewritten)"
                )
        return VerifyResult(not problems, count, problems)
