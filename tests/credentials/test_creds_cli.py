"""`creds check`, `creds set --stdin` refusals and `creds request-access`."""

from __future__ import annotations

from pathlib import Path

import keyring.backends.fail
import keyring.core
import pytest
from creds_helpers import DEV_ID, DEV_KEY, LIVE_ID, LIVE_KEY, fake_boop, write_config

from console.cli import main


@pytest.fixture(autouse=True)
def no_os_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        keyring.core,
        "_keyring_backend",
        keyring.backends.fail.Keyring(),  # type: ignore[no-untyped-call]
    )
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    for name in ("BOOP_ENV", "BOOP_VENDOR_ID", "BOOP_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.timeout(30)
def test_check_dev_calls_health_and_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOOP_DEV_VENDOR_ID", DEV_ID)
    monkeypatch.setenv("BOOP_DEV_API_KEY", DEV_KEY)
    with fake_boop() as boop:
        config = write_config(tmp_path, boop.url)
        assert main(["--config", str(config), "creds", "check", "dev"]) == 0
    assert [(m, p) for m, p, _ in boop.requests] == [
        ("GET", "/health"),
        ("GET", "/api/v1/status"),
    ]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "dev: ven_dev_…osks sk_dev_…7e7e from environment BOOP_DEV_API_KEY"
    )
    assert lines[1:3] == ["format: ok", "environment guard: ok for 127.0.0.1"]
    assert lines[3].startswith("health: ok version a1b2c3d in ")
    assert lines[4] == "authenticated call (GET /api/v1/status): ok, 2 fields"


@pytest.mark.timeout(30)
def test_check_refuses_wrong_key_and_unconfirmed_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A live key configured for dev: refused before anything is sent.
    monkeypatch.setenv("BOOP_DEV_VENDOR_ID", LIVE_ID)
    monkeypatch.setenv("BOOP_DEV_API_KEY", LIVE_KEY)
    monkeypatch.setenv("BOOP_PROD_VENDOR_ID", LIVE_ID)
    monkeypatch.setenv("BOOP_PROD_API_KEY", LIVE_KEY)
    with fake_boop() as boop:
        config = write_config(tmp_path, boop.url)
        cfg = ["--config", str(config)]
        assert main([*cfg, "creds", "check", "dev"]) == 3
        # Production with nobody to confirm (no terminal, no --yes): refused.
        assert main([*cfg, "creds", "check", "prod"]) == 3
        assert boop.requests == []
        assert main([*cfg, "creds", "check", "prod", "--yes"]) == 0
        assert len(boop.requests) == 2
    err = capsys.readouterr().err
    assert "refused: Refused before sending: vendor id ven_live_…osks is a live" in err
    assert (
        "refused: Call to production host 127.0.0.1 not confirmed; nothing was sent. "
        "Answer y when asked, or pass --yes to confirm it on the command line.\n"
    ) in err
    assert LIVE_KEY not in err


def test_set_refuses_a_dev_key_for_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    config = write_config(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{DEV_ID}\n{DEV_KEY}\n"))
    assert main(["--config", str(config), "creds", "set", "prod", "--stdin"]) == 3
    err = capsys.readouterr().err
    assert (
        "refused: API key sk_dev_…7e7e is a dev credential and 127.0.0.1 is production"
        in err
    )
    assert "Nothing was stored." in err


def test_request_access_drafts_the_guide_email(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    with open(config, "a") as fh:
        fh.write(
            '[access_request]\ncompany = "Acme Kiosks"\nuse_case = "stadium kiosks"\n'
            'go_live = "2027-03-01"\ntechnical_contact = "Ana Ops <ana@acme.test>"\n'
        )
    assert main(["--config", str(config), "creds", "request-access"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(
        "To: production@boop.network\n"
        "Subject: Production Access Request - Acme Kiosks\n"
    )
    assert "Company information and use case: stadium kiosks\n" in text
    # The configured dev environment's host, not BOOP's default dev host.
    assert (
        "Development testing: completed against 127.0.0.1 (BOOP's testing checklist).\n"
    ) in text
    assert "dev.app.boop.it" not in text
    assert "Expected go-live date: 2027-03-01\n" in text
    assert "Technical contact: Ana Ops <ana@acme.test>\n" in text


def test_request_access_names_the_first_non_production_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n'
        "[environments.sandbox]\n"
        'base_url = "http://127.0.0.5:9"\n'
        'ws_url = "ws://127.0.0.5:9/ws/vendor"\n'
        "[environments.prod]\n"
        'base_url = "http://127.0.0.1:9"\n'
        'ws_url = "ws://127.0.0.1:9/ws/vendor"\n'
        "production = true\n",
        encoding="utf-8",
    )
    assert main(["--config", str(config), "request-access"]) == 0
    text = capsys.readouterr().out
    assert "Development testing: completed against 127.0.0.5 (BOOP's" in text
