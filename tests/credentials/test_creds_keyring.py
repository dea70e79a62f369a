"""The OS keyring: a real Secret Service (gnome-keyring in a private D-Bus session),
and backends that fail, are locked, prompt, or never answer."""

from __future__ import annotations

import json
import time
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from creds_helpers import (
    DEV_ID,
    DEV_KEY,
    LIVE_ID,
    LIVE_KEY,
    PY,
    EncryptedKeyring,
    HangingKeyring,
    LockedKeyring,
    MemoryKeyring,
    console_cli,
    in_secret_service,
    write_config,
)

from console.config import CredentialsConfig
from console.credentials import CredentialStore, KeyringUnavailable
from console.credentials.keyring_store import KeyringStore
from console.errors import CredentialError
from tests.conftest import require_binary


@pytest.fixture
def secret_service() -> None:
    require_binary("gnome-keyring-daemon", "gnome-keyring")
    require_binary("dbus-run-session", "dbus")


RESOLVE = (
    "import json, sys\n"
    "from console.config import CredentialsConfig\n"
    "from console.credentials import CredentialStore\n"
    "s = CredentialStore(CredentialsConfig())\n"
    "try:\n"
    "    r = s.resolve('prod')\n"
    "    print(json.dumps({'backend': s.backend_name(), 'source': r.source,\n"
    "        'vid': r.vendor_id.reveal() == sys.argv[1],\n"
    "        'key': r.api_key.reveal() == sys.argv[2], 'masked': str(r.api_key),\n"
    "        'stored_at': r.stored_at}))\n"
    "except Exception as e:\n"
    "    print(json.dumps({'error': type(e).__name__, 'message': str(e)}))\n"
)


@pytest.mark.secretservice
@pytest.mark.timeout(90)
def test_secret_service_persists_across_processes(
    tmp_path: Path, secret_service: None
) -> None:
    config = write_config(tmp_path)
    stored = in_secret_service(
        tmp_path,
        console_cli(config, "creds", "set", "prod", "--stdin"),
        stdin=f"{LIVE_ID}\n{LIVE_KEY}\n",
    )
    assert stored.returncode == 0, stored.stderr
    assert (
        stored.stdout.strip()
        == "Stored credentials for prod in keyring (SecretService)."
    )

    # A second session (new daemons, same HOME) reads what the first one stored.
    before = time.time()
    read = in_secret_service(tmp_path, [PY, "-c", RESOLVE, LIVE_ID, LIVE_KEY])
    found = json.loads(read.stdout.strip().splitlines()[-1])
    assert found["backend"] == "SecretService"
    assert found["source"] == "keyring (SecretService)"
    assert found["vid"] is True and found["key"] is True
    assert found["masked"] == "sk_live_…9f3a"
    assert before - 120 < found["stored_at"] <= before + 1

    shown = in_secret_service(tmp_path, console_cli(config, "creds", "show", "prod"))
    assert "prod     ven_live_…osks  sk_live_…9f3a  from keyring (SecretService), " in (
        shown.stdout
    )
    assert "stored 0 days ago" in shown.stdout
    assert LIVE_KEY not in shown.stdout + shown.stderr

    deleted = in_secret_service(
        tmp_path, console_cli(config, "creds", "delete", "prod")
    )
    assert deleted.stdout.strip() == (
        "Deleted credentials for prod from: keyring (SecretService)."
    )
    again = in_secret_service(tmp_path, [PY, "-c", RESOLVE, LIVE_ID, LIVE_KEY])
    assert (
        json.loads(again.stdout.strip().splitlines()[-1])["error"] == "CredentialError"
    )


@pytest.mark.secretservice
@pytest.mark.timeout(90)
def test_secret_service_wrong_password_is_a_clear_error(
    tmp_path: Path, secret_service: None
) -> None:
    config = write_config(tmp_path)
    stored = in_secret_service(
        tmp_path,
        console_cli(config, "creds", "set", "dev", "--stdin"),
        stdin=f"{DEV_ID}\n{DEV_KEY}\n",
    )
    assert stored.returncode == 0, stored.stderr

    locked = in_secret_service(
        tmp_path, [PY, "-c", RESOLVE, DEV_ID, DEV_KEY], password="WRONG"
    )
    found = json.loads(locked.stdout.strip().splitlines()[-1])
    assert found["error"] == "CredentialError"
    assert "keyring: The OS keyring is locked (read prod/vendor_id)" in found["message"]
    assert "BOOP_PROD_API_KEY" in found["message"]


def test_fail_backend_says_what_to_do() -> None:
    store = KeyringStore("boop-console", 1.0, backend=keyring.backends.fail.Keyring())  # type: ignore[no-untyped-call]
    with pytest.raises(KeyringUnavailable) as info:
        store.get("prod/api_key")
    assert info.value.message == (
        "The OS keyring is not used: no keyring backend is available on this host "
        "(fail)."
    )
    assert info.value.hint is not None
    assert "BOOP_PROD_API_KEY" in info.value.hint
    assert "docs/credentials.md" in info.value.hint
    assert store.name().startswith("none (The OS keyring is not used")


def test_locked_backend_becomes_credential_error() -> None:
    store = KeyringStore("boop-console", 1.0, backend=LockedKeyring())  # type: ignore[no-untyped-call]
    with pytest.raises(CredentialError) as info:
        store.get("prod/api_key")
    assert info.value.message == "The OS keyring is locked (read prod/api_key)."
    assert isinstance(info.value.__cause__, keyring.errors.KeyringLocked)


def test_prompting_backends_are_skipped_and_said_so() -> None:
    store = KeyringStore("boop-console", 1.0, backend=EncryptedKeyring())
    assert not store.usable()
    assert store.name() == (
        "none (The OS keyring is not used: encrypts a file and prompts for its "
        "passphrase (EncryptedKeyring).)"
    )
    # Inside a chainer, the prompting backend is passed over for a usable one.
    memory = MemoryKeyring()
    # (a stand-in with the chainer's `backends` attribute: the real one discovers
    # every backend installed in this process)
    chain = type("ChainerBackend", (), {"backends": [EncryptedKeyring(), memory]})()
    chained = KeyringStore("boop-console", 1.0, backend=chain)
    chained.set("dev/api_key", DEV_KEY)
    assert memory.items[("boop-console", "dev/api_key")] == DEV_KEY


@pytest.mark.timeout(20)
def test_hanging_backend_returns_within_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hanging = HangingKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(hanging)
    try:
        monkeypatch.setenv("BOOP_PROD_VENDOR_ID", LIVE_ID)
        monkeypatch.setenv("BOOP_PROD_API_KEY", LIVE_KEY)
        store = CredentialStore(CredentialsConfig(keyring_timeout_s=0.5))
        started = time.monotonic()
        found = store.resolve("prod")
        first = time.monotonic() - started
        # The hung keyring is not asked again: the second resolve is immediate.
        started = time.monotonic()
        store.resolve("prod")
        second = time.monotonic() - started
    finally:
        keyring.set_keyring(previous)
    assert found.source == "environment BOOP_PROD_API_KEY"
    assert 0.5 <= first < 1.5
    assert second < 0.1
    assert hanging.calls == 1
    assert store.backend_name().startswith(
        "none (The OS keyring did not answer (read prod/vendor_id did not answer "
        "within 0.5 s)"
    )
