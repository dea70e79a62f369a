"""Resolution order, environment variables, commands and the encrypted file."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import keyring.backends.fail
import pytest
from creds_helpers import DEV_ID, DEV_KEY, LIVE_ID, LIVE_KEY, MemoryKeyring

from console.config import CredentialsConfig
from console.credentials import CredentialStore, env_var_names
from console.credentials.encrypted_file import (
    SCHEME_AESGCM,
    SCHEME_STDLIB,
    EncryptedFile,
    EncryptedFileError,
    decrypt,
    encrypt,
)
from console.errors import CredentialError

NO_KEYRING = keyring.backends.fail.Keyring()  # type: ignore[no-untyped-call]


def store(
    environ: dict[str, str] | None = None,
    backend: object = NO_KEYRING,
    **cfg: object,
) -> CredentialStore:
    return CredentialStore(
        CredentialsConfig.model_validate(cfg),
        environ=environ or {},
        keyring_backend=backend,
        command_timeout_s=2.0,
    )


def test_env_var_names() -> None:
    assert env_var_names("prod") == ("BOOP_PROD_VENDOR_ID", "BOOP_PROD_API_KEY")
    assert env_var_names("eu-prod") == (
        "BOOP_EU_PROD_VENDOR_ID",
        "BOOP_EU_PROD_API_KEY",
    )


def test_keyring_wins_over_environment_and_reports_its_age() -> None:
    memory = MemoryKeyring()
    s = store(
        {"BOOP_PROD_VENDOR_ID": "ven_live_fromenv000", "BOOP_PROD_API_KEY": LIVE_KEY},
        backend=memory,
    )
    s.set("prod", LIVE_ID, LIVE_KEY)
    assert memory.items[("boop-console", "prod/vendor_id")] == LIVE_ID
    stored_iso = memory.items[("boop-console", "prod/stored_at")]
    assert stored_iso.endswith("+00:00")
    found = s.resolve("prod")
    assert found.source == "keyring (MemoryKeyring)"
    assert found.vendor_id.reveal() == LIVE_ID
    assert found.stored_at is not None and abs(found.stored_at - time.time()) < 5
    assert found.rotation_due_at == found.stored_at + 365 * 86400
    assert repr(found).count("sk_live_…9f3a") == 1
    assert LIVE_KEY not in repr(found)


def test_environment_per_env_then_generic_only_when_boop_env_matches() -> None:
    per_env = store({"BOOP_DEV_VENDOR_ID": DEV_ID, "BOOP_DEV_API_KEY": DEV_KEY})
    assert per_env.resolve("dev").source == "environment BOOP_DEV_API_KEY"

    generic = {"BOOP_VENDOR_ID": LIVE_ID, "BOOP_API_KEY": LIVE_KEY}
    prod = store({**generic, "BOOP_ENV": "production"})
    assert prod.resolve("prod").source == (
        "environment BOOP_API_KEY (BOOP_ENV=production)"
    )
    with pytest.raises(CredentialError):
        prod.resolve("dev")  # BOOP_ENV says production: the generic pair is not dev's
    with pytest.raises(CredentialError) as info:
        store(generic).resolve("prod")  # no BOOP_ENV: not used at all
    assert info.value.message == (
        "No credentials for environment 'prod'. Tried: keyring: The OS keyring is "
        "not used: no keyring backend is available on this host (fail); "
        "environment: BOOP_PROD_VENDOR_ID/BOOP_PROD_API_KEY not set; "
        "command: none configured; encrypted file: not configured."
    )


def _script(tmp: Path, body: str) -> str:
    path = tmp / "creds.py"
    path.write_text(body, encoding="utf-8")
    return f"{sys.executable} {path}"


def test_command_source_runs_without_a_shell(tmp_path: Path) -> None:
    command = _script(tmp_path, f"print('{LIVE_ID}'); print('{LIVE_KEY}')\n")
    # A shell metacharacter stays a literal argument: nothing is injected.
    marker = tmp_path / "injected"
    s = store(commands={"prod": f"{command} ; touch {marker}"})
    found = s.resolve("prod")
    assert found.api_key.reveal() == LIVE_KEY
    assert found.source == f"command `{command} ; touch {marker}`"
    assert not marker.exists()


def test_command_failures_are_reported_without_output(tmp_path: Path) -> None:
    slow = _script(tmp_path, "import time; time.sleep(30)\n")
    started = time.monotonic()
    with pytest.raises(CredentialError) as info:
        store(commands={"prod": slow}).resolve("prod")
    assert time.monotonic() - started < 5
    assert f"command `{slow}`: no answer within 2 s" in info.value.message

    leaky = _script(tmp_path, f"print('{LIVE_KEY}')\n")  # one word only
    with pytest.raises(CredentialError) as info:
        store(commands={"prod": leaky}).resolve("prod")
    assert "expected 'vendor_id api_key', got 1 words" in info.value.message
    assert LIVE_KEY not in str(info.value)

    with pytest.raises(CredentialError) as info:
        store(commands={"prod": "/nonexistent/pass show boop"}).resolve("prod")
    assert "/nonexistent/pass not found" in info.value.message


@pytest.mark.parametrize("scheme", [SCHEME_AESGCM, SCHEME_STDLIB])
def test_encrypted_file_round_trip_and_wrong_passphrase(
    tmp_path: Path, scheme: str
) -> None:
    path = tmp_path / "creds.enc"
    EncryptedFile(path, scheme).save("correct horse", {"prod": {"api_key": LIVE_KEY}})
    raw = path.read_text(encoding="utf-8")
    assert LIVE_KEY not in raw and "9f3a" not in raw
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(raw)["scheme"] == scheme
    assert EncryptedFile(path).load("correct horse") == {"prod": {"api_key": LIVE_KEY}}
    with pytest.raises(EncryptedFileError) as info:
        EncryptedFile(path).load("wrong horse")
    assert info.value.message == (
        f"Could not open {path}: wrong passphrase, or the file was altered."
    )


@pytest.mark.parametrize("scheme", [SCHEME_AESGCM, SCHEME_STDLIB])
def test_encrypted_file_detects_tampering(scheme: str) -> None:
    doc = encrypt(b'{"prod": {}}', "pw", scheme)
    flipped = bytearray(doc["ciphertext"].encode())
    flipped[2] = ord("A") if flipped[2] != ord("A") else ord("B")
    for tampered in (
        {**doc, "ciphertext": flipped.decode()},
        {**doc, "kdf": {**doc["kdf"], "n": 2**14}},  # header is authenticated
    ):
        with pytest.raises(EncryptedFileError, match="wrong passphrase, or the file"):
            decrypt(tampered, "pw")
    assert decrypt(doc, "pw") == b'{"prod": {}}'


def test_store_falls_back_to_encrypted_file_and_asks_once(tmp_path: Path) -> None:
    asked: list[int] = []

    def passphrase() -> str:
        asked.append(1)
        return "s3cret pass"

    cfg = CredentialsConfig(encrypted_file=str(tmp_path / "c.enc"))
    s = CredentialStore(
        cfg, environ={}, passphrase=passphrase, keyring_backend=NO_KEYRING
    )
    assert s.set("prod", LIVE_ID, LIVE_KEY) == f"encrypted file {tmp_path / 'c.enc'}"
    s.set("dev", DEV_ID, DEV_KEY)
    found = s.resolve("prod")
    assert found.source == f"encrypted file {tmp_path / 'c.enc'}"
    assert found.api_key.reveal() == LIVE_KEY
    assert found.stored_at is not None
    assert len(asked) == 1
    assert s.delete("dev") == [f"encrypted file {tmp_path / 'c.enc'}"]
    rows = s.summaries(["prod", "dev"])
    assert rows[0].api_key_masked == "sk_live_…9f3a" and rows[0].problem is None
    assert rows[1].source == "none"
    assert rows[1].problem is not None
    assert "encrypted file" in rows[1].problem and "nothing stored for dev" in (
        rows[1].problem
    )


def test_no_keyring_and_no_file_refuses_to_store() -> None:
    with pytest.raises(CredentialError) as info:
        store().set("prod", LIVE_ID, LIVE_KEY)
    assert "no keyring backend is available" in info.value.message
