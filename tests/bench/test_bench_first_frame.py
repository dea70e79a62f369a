"""bench/first_frame.py finds the marker on screen and times it from process start."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.first_frame import marker_shown, measure, time_to_marker
from bench.terminal import Program

PY = sys.executable
HELLO = Path(__file__).resolve().parents[2] / "bench" / "ref" / "hello.py"

# Enters the alternate screen, waits 0.4 s, then draws the marker split by a style.
DELAYED = (
    "import sys, time; sys.stdout.write('\\x1b[?1049hloading'); sys.stdout.flush(); "
    "time.sleep(0.4); sys.stdout.write('\\x1b[5;3HHe\\x1b[1mllo'); "
    "sys.stdout.flush(); time.sleep(100)"
)


def test_marker_is_found_across_escape_codes_and_only_on_the_alt_screen() -> None:
    assert marker_shown(
        b"\x1b[?1049h\x1b[2;2HHe\x1b[1mllo", "Hello", after_alt_screen=True
    )
    assert not marker_shown(b"Hello\x1b[?1049h\x1b[2J", "Hello", after_alt_screen=True)
    assert marker_shown(b"Hello\x1b[?1049h", "Hello", after_alt_screen=False)
    assert not marker_shown(b"\x1b[?1049hHel", "Hello", after_alt_screen=True)


@pytest.mark.timeout(30)
def test_time_to_marker_counts_from_process_start() -> None:
    timing = time_to_marker(Program("delayed", [PY, "-c", DELAYED]), "Hello")

    assert 0.4 <= timing.marker_s < 2.0
    assert timing.alt_screen_s is not None
    assert 0.0 < timing.alt_screen_s < timing.marker_s - 0.3


@pytest.mark.timeout(30)
def test_marker_printed_before_the_ui_starts_does_not_count() -> None:
    code = "print('Hello'); import time; time.sleep(100)"

    with pytest.raises(TimeoutError, match="'Hello' not shown within 1 s: Hello"):
        time_to_marker(Program("early", [PY, "-c", code]), "Hello", timeout_s=1)


@pytest.mark.timeout(30)
def test_program_that_exits_first_is_reported_with_its_last_line() -> None:
    code = "import sys; print('boom: no console'); sys.exit(1)"
    result = measure(Program("fails", [PY, "-c", code]), "BOOP", runs=3)

    assert not result.measured
    assert result.seconds == []
    assert result.error == "exited (status 1) before showing 'BOOP': boom: no console"


@pytest.mark.timeout(60)
def test_hello_world_textual_app_shows_hello_within_seconds() -> None:
    result = measure(Program("hello", [PY, str(HELLO)]), "Hello, World", runs=2)

    assert result.measured, result.error
    assert len(result.seconds) == 2
    assert 0.05 < result.median < 5.0
    assert len(result.alt_screen_seconds) == 2
    assert max(result.alt_screen_seconds) <= max(result.seconds)
