"""House rules the UI keeps: textual stays inside console/ui, colours come from
themes only, and every theme runs (including the 16-colour one)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ui_fake_engine import NOW, FakeEngine

from console.ui.app import ConsoleApp
from console.ui.themes import LOW_COLOUR_THEME, load_themes, theme_for_terminal
from console.ui.widgets.metric_chart import MetricChart

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[2] / "console"
HEX = re.compile(r"#[0-9a-fA-F]{3,8}\b")


def test_only_console_ui_imports_textual() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        if "ui" not in path.relative_to(ROOT).parts[:1]
        and re.search(r"^\s*(from|import) textual", path.read_text(), re.M)
    ]
    assert offenders == []


def test_no_hex_colours_outside_theme_files() -> None:
    ui = ROOT / "ui"
    offenders = [
        str(path.relative_to(ui))
        for path in [*ui.rglob("*.py"), *ui.rglob("*.tcss")]
        if HEX.search(path.read_text())
    ]
    assert offenders == []


def test_theme_files_define_the_four_themes() -> None:
    assert sorted(load_themes()) == [
        "boop-16",
        "boop-contrast",
        "boop-dark",
        "boop-light",
    ]


@pytest.mark.parametrize(
    ("term", "theme"),
    [
        ("linux", LOW_COLOUR_THEME),
        ("screen", LOW_COLOUR_THEME),
        ("screen-256color", "boop-dark"),
        ("xterm-256color", "boop-dark"),
        (None, "boop-dark"),
    ],
)
def test_theme_for_terminal(term: str | None, theme: str) -> None:
    assert theme_for_terminal(term) == theme


@pytest.mark.parametrize("theme", sorted(load_themes()))
async def test_every_theme_renders_the_main_screen(theme: str) -> None:
    app = ConsoleApp(FakeEngine(), theme=theme, who="t@h", clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert app.theme == theme
        drawn = [c.draws for c in app.screen.query(MetricChart) if c.display]
        assert drawn == [1, 1]


async def test_unknown_theme_falls_back_to_the_default() -> None:
    app = ConsoleApp(FakeEngine(), theme="no-such", who="t@h", clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "boop-dark"
