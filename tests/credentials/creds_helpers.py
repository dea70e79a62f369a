"""Helpers for the credentials tests: a fake BOOP on loopback, configs, a Secret
Service session runner and keyring backends that misbehave on purpose."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import keyring.backend
import keyring.errors
from keyring.compat import properties

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable

LIVE_ID = "ven_live_acme0042kiosks"
LIVE_KEY = "sk_live_4c1d2e3f4a5b6c7d8e9f0a1b9f3a"
DEV_ID = "ven_dev_acme0042kiosks"
DEV_KEY = "sk_dev_11aa22bb33cc44dd55ee7e7e"


@dataclass
class FakeBoop:
    """Answers /health, /api/v1/status and /api/v1/auth/* on 127.0.0.1:0."""

    health_status: str = "ok"
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    url: str = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, code: int, doc: Any) -> None:
                body = json.dumps(doc).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _route(self, method: str) -> None:
                key = self.headers.get("X-API-Key")
                fake.requests.append((method, self.path, key))
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"null")
                if self.path == "/health":
                    self._answer(
                        200, {"status": fake.health_status, "version": "a1b2c3d"}
                    )
                elif self.path == "/api/v1/status":
                    self._answer(200, {"status": "operational", "region": "local"})
                elif self.path == "/api/v1/auth/create":
                    ctx = payload.get("context_id", "ctx_1")
                    self._answer(201, {"context_id": ctx, "status": "pending"})
                elif self.path.endswith("/cancel"):
                    ctx = self.path.split("/")[-2]
                    self._answer(200, {"context_id": ctx, "status": "cancelled"})
                else:
                    self._answer(404, {"success": False})

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@contextmanager
def fake_boop(**kwargs: Any) -> Iterator[FakeBoop]:
    """A FakeBoop served from a thread for the duration of the block."""
    fake = FakeBoop(**kwargs)
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def write_config(tmp: Path, base_url: str = "http://127.0.0.1:9", **extra: str) -> Path:
    """A config whose prod environment is flagged production, both on loopback."""
    ws = base_url.replace("http", "ws", 1) + "/ws/vendor"
    lines = [
        f'state_dir = "{tmp / "state"}"',
        "[environments.dev]",
        f'base_url = "{base_url}"',
        f'ws_url = "{ws}"',
        "[environments.prod]",
        f'base_url = "{base_url}"',
        f'ws_url = "{ws}"',
        "production = true",
        "[safety]",
        "production_hosts = []",
        "[credentials]",
        "keyring_timeout_s = 3.0",
    ]
    lines += [f"{k} = {v}" for k, v in extra.items()]
    path = tmp / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def isolated_env(tmp: Path, **extra: str) -> dict[str, str]:
    """HOME and XDG_* inside ``tmp``; no BOOP_* or keyring variables from outside."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOOP_", "PYTHON_KEYRING", "DBUS_", "XDG_"))
    }
    run = tmp / "run"
    run.mkdir(mode=0o700, exist_ok=True)
    env.update(
        HOME=str(tmp),
        XDG_DATA_HOME=str(tmp / "data"),
        XDG_CONFIG_HOME=str(tmp / "config"),
        XDG_CACHE_HOME=str(tmp / "cache"),
        XDG_STATE_HOME=str(tmp / "statehome"),
        XDG_RUNTIME_DIR=str(run),
        PYTHONPATH=str(REPO),
    )
    env.update(extra)
    return env


def in_secret_service(
    tmp: Path,
    argv: list[str],
    password: str = "PASS",
    stdin: str | None = None,
    extra_env: dict[str, str] | None = None,
    timeout: float = 40,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in a fresh D-Bus session with gnome-keyring unlocked by
    ``password``; the daemons exit with the session."""
    script = (
        'eval "$(printf %s "$KR_PASS" | gnome-keyring-daemon --unlock '
        '--components=secrets)"; export GNOME_KEYRING_CONTROL; exec "$@"'
    )
    env = isolated_env(tmp, KR_PASS=password, **(extra_env or {}))
    return subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", script, "sh", *argv],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def console_cli(config: Path, *args: str) -> list[str]:
    """argv for `python -m console --config CONFIG ...`."""
    return [PY, "-m", "console", "--config", str(config), *args]


class _TestBackend(keyring.backend.KeyringBackend):
    """Raises from ``priority`` so keyring never auto-selects it in this process."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("a test backend is never auto-selected")


class LockedKeyring(_TestBackend):
    """Every call raises KeyringLocked, like a Secret Service nobody unlocked."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")


class HangingKeyring(_TestBackend):
    """get_password never returns: an unlock prompt nobody will ever answer."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.calls = 0

    def get_password(self, service: str, username: str) -> str | None:
        self.calls += 1
        while True:
            time.sleep(3600)

    def set_password(self, service: str, username: str, password: str) -> None:
        while True:
            time.sleep(3600)

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.PasswordDeleteError("nothing")


class MemoryKeyring(_TestBackend):
    """A dict, for unit tests of the store logic."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.items:
            raise keyring.errors.PasswordDeleteError("not found")
        del self.items[(service, username)]


class EncryptedKeyring(MemoryKeyring):
    """Stands in for keyrings.alt's prompting EncryptedKeyring (by name)."""
