"""Second fix round (an SRE's setup): redaction of typed text, the webhook router's
secret, failed-rollback notifications, notification types, evidence "before",
`sim fault --config`, `status --json` without probes."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.cli import main
from console.engine.notify import AppriseNotifier
from console.engine.runtime import build_engine, named_secret_lookup
from console.errors import RouterError
from console.routing.base import RouterState
from console.routing.file import FileRouter
from tests.engine.helpers_engine import make_engine, receiver, routing_pct

pytestmark = pytest.mark.timeout(60)

KEY = "sk_live_4c1dA9b8C7d6E5f4G3h2J1k0m9f3a"
MASKED = "sk_live_…9f3a"

CONFIG = """
state_dir = "{state}"
[environments.dev]
base_url = "http://127.0.0.1:9"
ws_url = "ws://127.0.0.1:9"
[environments.prod]
base_url = "http://127.0.0.1:9"
ws_url = "ws://127.0.0.1:9"
production = true
"""


def write_cfg(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(state=tmp_path / "state") + extra)
    return path


def run(cfg: Path, *argv: str) -> int:
    return main(["--config", str(cfg), *argv])


def files_holding(root: Path, text: str) -> list[str]:
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file()
        and (
            text.encode() in p.read_bytes()
            or json.dumps(text)[1:-1].encode() in p.read_bytes()  # \u2026 in JSON
        )
    )


# ---------------------------------------------------------------- 1. redaction


def test_fx2_a_live_key_typed_in_any_reason_is_masked_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with receiver() as (url, bodies):
        cfg = write_cfg(tmp_path, f'[notify]\nurls = ["{url}"]\n')
        state = tmp_path / "state"
        why = f"wh test key={KEY}"
        assert run(cfg, "shift", "5", "--reason", why, "--override") == 0
        assert run(cfg, "hold", "--reason", why) == 0
        assert run(cfg, "resume", "--reason", why) == 0
        assert run(cfg, "rollback", "--reason", why) == 0
        rolled_back = files_holding(state, MASKED)
        assert files_holding(state, KEY) == []
        assert run(cfg, "rearm", "--reason", why) == 0
        out, err = capsys.readouterr()
    assert KEY not in out + err
    assert f"Rolled back: BOOP traffic at 0% (wh test key={MASKED})." in out
    assert files_holding(state, KEY) == []
    assert {"journal.jsonl", "state.json", "rollback.json"} <= set(rolled_back)
    evidence = [p for p in rolled_back if "rollback/" in p]
    assert sorted(Path(p).name for p in evidence) == ["journal.jsonl", "summary.json"]
    assert len(bodies) == 1 and KEY not in json.dumps(bodies)
    assert bodies[0]["message"] == f"wh test key={MASKED} (by {default_who()})"


def default_who() -> str:
    from console.engine.core import default_who as who

    return who()


async def test_fx2_who_and_the_rollback_marker_are_masked(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, who=f"ci {KEY}")
    await engine.open()
    try:
        assert engine.who == f"ci {MASKED}"
        assert (await engine.shift(5, who=KEY, reason="go", override=True)).ok
        assert (await engine.rollback(who=f"x {KEY}", reason=f"r {KEY}")).ok
    finally:
        await engine.stop()
    marker = json.loads((tmp_path / "rollback.json").read_text())
    assert (marker["who"], marker["reason"]) == (f"x {MASKED}", f"r {MASKED}")
    assert files_holding(tmp_path, KEY) == []


# -------------------------------------------------- 2. the webhook router's secret


class _Flags(http.server.BaseHTTPRequestHandler):
    def _reply(self, code: int, body: dict[str, Any] | None = None) -> None:
        data = json.dumps(body or {}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        server: Any = self.server
        if self.headers.get("Authorization") != server.token:
            self._reply(401)
            return False
        return True

    def do_PUT(self) -> None:
        server: Any = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if not self._authorized():
            return
        if not server.frozen:
            server.flag = body["boop_percent"]
        self._reply(200)

    def do_GET(self) -> None:
        if self._authorized():
            self._reply(200, {"boop_percent": self.server.flag})  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def flags() -> Iterator[Any]:
    server: Any = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Flags)
    server.flag, server.frozen, server.token = 0, False, "Bearer flag-admin-0001"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def webhook_cfg(tmp_path: Path, server: Any, extra: str = "") -> Path:
    port = server.server_address[1]
    return write_cfg(
        tmp_path,
        f"""
