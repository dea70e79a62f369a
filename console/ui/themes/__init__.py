"""The console's themes, one TOML file each, loaded into Textual themes.

Widgets take status colours only from the theme variables ($success, $warning,
$error), so a theme file is the only place colours are written down.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from textual.theme import Theme

THEME_DIR = Path(__file__).parent
DEFAULT_THEME = "boop-dark"
LOW_COLOUR_THEME = "boop-16"
"""For TERM=linux or screen: ANSI colours only, which such terminals draw exactly."""


def load_themes() -> dict[str, Theme]:
    """Every theme file in this package, by name."""
    themes: dict[str, Theme] = {}
    for path in sorted(THEME_DIR.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        theme = Theme(**data)
        themes[theme.name] = theme
    return themes


def theme_for_terminal(term: str | None) -> str:
    """The default theme for a TERM value."""
    if term and term.split("-")[0] in ("linux", "screen") and "256" not in term:
        return LOW_COLOUR_THEME
    return DEFAULT_THEME
