"""`report`: a journal that does not verify is flagged at the top, only real
rollbacks are counted, and an unwritable --output is a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import keyring.backends.fail
import keyring.core
import pytest

from console.cli import main
from console.engine.checklist import Checklist, render_report
from console.engine.journal import Journal

T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC


def seven_entries(path: Path) -> Journal:
    journal = Journal(path)
    steps = [
        ("ana@jump1", "shift", "start at 5%", 0, 5),
        ("ana@jump1", "shift", "to 25%", 5, 25),
        ("ana@jump1 (automatic)", "rollback", "auth_errors 6.1 % > 5", 25, 0),
        ("bo@jump2", "rollback observed", "ana@jump1 rolled back: auth_errors", 0, 0),
        ("ana@jump1", "rearm", "fixed the deploy", 0, 0),
        ("ana@jump1", "shift", "start at 5% again", 0, 5),
        ("ana@jump1", "rollback", "operator: payment failures", 5, 0),
        ("bo@jump2", "rollback observed", "ana@jump1 rolled back: payments", 0, 0),
        ("ana@jump1", "rollback (no-op)", "already at 0%", 0, 0),
    ]
    for i, (who, action, why, before, after) in enumerate(steps):
        journal.append(
            ts=T0 + 60 * i, who=who, action=action, why=why, before=before, after=after
        )
    return journal


def test_report_warns_first_about_an_edited_journal(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    seven_entries(path)
    lines = path.read_text().splitlines()
    edited = json.loads(lines[4])
    edited["why"] = "nothing happened here"
    lines[4] = json.dumps(edited, sort_keys=True)
    path.write_text("\n".join(lines) + "\n")
    assert "line 5: hash mismatch" in Journal(path).verify().problems[0]
    checklist = Checklist(tmp_path / "c.json", clock=lambda: T0 + 900)
    text = render_report(checklist, path, now=T0 + 900)
    head = text.splitlines()
    assert head[0] == "# BOOP cutover report"
    assert head[2] == (
        "> **WARNING: the journal does not verify; this report may show edited or "
        "missing entries.** First problem: line 5: hash mismatch (the entry was "
        "edited). Run `boop-console journal verify` for the full list."
    )
    assert "nothing happened here" in text  # shown, but under the warning


def test_report_of_a_verified_journal_has_no_warning(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    seven_entries(path)
    checklist = Checklist(tmp_path / "c.json", clock=lambda: T0 + 900)
    text = render_report(checklist, path, now=T0 + 900)
    assert "WARNING" not in text
    assert text.splitlines()[2].startswith("Generated 2027-01-15 08:15 UTC")


def test_report_counts_only_real_rollbacks(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    seven_entries(path)
    checklist = Checklist(tmp_path / "c.json", clock=lambda: T0 + 900)
    text = render_report(checklist, path, now=T0 + 900)
    section = text.split("## Rollbacks\n\n", 1)[1].split("\n## ", 1)[0]
    assert section.strip().splitlines() == [
        "- 2027-01-15 08:02 UTC rollback by ana@jump1 (automatic): "
        "auth_errors 6.1 % > 5",
        "- 2027-01-15 08:06 UTC rollback by ana@jump1: operator: payment failures",
        "",
        "Not counted as rollbacks (see the timeline): 1 × rollback (no-op), "
        "2 × rollback observed.",
    ]


@pytest.mark.timeout(30)
def test_report_output_into_a_missing_directory_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        keyring.core,
        "_keyring_backend",
        keyring.backends.fail.Keyring(),  # type: ignore[no-untyped-call]
    )
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    config = tmp_path / "config.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n'
        "[environments.prod]\n"
        'base_url = "http://127.0.0.1:9"\n'
        'ws_url = "ws://127.0.0.1:9/ws/vendor"\n'
        "production = true\n",
        encoding="utf-8",
    )
    out = tmp_path / "nope" / "r.md"
    code = main(["--config", str(config), "report", "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"Could not write the report to {out}: No such file or directory." in err
    assert "Traceback" not in err and not out.exists()
