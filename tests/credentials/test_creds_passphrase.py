"""The encrypted file's passphrase with no terminal: a clear error, or the
BOOP_CONSOLE_PASSPHRASE environment variable."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from creds_helpers import (
    LIVE_ID,
    LIVE_KEY,
    REPO,
    console_cli,
    isolated_env,
    write_config,
)

pytestmark = pytest.mark.timeout(60)


def run_without_terminal(
    tmp: Path, argv: list[str], stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    """A new session has no controlling terminal: /dev/tty cannot be opened."""
    return subprocess.run(
        argv,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
        start_new_session=True,
        env=isolated_env(
            tmp, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", **env
        ),
    )


def test_creds_set_stdin_with_encrypted_file_and_no_terminal(tmp_path: Path) -> None:
    enc = tmp_path / "creds.enc"
    config = write_config(tmp_path, encrypted_file=f'"{enc}"')
    argv = console_cli(config, "creds", "set", "prod", "--stdin", "--where", "file")
    done = run_without_terminal(tmp_path, argv, f"{LIVE_ID}\n{LIVE_KEY}\n")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "boop-console: Credentials error: The encrypted credentials file needs its "
        "passphrase and there is no terminal to ask for it on. Run the command in a "
        "terminal, or set BOOP_CONSOLE_PASSPHRASE in its environment."
    )
    assert not enc.exists()

    stored = run_without_terminal(
        tmp_path,
        argv,
        f"{LIVE_ID}\n{LIVE_KEY}\n",
        BOOP_CONSOLE_PASSPHRASE="correct horse",
    )
    assert stored.returncode == 0, stored.stderr
    assert (
        stored.stdout.strip() == f"Stored credentials for prod in encrypted file {enc}."
    )
    shown = run_without_terminal(
        tmp_path,
        console_cli(config, "creds", "show", "prod"),
        BOOP_CONSOLE_PASSPHRASE="correct horse",
    )
    assert shown.returncode == 0, shown.stderr
    assert f"sk_live_…9f3a  from encrypted file {enc}" in shown.stdout
    assert LIVE_KEY not in shown.stdout + shown.stderr + stored.stdout + stored.stderr
    # Reading without the variable or a terminal says so instead of asking stdin.
    unread = run_without_terminal(
        tmp_path, console_cli(config, "creds", "show", "prod")
    )
    assert unread.returncode == 1
    assert "there is no terminal to ask for it on" in unread.stdout
    assert "Traceback" not in unread.stderr