[router]
kind = "webhook"
[router.webhook]
url = "http://127.0.0.1:{port}/flags/boop"
auth_secret = "flag_admin_token"
{extra}""",
    )


def test_fx2_webhook_router_with_auth_secret_from_the_environment(
    tmp_path: Path,
    flags: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = webhook_cfg(tmp_path, flags)
    monkeypatch.delenv("BOOP_CONSOLE_SECRET_FLAG_ADMIN_TOKEN", raising=False)
    # Without the secret: the hint names the exact command and variable.
    assert run(cfg, "shift", "5", "--reason", "go", "--override") == 1
    err = capsys.readouterr().err
    assert "needs the secret 'flag_admin_token'" in err
    assert "`boop-console creds set-secret flag_admin_token`" in err
    assert "export BOOP_CONSOLE_SECRET_FLAG_ADMIN_TOKEN." in err
    monkeypatch.setenv("BOOP_CONSOLE_SECRET_FLAG_ADMIN_TOKEN", "Bearer flag-admin-0001")
    assert run(cfg, "shift", "5", "--reason", "go", "--override") == 0
    assert flags.flag == 5
    assert run(cfg, "rollback", "--reason", "drill") == 0
    out, err = capsys.readouterr()
    assert flags.flag == 0
    assert "flag-admin-0001" not in out + err


def test_fx2_secret_hint_and_keyring_lookup(tmp_path: Path) -> None:
    from console.config import load_config
    from console.routing.webhook import secret_env_var, secret_hint

    assert secret_env_var("flag-admin.token") == "BOOP_CONSOLE_SECRET_FLAG_ADMIN_TOKEN"
    assert secret_hint("flag_admin_token") == (
        "Store it with `boop-console creds set-secret flag_admin_token` (keyring "
        "item 'secret/flag_admin_token'), or export "
        "BOOP_CONSOLE_SECRET_FLAG_ADMIN_TOKEN."
    )

    class Store:
        def __init__(self) -> None:
            self.calls: list[str] = []

        def get(self, username: str) -> str | None:
            self.calls.append(username)
            return "Bearer from-keyring-01" if username == "secret/tok" else None

    store = Store()
    lookup = named_secret_lookup(load_config(write_cfg(tmp_path)), keyring_store=store)
    assert lookup("tok") == "Bearer from-keyring-01"
    assert lookup("tok") == "Bearer from-keyring-01"
    assert lookup("other") is None
    assert store.calls == ["secret/tok", "secret/other"]  # found once, kept


# --------------------------------------- 3 + 4. failed rollback, notification types


class BrokenRouter(FileRouter):
    """Reads 5%; every write fails like an unreachable webhook (HTTP 401)."""

    async def read(self) -> RouterState:
        return RouterState(effective_pct=5.0, detail="flags read 5%")

    async def set_percent(
        self, pct: float, *, who: str, reason: str, draining: bool = False
    ) -> RouterState:
        raise RouterError("Webhook PUT http://127.0.0.1:1/flags answered HTTP 401.")


async def test_fx2_a_failed_rollback_is_notified_as_a_failure(tmp_path: Path) -> None:
    with receiver() as (url, bodies):
        engine = make_engine(tmp_path, notifier=AppriseNotifier([url], timeout_s=5))
        engine.router = BrokenRouter(tmp_path / "routing.json")
        await engine.open()
        try:
            result = await engine.rollback(who="ana@jump1", reason="wh test")
            await engine.settle(5)
        finally:
            await engine.stop()
    assert not result.ok
    assert len(bodies) == 1
    body = bodies[0]
    assert body["type"] == "failure"
    assert body["title"] == "boop-console: rollback of prod FAILED (stop new traffic)"
    assert body["message"].startswith(
        "Rollback FAILED at stop new traffic; the router reads 5% BOOP traffic. "
        "stop new traffic: Webhook PUT http://127.0.0.1:1/flags answered HTTP 401."
    )
    assert "Set the router to 0% by hand" in body["message"]
    assert body["message"].endswith("Reason: wh test (by ana@jump1)")


async def test_fx2_rollback_is_a_warning_and_drift_is_a_warning(tmp_path: Path) -> None:
    with receiver() as (url, bodies):
        engine = make_engine(tmp_path, notifier=AppriseNotifier([url], timeout_s=5))
        await engine.start()
        try:
            assert (await engine.shift(5, who="a@b", reason="go", override=True)).ok
            (tmp_path / "routing.json").write_text('{"boop_percent": 25}')
            deadline = time.monotonic() + 5
            while not bodies and time.monotonic() < deadline:
                await _sleep(0.02)
            assert (await engine.rollback(who="a@b", reason="drill")).ok
            await engine.settle(5)
        finally:
            await engine.stop()
    assert [(b["type"], b["title"]) for b in bodies] == [
        ("warning", "boop-console: routing drift on prod"),
        ("warning", "boop-console: rolled back prod to 0%"),
    ]


async def _sleep(s: float) -> None:
    import asyncio

    await asyncio.sleep(s)


class StuckAtFive(FileRouter):
    """Accepts writes but keeps reading 5% (a flag service that ignores them)."""

    async def read(self) -> RouterState:
        return RouterState(effective_pct=5.0, detail="flags read 5%")

    async def set_percent(
        self, pct: float, *, who: str, reason: str, draining: bool = False
    ) -> RouterState:
        return await self.read()


async def test_fx2_rearm_reports_the_routers_share_and_refuses_above_zero(
    tmp_path: Path,
) -> None:
    engine = make_engine(tmp_path)
    await engine.open()
    try:
        assert (await engine.shift(5, who="a@b", reason="go", override=True)).ok
        assert (await engine.rollback(who="a@b", reason="drill")).ok
        engine.router = StuckAtFive(tmp_path / "routing.json")
        refused = await engine.rearm(who="a@b", reason="again")
        assert not refused.ok
        assert refused.message.startswith(
            "Not re-armed: the router reads 5% after writing 0% (flags read 5%)."
        )
        assert engine.state.rolled_back and (tmp_path / "rollback.json").exists()
        engine.router = FileRouter(tmp_path / "routing.json")
        done = await engine.rearm(who="a@b", reason="again")
    finally:
        await engine.stop()
    assert done.ok and done.message.startswith("Re-armed: the router reads 0% (")
    assert routing_pct(tmp_path) == 0


# ------------------------------------------------------------ 5. evidence "before"


def test_fx2_cli_rollback_evidence_has_the_phase_share_and_driver_verdicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_cfg(tmp_path)
    state = tmp_path / "state"
    assert run(cfg, "shift", "5", "--reason", "go", "--override") == 0
    doc = json.loads((state / "state.json").read_text())
    gate = {
        "name": "auth_success",
        "metric": "auth_success_pct",
        "verdict": "PASS",
        "value": 99.9,
        "op": ">",
        "threshold": 99.5,
        "window_s": 60.0,
        "samples": 412,
        "data_age_s": 1.2,
        "consecutive_breaches": 0,
        "breaches_needed": 2,
        "why": "auth_success_pct 99.90 % > 99.5 (driver)",
    }
    doc["gates"], doc["gates_at"] = [gate], time.time()
    (state / "state.json").write_text(json.dumps(doc))
    assert run(cfg, "rollback", "--reason", "drill") == 0
    bundle = next((state / "evidence").iterdir())
    routing = json.loads((bundle / "routing.json").read_text())
    assert routing["before"]["phase"] == "holding"
    # The CLI had not read the router, and nothing comes before the stop.
    assert routing["before"]["pct"] == 5.0
    assert routing["before"]["effective_pct"] == "unknown"
    assert routing["after"]["phase"] == "rolled back"
    summary = json.loads((bundle / "summary.json").read_text())
    if "auth_success" in summary["gates"]:
        assert summary["gates"]["auth_success"]["verdict"] == "PASS"
        assert summary["gates"]["auth_success"]["why"].endswith("(driver)")
    else:  # the default config names its gates otherwise: none is "not evaluated"
        assert all("not evaluated" not in g["why"] for g in summary["gates"].values())


# ------------------------------------------------------- 6 + 7. sim and status


def test_fx2_sim_fault_with_config_looks_in_its_state_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_cfg(tmp_path)
    code = run(cfg, "sim", "fault", "prod", "error_rate", "--value", "5")
    err = capsys.readouterr().err
    assert code != 0
    assert f"looked for {tmp_path / 'state' / 'sim.json'}" in err


def test_fx2_status_json_says_probes_are_the_drivers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(write_cfg(tmp_path), "status", "--json")
    doc = json.loads(capsys.readouterr().out)
    for key in ("health", "streams", "credentials"):
        assert doc[key] is None
        assert doc[f"{key}_note"].startswith("not probed: only the driver")


def test_fx2_build_engine_gives_the_webhook_router_a_lookup(
    tmp_path: Path, flags: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from console.config import load_config

    monkeypatch.setenv("BOOP_CONSOLE_SECRET_FLAG_ADMIN_TOKEN", "Bearer x-0001")
    engine = build_engine(load_config(webhook_cfg(tmp_path, flags)), probes=False)
    headers = engine.router._headers()  # type: ignore[attr-defined]
    assert headers["Authorization"] == "Bearer x-0001"
