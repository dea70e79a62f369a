"""bench/terminal.py measures programs whose output rate and CPU use are known."""

from __future__ import annotations

import os
import sys

import pytest

from bench.terminal import (
    Program,
    PtySession,
    live_pids,
    measure,
    session_pids,
    strip_escapes,
)

PY = sys.executable

# Writes exactly 100 bytes every 0.1 s on a fixed schedule: 1000 B/s. No newline,
# since the pty would turn "\n" into "\r\n".
STEADY_1000 = """
import os, time
t = time.monotonic()
while True:
    os.write(1, b"x" * 100)
    t += 0.1
    time.sleep(max(0.0, t - time.monotonic()))
"""
BUSY = "while True: pass"
BUSY_CHILD = """
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "while True: pass"])
time.sleep(100)
"""


def _program(code: str, name: str = "test") -> Program:
    return Program(name, [PY, "-c", code])


@pytest.mark.timeout(30)
def test_known_rate_of_1000_bytes_per_second_is_measured() -> None:
    cost = measure(_program(STEADY_1000), cols=80, rows=24, settle_s=0.5, duration_s=3)

    assert cost.error is None
    assert 2.9 < cost.seconds < 3.5
    assert 900 <= cost.bytes_per_s <= 1100
    assert len(cost.bytes_per_second) == 3
    assert all(800 <= b <= 1200 for b in cost.bytes_per_second)
    # Writing 1 KB/s costs next to nothing.
    assert cost.cpu_pct < 10


@pytest.mark.timeout(30)
def test_busy_program_uses_most_of_one_core_and_idle_one_none() -> None:
    busy = measure(_program(BUSY), cols=80, rows=24, settle_s=0.3, duration_s=2)
    idle = measure(
        _program("import time; time.sleep(100)"),
        cols=80,
        rows=24,
        settle_s=0.3,
        duration_s=2,
    )

    assert busy.cpu_pct > 50
    assert busy.main_cpu_pct == busy.cpu_pct
    assert len(busy.main_cpu_per_second) == 2
    assert idle.cpu_pct < 5
    assert idle.total_bytes == 0


@pytest.mark.timeout(30)
def test_cpu_of_a_child_process_counts_and_the_child_is_stopped() -> None:
    session = PtySession(_program(BUSY_CHILD), cols=80, rows=24)
    session.start()
    try:
        session.read(0.5)
        before, own_before = session.cpu_ticks(), session.main_cpu_ticks()
        session.read(1.5)
        used = session.cpu_ticks() - before
        own = session.main_cpu_ticks() - own_before
        pids = session_pids(session.pid)
    finally:
        session.stop()

    assert len(pids) == 2
    assert used / os.sysconf("SC_CLK_TCK") > 0.7
    # The parent only sleeps: the busy child's CPU is not its own.
    assert own < 5
    assert live_pids(session_pids(session.pid)) == []


@pytest.mark.timeout(30)
def test_program_ignoring_sigterm_is_killed_after_the_grace_period() -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(100)"
    )
    session = PtySession(_program(code), cols=80, rows=24)
    session.start()
    session.read(5, until=lambda: b"ready" in session.output)

    assert session.stop(grace_s=0.3) == -9


@pytest.mark.timeout(30)
def test_window_size_and_term_are_what_was_asked() -> None:
    code = (
        "import os; s = os.get_terminal_size(); "
        'print(f\'size={s.columns}x{s.lines} term={os.environ["TERM"]} '
        "tty={os.isatty(0)}', flush=True); import time; time.sleep(100)"
    )
    session = PtySession(_program(code), cols=200, rows=50)
    session.start()
    try:
        session.read(5, until=lambda: b"tty=" in session.output)
    finally:
        session.stop()

    assert "size=200x50 term=xterm-256color tty=True" in strip_escapes(
        bytes(session.output)
    )


@pytest.mark.timeout(30)
def test_program_that_exits_at_once_is_not_measured_and_says_why() -> None:
    code = "import sys; print('no demo here'); sys.exit(3)"
    cost = measure(_program(code), cols=80, rows=24, settle_s=1, duration_s=1)

    assert not cost.measured
    assert cost.error == "exited with status 3 during start-up: no demo here"


def test_missing_program_is_not_measured() -> None:
    cost = measure(
        Program("nothing", ["/nonexistent/boop"]), cols=80, rows=24, settle_s=1
    )

    assert cost.error is not None
    assert cost.error.startswith("could not start: ")


def test_strip_escapes_keeps_only_text() -> None:
    data = (
        b"\x1b[?1049h\x1b[1;1H\x1b[38;5;231;48;5;17mHe\x1b[1mllo\x1b[0m"
        b"\x1b]0;title\x07\x1b(B\x1b=\x1bP+q544e\x1b\\ world"
    )

    assert strip_escapes(data) == "Hello world"
