"""Masking: no secret in full in any output, log, journal, report or error."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import keyring.backends.fail
import keyring.core
import pytest
from creds_helpers import DEV_KEY, LIVE_ID, LIVE_KEY, fake_boop, write_config

from console.cli import main
from console.credentials import (
    RedactingFilter,
    Secret,
    install_log_redaction,
    make_guard,
    mask,
    redact,
    register_secret,
)
from console.credentials.masking import forget_secrets


def test_mask_values() -> None:
    assert mask(LIVE_KEY) == "sk_live_…9f3a"
    assert mask(DEV_KEY) == "sk_dev_…7e7e"
    assert mask("ven_live_abc") == "ven_live_…"  # short: only the public prefix
    assert mask("hunter2") == "…"
    assert mask("0123456789abcdefWXYZ") == "…WXYZ"
    assert mask(None) == mask("") == "(none)"


def test_secret_never_prints_its_value() -> None:
    secret = Secret(LIVE_KEY)
    assert str(secret) == f"{secret}" == f"{secret:>20}".strip() == "sk_live_…9f3a"
    assert repr(secret) == "Secret('sk_live_…9f3a')"
    assert secret.reveal() == LIVE_KEY
    assert secret == Secret(LIVE_KEY) and secret != Secret(DEV_KEY)
    with pytest.raises(TypeError):
        json.dumps({"key": secret})
    with pytest.raises(TypeError):
        "key: " + secret  # type: ignore[operator]


def test_redact_registered_and_key_shaped_values() -> None:
    register_secret("correct-horse-battery")
    text = (
        f"pass=correct-horse-battery key={LIVE_KEY} other=sk_test_zzzzzzzzzzzzzzzz1111"
    )
    assert redact(text) == "pass=…tery key=sk_live_…9f3a other=sk_test_…1111"
    forget_secrets()
    assert "correct-horse-battery" in redact("pass=correct-horse-battery")


def test_log_filter_redacts_message_args_and_traceback(tmp_path: Path) -> None:
    log_file = tmp_path / "console.log"
    handler = logging.FileHandler(log_file)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("console.test_masking")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    handler.addFilter(RedactingFilter())
    try:
        logger.info("using key %s for %s", LIVE_KEY, "prod")
        try:
            raise RuntimeError(f"server rejected {LIVE_KEY}")
        except RuntimeError:
            logger.exception("call failed")
    finally:
        logger.removeHandler(handler)
        handler.close()
    text = log_file.read_text()
    assert LIVE_KEY not in text
    assert "INFO using key sk_live_…9f3a for prod" in text
    assert "RuntimeError: server rejected sk_live_…9f3a" in text


@pytest.mark.timeout(60)
def test_full_flow_leaves_no_full_key_anywhere(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """creds show/check, a refused call, a tick note with a pasted key, production
    verification, the report and DEBUG logs: scan every file and all output."""
    monkeypatch.setenv("BOOP_PROD_VENDOR_ID", LIVE_ID)
    monkeypatch.setenv("BOOP_PROD_API_KEY", LIVE_KEY)
    monkeypatch.setenv("BOOP_CONSOLE_STATE_DIR", str(tmp_path / "state"))
    # No OS keyring in this process: credentials come from the environment.
    monkeypatch.setattr(
        keyring.core,
        "_keyring_backend",
        keyring.backends.fail.Keyring(),  # type: ignore[no-untyped-call]
    )
    root = logging.getLogger()
    handler = logging.FileHandler(tmp_path / "debug.log")
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    redaction = install_log_redaction()
    errors: list[str] = []
    try:
        with fake_boop() as boop:
            config = write_config(tmp_path, boop.url)
            cfg = ["--config", str(config)]
            assert main([*cfg, "creds", "show", "prod"]) == 0
            assert main([*cfg, "creds", "check", "prod", "--yes"]) == 0
            note = f"review done; key {LIVE_KEY} checked"
            assert main([*cfg, "check", "tick", "pre.review", "--note", note]) == 0
            assert main([*cfg, "check", "verify", "--yes"]) == 0
            report = tmp_path / "report.md"
            assert main([*cfg, "report", "--output", str(report)]) == 0
            assert main([*cfg, "check", "--json"]) == 0
            # The key did reach the fake BOOP, in the header only.
            assert (
                "GET",
                "/api/v1/status",
                LIVE_KEY,
            ) in boop.requests
        # A refused call: a live key aimed at a dev host.
        from console.config import load_config

        loaded = load_config(config)
        guard = make_guard(loaded.environments["dev"], loaded.safety)
        try:
            guard(loaded.environments["dev"].base_url + "/health", LIVE_ID, LIVE_KEY)
        except Exception as exc:
            errors.append(str(exc))
            logging.getLogger("console.test").exception("refused")
    finally:
        for each in root.handlers:
            each.removeFilter(redaction)
        root.removeHandler(handler)
        handler.close()
        root.setLevel(old_level)
    out = capsys.readouterr()
    assert errors and "sk_live_…9f3a" in errors[0]
    journal = (tmp_path / "state" / "journal.jsonl").read_text()
    assert "checklist pre.review" in journal and "key sk_live_…9f3a checked" in journal
    assert "sk_live_…9f3a" in (tmp_path / "report.md").read_text()
    texts = {"stdout": out.out, "stderr": out.err, "errors": "\n".join(errors)}
    for path in tmp_path.rglob("*"):
        if path.is_file():
            texts[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    assert len(texts) >= 8
    debug_log = texts[str(tmp_path / "debug.log")]
    assert "credentials for prod from environment BOOP_PROD_API_KEY" in debug_log
    assert "console.test ERROR refused" in debug_log
    leaks = [name for name, text in texts.items() if LIVE_KEY in text]
    assert leaks == []
