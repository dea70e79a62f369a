"""Project-level promises: the README's commands and tables, every --help, the
config template, and the layering rule."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from console import cli
from console.commands.demo import template_text
from console.config import parse_config
from console.metrics import catalog

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_newcomer_commands() -> None:
    first_block = README.split("```")[1]
    commands = [
        line.split("#")[0].strip()
        for line in first_block.splitlines()[1:]
        if line.strip()
    ]
    assert commands == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo: \$\(STAMP\)", makefile, re.M)
    assert re.search(r"^test: \$\(STAMP\)", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_metric_table_is_the_catalog() -> None:
    start = README.index("<!-- catalog table")
    end = README.index("<!-- end catalog table -->")
    table = README[start:end].split("\n", 1)[1].strip()
    assert table == catalog.markdown_table().strip()


def subcommands() -> list[list[str]]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    names = []
    for name, command in sub.choices.items():  # type: ignore[union-attr]
        names.append([name])
        for action in command._actions:
            if action.choices and isinstance(action.choices, dict):
                names += [[name, inner] for inner in action.choices]
    return names


@pytest.mark.parametrize("argv", subcommands(), ids=" ".join)
def test_every_help_renders(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main([*argv, "--help"])
    assert exit_.value.code == 0
    assert "usage: boop-console" in capsys.readouterr().out


def test_top_level_help_lists_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "0 done, 1 failed, 2 usage/config error, 3 refused" in out


def test_config_template_parses_and_names_no_default_host() -> None:
    config = parse_config(tomllib.loads(template_text()), "template")
    assert config.environments["prod"].base_url == "https://app.boop.it"
    assert config.environments["prod"].production is True
    assert config.environments["dev"].production is False
    assert config.plan.levels == [5, 10, 25, 50, 100]
    assert config.plan.hold_s == 86400


def test_config_error_names_the_key_path() -> None:
    from console.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        parse_config(
            {
                "environments": {"prod": {"base_url": "ftp://x", "ws_url": "ws://x"}},
                "router": {"kind": "file", "bogus": 1},
                "plan": {"levels": [10, 5]},
            }
        )
    text = str(err.value)
    assert "environments.prod.base_url" in text
    assert "router.bogus: unknown key" in text
    assert "plan.levels" in text


def test_only_the_ui_imports_textual() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "console").rglob("*.py")
        if "ui" not in path.relative_to(ROOT / "console").parts[:1]
        and re.search(r"^\s*(from|import) textual", path.read_text(), re.M)
    ]
    assert offenders == []


def test_demo_config_written_as_toml_reads_back_equal(tmp_path: Path) -> None:
    from console.config import demo_config, dump_toml, load_config

    config = demo_config(
        "http://127.0.0.1:8001",
        "http://127.0.0.1:8002",
        "http://127.0.0.1:8003/metrics",
        tmp_path,
    )
    path = tmp_path / "config.toml"
    path.write_text(dump_toml(config), encoding="utf-8")
    assert load_config(path) == config
    assert config.gates["auth_success"].window_s == 20.0
    assert config.environments["prod"].ws_url == "ws://127.0.0.1:8002/ws/vendor"


def test_probe_deadline_must_fit_in_its_interval() -> None:
    from console.errors import ConfigError

    envs = {"prod": {"base_url": "http://127.0.0.1:1", "ws_url": "ws://127.0.0.1:1"}}
    with pytest.raises(ConfigError) as err:
        parse_config(
            {"environments": envs, "probes": {"interval_s": 2, "deadline_s": 3}}
        )
    assert "deadline_s (3) must be shorter than interval_s (2)" in str(err.value)
    # The hint of a multi-line config error stands on a line of its own.
    assert str(err.value).splitlines()[-1].startswith("Fix the keys above")


def test_a_gate_section_overrides_only_the_fields_it_names() -> None:
    envs = {"prod": {"base_url": "http://127.0.0.1:1", "ws_url": "ws://127.0.0.1:1"}}
    config = parse_config(
        {
            "environments": envs,
            "gates": {
                "auth_success": {"window_s": 30},
                "ws_stability": {"enabled": False},
                "api_latency": {"metric": "api_p95_s", "op": "<", "threshold": 1.5},
            },
        }
    )
    assert sorted(config.gates) == [
        "api_latency",
        "auth_errors",
        "auth_latency",
        "auth_success",
        "payment_success",
        "uptime",
        "ws_stability",
    ]
    assert config.gates["auth_success"].window_s == 30
    assert config.gates["auth_success"].threshold == 99.5
    assert config.gates["auth_success"].metric == "auth_success_pct"
    assert config.gates["ws_stability"].enabled is False
    assert config.gates["api_latency"].threshold == 1.5


def test_a_new_gate_must_name_its_metric_op_and_threshold() -> None:
    from console.errors import ConfigError

    envs = {"prod": {"base_url": "http://127.0.0.1:1", "ws_url": "ws://127.0.0.1:1"}}
    with pytest.raises(ConfigError) as err:
        parse_config({"environments": envs, "gates": {"mine": {"window_s": 5}}})
    assert "gates.mine.metric: Field required" in str(err.value)
