"""The file router (atomic JSON document) and the webhook router (local HTTP)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.config import WebhookRouterConfig
from console.errors import RouterError
from console.routing.file import FileRouter
from console.routing.webhook import WebhookRouter

pytestmark = pytest.mark.timeout(30)
TOKEN = "Bearer flag-admin-7c1e55aa90"


async def test_file_router_writes_the_documented_document(tmp_path: Path) -> None:
    router = FileRouter(tmp_path / "routing.json")
    assert (await router.read()).effective_pct == 0.0  # missing file reads as 0%
    state = await router.set_percent(5, who="ana@jump1", reason="start")
    doc = json.loads((tmp_path / "routing.json").read_text())
    assert set(doc) == {
        "boop_percent",
        "generation",
        "who",
        "reason",
        "at",
        "format_version",
    }
    assert (doc["boop_percent"], doc["generation"], doc["who"]) == (5, 1, "ana@jump1")
    assert state.effective_pct == 5.0 and state.requested_pct == 5.0
    await router.set_percent(10, who="ana@jump1", reason="next")
    assert json.loads((tmp_path / "routing.json").read_text())["generation"] == 2
    assert list(tmp_path.iterdir()) == [tmp_path / "routing.json"]  # no temp left


async def test_file_router_reports_a_damaged_document(tmp_path: Path) -> None:
    (tmp_path / "routing.json").write_text('{"boop_percent": "lots"}')
    with pytest.raises(RouterError, match="boop_percent is 'lots'"):
        await FileRouter(tmp_path / "routing.json").read()


class _Flags(http.server.BaseHTTPRequestHandler):
    def _reply(self, code: int, body: dict[str, Any] | None = None) -> None:
        data = json.dumps(body or {}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self) -> None:
        server: Any = self.server
        if self.headers.get("Authorization") != TOKEN:
            self._reply(401)
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server.puts.append(body)
        if not server.frozen:
            server.flag = body["boop_percent"]
        self._reply(200)

    def do_GET(self) -> None:
        server: Any = self.server
        self._reply(200, {"flag": {"boop_percent": server.flag}})

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def flags() -> Iterator[Any]:
    server: Any = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Flags)
    server.puts, server.flag, server.frozen = [], 0, False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def webhook(server: Any, secret: str | None = TOKEN) -> WebhookRouter:
    config = WebhookRouterConfig(
        url=f"http://127.0.0.1:{server.server_address[1]}/flags/boop?token=abc",
        body_template='{"boop_percent": {percent}, "gen": {generation}}',
        read_field="flag.boop_percent",
        auth_secret="flag_token",
    )
    return WebhookRouter(config, secret_lookup=lambda name: secret)


async def test_webhook_writes_with_the_secret_and_reads_back(flags: Any) -> None:
    router = webhook(flags)
    try:
        state = await router.set_percent(25, who="a@b", reason="go")
    finally:
        await router.close()
    assert flags.puts == [{"boop_percent": 25, "gen": 1}]
    assert state.effective_pct == 25.0 and not state.drift
    assert "token" not in router.describe() and "abc" not in state.detail


async def test_webhook_read_back_shows_drift(flags: Any) -> None:
    flags.frozen = True  # the service accepts the write but keeps its old value
    router = webhook(flags)
    try:
        state = await router.set_percent(25, who="a@b", reason="go")
    finally:
        await router.close()
    assert state.effective_pct == 0.0 and state.drift


async def test_webhook_refusal_never_shows_the_secret(flags: Any) -> None:
    router = webhook(flags, secret="Bearer wrong-secret-value")
    try:
        with pytest.raises(RouterError) as info:
            await router.set_percent(5, who="a@b", reason="go")
    finally:
        await router.close()
    assert "HTTP 401" in str(info.value)
    assert "wrong-secret" not in str(info.value) and "abc" not in str(info.value)
