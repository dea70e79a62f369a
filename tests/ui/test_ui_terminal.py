"""The console as a real process in a pseudo-terminal: it leaves the terminal as it
found it after quitting and after SIGHUP, and nothing keeps the process alive."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(60)

APP = Path(__file__).with_name("ui_pty_app.py")
ALT_SCREEN_OFF = b"\x1b[?1049l"
MOUSE_OFF = b"\x1b[?1000l"


class PtyApp:
    """Runs ui_pty_app.py on a fresh 80x24 pty and collects what it writes."""

    def __init__(self, role: str) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TEXTUAL", "PYTEST"))
        }
        env.update(TERM="xterm-256color", PYTHONPATH=str(Path.cwd()))
        self.proc = subprocess.Popen(
            [sys.executable, str(APP), role],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            env=env,
        )
        os.close(slave)
        self.output = b""

    def read_until(self, marker: bytes, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while marker not in self.output and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:  # the child closed the pty
                    break
        return marker in self.output

    def wait_exit(self, timeout_s: float) -> int | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.read_until(b"\x00never", 0.1)
            code = self.proc.poll()
            if code is not None:
                self.read_until(b"\x00never", 0.2)
                return code
        return None

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        os.close(self.master)


@pytest.fixture
def driver() -> Iterator[PtyApp]:
    app = PtyApp("driver")
    yield app
    app.close()


def test_quit_with_confirmation_restores_the_terminal(driver: PtyApp) -> None:
    assert driver.read_until(b"ROLL BACK", 20), driver.output[-500:]
    os.write(driver.master, b"q")
    assert driver.read_until(b"Quit the driving console?", 10)
    os.write(driver.master, b"y")
    assert driver.wait_exit(10) == 0
    tail = driver.output.rsplit(b"Quit the driving console?", 1)[-1]
    assert ALT_SCREEN_OFF in tail
    assert MOUSE_OFF in tail


def test_sighup_exits_and_restores_the_terminal(driver: PtyApp) -> None:
    assert driver.read_until(b"ROLL BACK", 20), driver.output[-500:]
    os.killpg(driver.proc.pid, signal.SIGHUP)
    assert driver.wait_exit(10) == 128 + signal.SIGHUP
    assert ALT_SCREEN_OFF in driver.output
    assert MOUSE_OFF in driver.output


def test_crash_restores_the_terminal_and_says_why() -> None:
    app = PtyApp("crash")
    try:
        assert app.wait_exit(20) == 1
        assert ALT_SCREEN_OFF in app.output
        after = app.output.rsplit(ALT_SCREEN_OFF, 1)[-1]
        assert b"engine exploded on purpose" in after
    finally:
        app.close()
