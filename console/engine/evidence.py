"""The evidence bundle a rollback leaves behind (step 5, "preserve data").

One directory per rollback under ``<state_dir>/evidence/``: the journal slice of
the evidence window, the metric series of that window, the probe log, the routing
state before and after, the verdicts, and the config with secrets redacted. Written
in a worker thread; nothing in it may hold a secret.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from console.config import Config
from console.engine.notify import redact_url


def _strip_url(value: str) -> str:
    parts = urlsplit(value)
    if not parts.scheme or not parts.netloc:
        return value
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def redacted_config(config: Config) -> dict[str, Any]:
    """The config as JSON with URL credentials, queries and notify tokens removed."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str) and "://" in node:
            return _strip_url(node)
        return node

    doc: dict[str, Any] = walk(config.model_dump(mode="json"))
    doc["notify"]["urls"] = [redact_url(u) for u in config.notify.urls]
    return doc


def write_bundle(
    root: Path,
    *,
    at: float,
    summary: Mapping[str, Any],
    journal: Sequence[Mapping[str, Any]],
    series: Mapping[str, Sequence[tuple[float, float]]],
    probe_log: Sequence[str],
    routing: Mapping[str, Any],
    config: Config,
) -> Path:
    """Write one bundle; returns its directory. Raises OSError."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(at))
    path = root / f"{stamp}-rollback"
    n = 1
    while path.exists():
        n += 1
        path = root / f"{stamp}-rollback-{n}"
    path.mkdir(parents=True, mode=0o700)

    def dump(name: str, doc: Any) -> None:
        (path / name).write_text(
            json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n",
            encoding="utf-8",
        )

    dump("summary.json", summary)
    with open(path / "journal.jsonl", "w", encoding="utf-8") as handle:
        for entry in journal:
            handle.write(json.dumps(entry, sort_keys=True) + "\n")
    dump("series.json", {k: [list(p) for p in v] for k, v in series.items()})
    (path / "probes.log").write_text("\n".join(probe_log) + "\n", encoding="utf-8")
    dump("routing.json", routing)
    dump("config.json", redacted_config(config))
    return path
