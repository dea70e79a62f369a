"""Updates that would draw the same thing send nothing; a change repaints only
the lines that differ (the low-bandwidth byte budget rests on both)."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from console.ui import format as fmt
from console.ui.widgets.quiet_static import QuietStatic

pytestmark = pytest.mark.timeout(30)


class Table(QuietStatic):
    DEFAULT_CSS = "Table { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }"


class OneWidget(App[None]):
    def compose(self) -> ComposeResult:
        yield Table(id="t")


def lines(*rows: str) -> str:
    return "\n".join(rows)


async def test_only_changed_lines_are_repainted() -> None:
    app = OneWidget()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(Table)
        table.set_content(lines("gate a 99.1", "gate b 98.0", "gate c 97.0"))
        await pilot.pause()
        start = table.repainted_lines

        assert table.set_content(lines("gate a 99.1", "gate b 12.5", "gate c 97.0"))
        assert table.repainted_lines - start == 1
        await pilot.pause()
        assert "gate b 12.5" in str(table.render_line(1).text)

        # The same text again: nothing at all.
        assert not table.set_content(lines("gate a 99.1", "gate b 12.5", "gate c 97.0"))
        assert table.repainted_lines - start == 1


async def test_text_past_the_ellipsis_repaints_nothing() -> None:
    app = OneWidget()
    async with app.run_test(size=(30, 10)) as pilot:
        table = app.query_one(Table)
        table.set_content("uptime 100.00 % over 60 s (data 0.7 s old)")
        await pilot.pause()
        start = table.repainted_lines
        assert not table.set_content("uptime 100.00 % over 60 s (data 0.9 s old)")
        assert table.repainted_lines == start
        # A visible change does repaint, and a new line count lays out again.
        assert table.set_content("uptime 99.00 % over 60 s (data 0.9 s old)")
        assert table.set_content(lines("uptime 99.00 %", "ws 1"))
        await pilot.pause()
        assert table.size.height == 2


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "–"), (3.4, "<10 ms"), (14.0, "10 ms"), (46.0, "50 ms"), (2600.0, "3 s")],
)
def test_coarse_latency(value: float | None, text: str) -> None:
    assert fmt.coarse_ms(value) == text
