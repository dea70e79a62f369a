"""Production verification and the Markdown report."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from console.cli import main
from console.engine.checklist import (
    Checklist,
    Status,
    VerificationRefused,
    render_report,
    verify_production,
)
from console.engine.journal import Journal
from console.errors import BoopError

T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC
LIVE_ID = "ven_live_acme0042kiosks"
LIVE_KEY = "sk_live_4c1d2e3f4a5b6c7d8e9f0a1b9f3a"


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_verification_records_health_then_auth(tmp_path: Path) -> None:
    checklist = Checklist(tmp_path / "c.json", clock=lambda: T0)
    calls: list[str] = []

    async def health() -> str:
        calls.append("health")
        return "ok, version a1b2c3d, 40 ms"

    async def auth() -> str:
        calls.append("auth")
        return "context ctx_1 created (pending) and cancelled"

    def confirm(host: str) -> bool:
        calls.append(f"confirm {host}")
        return True

    result = asyncio.run(
        verify_production(
            checklist,
            host="app.boop.it",
            confirm=confirm,
            health=health,
            auth_test=auth,
            who="ana@jump1",
        )
    )
    assert calls == ["confirm app.boop.it", "health", "auth"]
    assert result.ok
    views = {v.id: v for v in checklist.items()}
    assert (views["verify.health"].status, views["verify.health"].note) == (
        Status.DONE,
        "app.boop.it: ok, version a1b2c3d, 40 ms",
    )
    assert views["verify.auth"].who == "ana@jump1"
    saved = json.loads((tmp_path / "c.json").read_text())["verification"]
    assert saved["host"] == "app.boop.it" and saved["auth_ok"] is True


def test_declined_confirmation_sends_nothing(tmp_path: Path) -> None:
    checklist = Checklist(tmp_path / "c.json")
    sent: list[str] = []

    async def health() -> str:
        sent.append("health")
        return "ok"

    async def no(host: str) -> bool:
        return False

    with pytest.raises(VerificationRefused):
        asyncio.run(
            verify_production(
                checklist,
                host="app.boop.it",
                confirm=no,
                health=health,
                auth_test=health,
                who="ana@jump1",
            )
        )
    assert sent == []
    assert not (tmp_path / "c.json").exists()


@pytest.mark.timeout(20)
def test_failed_or_hanging_health_skips_the_auth_test(tmp_path: Path) -> None:
    checklist = Checklist(tmp_path / "c.json")
    auth_calls: list[int] = []

    async def hangs() -> str:
        await asyncio.sleep(60)
        return "never"

    async def down() -> str:
        raise BoopError("GET /health answered 503 Service Unavailable.")

    async def auth() -> str:
        auth_calls.append(1)
        return "x"

    for health, expected in (
        (hangs, "app.boop.it: no answer within 0.2 s"),
        (down, "app.boop.it: GET /health answered 503 Service Unavailable."),
    ):
        result = asyncio.run(
            verify_production(
                checklist,
                host="app.boop.it",
                confirm=lambda h: True,
                health=health,
                auth_test=auth,
                who="ana@jump1",
                deadline_s=0.2,
            )
        )
        view = next(v for v in checklist.items() if v.id == "verify.health")
        assert (view.status, view.note) == (Status.FAILED, expected)
        assert result.auth_ok is None
        assert result.auth_detail == "skipped: the health check failed"
    assert auth_calls == []


def test_report_has_timeline_gates_rollbacks_and_checklist(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    gates_ok = {
        "auth_success": {"verdict": "PASS"},
        "auth_latency": {"verdict": "PASS"},
    }
    journal.append(ts=T0, who="ana@jump1", action="shift", why="start at 5%",
                   before=0, after=5, gates=gates_ok)  # fmt: skip
    journal.append(
        ts=T0 + 600,
        who="console (automatic)",
        action="rollback",
        why=f"auth_success_pct 97.10 % < 99.5 over 60 s; key {LIVE_KEY}",
        before=5,
        after=0,
        gates={"auth_success": {"verdict": "BREACH"}, "auth_latency": "PASS"},
    )
    with open(tmp_path / "journal.jsonl", "a") as fh:
        fh.write("{not json\n")
    checklist = Checklist(tmp_path / "c.json", clock=lambda: T0 + 700)
    checklist.tick("pre.review", who="ana@jump1", note="SEC-123 | approved")
    text = render_report(checklist, tmp_path / "journal.jsonl", now=T0 + 700)
    assert text.startswith("# BOOP cutover report\n")
    assert "(2 entries, 1 unreadable lines skipped)" in text
    assert "First problem: line 3: not JSON (damaged or cut)." in text.split("\n")[2]
    assert (
        "| 1 | 2027-01-15 08:00 UTC | ana@jump1 | shift | start at 5% | 5 → 0 |"
        not in text
    )
    assert (
        "| 1 | 2027-01-15 08:00 UTC | ana@jump1 | shift | start at 5% | 0 → 5 |" in text
    )
    assert "| time | action | auth_latency | auth_success |" in text
    assert "| 2027-01-15 08:10 UTC | rollback | PASS | BREACH |" in text
    assert (
        "- 2027-01-15 08:10 UTC rollback by console (automatic): auth_success_pct "
        "97.10 % < 99.5 over 60 s; key sk_live_…9f3a"
    ) in text
    assert "1 of 21 done, 0 overdue; pre-migration INCOMPLETE." in text
    assert (
        "| pre.review: Security and code review approved | done | ana@jump1 "
        "| 2027-01-15 08:11 UTC |  | SEC-123 \\| approved |"
    ) in text
    assert LIVE_KEY not in text


@contextmanager
def fake_prod(health_status: str = "ok") -> Iterator[tuple[str, list[str]]]:
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, doc: object) -> None:
            body = json.dumps(doc).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            paths.append(f"GET {self.path}")
            self._answer({"status": health_status, "version": "a1b2c3d"})

        def do_POST(self) -> None:
            paths.append(f"POST {self.path}")
            n = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(n) or b"{}")
            ctx = body.get("context_id") or self.path.split("/")[-2]
            self._answer({"context_id": ctx, "status": "pending"})

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", paths
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'state_dir = "{tmp_path / "state"}"\n'
        "[environments.prod]\n"
        f'base_url = "{url}"\nws_url = "{url.replace("http", "ws")}/ws/vendor"\n'
        "production = true\n[safety]\nproduction_hosts = []\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.timeout(30)
def test_cli_verify_creates_and_cancels_the_smallest_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOOP_PROD_VENDOR_ID", LIVE_ID)
    monkeypatch.setenv("BOOP_PROD_API_KEY", LIVE_KEY)
    with fake_prod() as (url, paths):
        config = _config(tmp_path, url)
        # Without --yes and without a terminal: refused, nothing sent.
        monkeypatch.setattr("sys.stdin.isatty", lambda: False)
        assert main(["--config", str(config), "check", "verify"]) == 3
        assert paths == []
        assert main(["--config", str(config), "check", "verify", "--yes"]) == 0
    assert paths[0] == "GET /health"
    assert paths[1] == "POST /api/v1/auth/create"
    assert paths[2].startswith("POST /api/v1/auth/ctx_") and paths[2].endswith(
        "/cancel"
    )
    captured = capsys.readouterr()
    assert captured.err == (
        "refused: Production verification against 127.0.0.1 not confirmed. "
        "Answer y when asked, or pass --yes to confirm it on the command line.\n"
    )
    out = captured.out
    assert "health check of 127.0.0.1: PASS - ok, version a1b2c3d" in out
    assert "authentication test: PASS - context ctx_" in out
    journal = Journal(tmp_path / "state" / "journal.jsonl")
    assert journal.verify().ok
    assert [e["action"] for e in journal.entries()] == [
        "checklist verify.health",
        "checklist verify.auth",
    ]
