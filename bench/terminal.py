"""Run a program in a pseudo-terminal and measure what it costs the terminal.

A program runs in a fresh session whose controlling terminal is a pty of a given size
(TERM=xterm-256color unless told). Everything it writes is read and timestamped; after a
settle period, the bytes written per second and the CPU time of its process tree (from
``/proc/<pid>/stat``) are counted over the measurement window in one-second buckets,
so every figure comes with its spread. The program is then stopped: SIGTERM to its
process group, SIGKILL after a grace period, and any process left in its session is
ended by pid.

Used by ``python -m bench`` and by :mod:`bench.first_frame`; standalone::

    python -m bench.terminal --cols 80 --rows 24 --duration 10 -- top -d 1
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import logging
import os
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("console.bench")

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
DEFAULT_TERM = "xterm-256color"

# Variables that would change how a program draws: a test runner or the calling
# terminal must not leak its colour depth, size or Textual dev flags into a measurement.
_DROPPED_ENV_PREFIXES = (
    "TEXTUAL_",
    "COLORTERM",
    "LINES",
    "COLUMNS",
    "TMUX",
    "NO_COLOR",
)

_ESCAPES = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: cursor moves, colours, modes
    rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: titles, colours, hyperlinks
    rb"|\x1b[P_^X][^\x1b]*\x1b\\"  # DCS, APC, PM, SOS strings
    rb"|\x1b[()*+][0-~]"  # character set designation
    rb"|\x1b[ -/]*[0-~]"  # any other two-byte escape (ESC =, ESC 7, ...)
)
ALT_SCREEN_ON = b"\x1b[?1049h"


def strip_escapes(data: bytes) -> str:
    """The text a program wrote, without terminal escape sequences."""
    return _ESCAPES.sub(b"", data).decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Program:
    """A program to measure: a name for the tables and the command line to run."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    """Extra environment variables (TERM is set by the pty session)."""
    term: str = DEFAULT_TERM

    @property
    def command(self) -> str:
        """The command line as a person would type it."""
        return subprocess.list2cmdline(list(self.argv))


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name, or None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    return raw[raw.rfind(")") + 2 :].split()


def session_pids(sid: int) -> list[int]:
    """Every live (or zombie) process whose session id is ``sid``."""
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _proc_stat(int(entry.name))
        # After the name: state(0) ppid(1) pgrp(2) session(3).
        if fields is not None and int(fields[3]) == sid:
            pids.append(int(entry.name))
    return pids


def _signal_all(pids: Sequence[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _end_session(sid: int, deadline: float) -> None:
    """Wait until ``deadline`` for the rest of a session to exit, then SIGKILL what
    is left. Orphans stay zombies until init reaps them (here up to ~2 s later):
    they have ended, so nothing waits for that."""
    while time.monotonic() < deadline and live_pids(session_pids(sid)):
        time.sleep(0.05)
    _signal_all(live_pids(session_pids(sid)), signal.SIGKILL)


def live_pids(pids: Sequence[int]) -> list[int]:
    """The pids that are not zombies (a zombie has exited; only reaping is left)."""
    live = []
    for pid in pids:
        fields = _proc_stat(pid)
        if fields is not None and fields[0] != "Z":
            live.append(pid)
    return live


def session_cpu_ticks(sid: int) -> int:
    """CPU clock ticks used by a session: utime+stime of each process, plus
    cutime+cstime (children already exited and reaped move there, so nothing that
    ran during the window is lost and nothing is counted twice)."""
    total = 0
    for pid in session_pids(sid):
        fields = _proc_stat(pid)
        if fields is not None:
            # utime(11) stime(12) cutime(13) cstime(14), counted from state(0).
            total += sum(int(v) for v in fields[11:15])
    return total


class PtySession:
    """One program running with a pty of a given size as its controlling terminal.

    Everything the program writes is read (so it never blocks on a full pty buffer)
    and recorded as ``(monotonic time, byte count)`` chunks; ``output`` keeps the
    bytes themselves up to ``keep_bytes``.
    """

    def __init__(
        self,
        program: Program,
        *,
        cols: int,
        rows: int,
        keep_bytes: int = 1 << 20,
    ) -> None:
        self.program = program
        self.cols = cols
        self.rows = rows
        self.keep_bytes = keep_bytes
        self.chunks: list[tuple[float, int]] = []
        self.output = bytearray()
        self.started_at: float | None = None
        self.eof = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._master: int | None = None
        self._home: tempfile.TemporaryDirectory[str] | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("PtySession.start() was not called")
        return self._proc.pid

    def _environment(self, home: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(_DROPPED_ENV_PREFIXES)
        }
        # A throwaway HOME and state dir: htop rewrites its rc file on exit and the
        # console keeps a state directory; neither may touch the user's own files.
        env.update(
            HOME=home,
            XDG_CONFIG_HOME=f"{home}/.config",
            XDG_STATE_HOME=f"{home}/.local/state",
            BOOP_CONSOLE_STATE_DIR=f"{home}/state",
            BOOP_CONSOLE_CONFIG=f"{home}/config.toml",
            TERM=self.program.term,
        )
        env.update(self.program.env)
        return env

    def start(self) -> None:
        """Start the program; ``started_at`` is taken just before the fork."""
        master, slave = os.openpty()
        fcntl.ioctl(
            slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.rows, self.cols, 0, 0)
        )
        self._home = tempfile.TemporaryDirectory(prefix="boop-bench-")
        env = self._environment(self._home.name)
        self.started_at = time.monotonic()
        try:
            self._proc = subprocess.Popen(
                list(self.program.argv),
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=env,
                start_new_session=True,
                # After setsid(), make the pty the controlling terminal (as a login
                # shell would), so that curses and Textual see a real tty.
                preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
            )
        except OSError:
            os.close(master)
            self._home.cleanup()
            raise
        finally:
            os.close(slave)
        self._master = master
        log.debug(
            "started %s (pid %d) in %dx%d",
            self.program.name,
            self.pid,
            self.cols,
            self.rows,
        )

    def exit_code(self) -> int | None:
        """The program's exit status, or None while it runs."""
        return None if self._proc is None else self._proc.poll()

    def has_exited(self, wait_s: float = 0.5) -> bool:
        """True if the program has ended; after end of output, wait up to ``wait_s``
        for its status (the pty closes a moment before the process is reaped)."""
        if self._proc is None:
            return False
        if self.eof:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=wait_s)
        return self._proc.poll() is not None or self.eof

    def read(self, seconds: float, until: Callable[[], bool] | None = None) -> int:
        """Read output for ``seconds`` (or until ``until()`` is true after a chunk);
        returns the bytes read."""
        if self._master is None:
            raise RuntimeError("PtySession.start() was not called")
        deadline = time.monotonic() + seconds
        total = 0
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([self._master], [], [], left)
            if not ready:
                continue
            try:
                data = os.read(self._master, 65536)
            except OSError:  # EIO: every process holding the pty slave has gone
                data = b""
            if not data:
                self.eof = True
                break
            self.chunks.append((time.monotonic(), len(data)))
            if len(self.output) < self.keep_bytes:
                self.output += data
            total += len(data)
            if until is not None and until():
                break
        return total

    def cpu_ticks(self) -> int:
        """CPU ticks used by the program's whole session so far."""
        return session_cpu_ticks(self.pid)

    def main_cpu_ticks(self) -> int:
        """CPU ticks (utime+stime) of the program's own process, children excluded."""
        fields = _proc_stat(self.pid)
        return 0 if fields is None else int(fields[11]) + int(fields[12])

    def stop(self, grace_s: float = 2.0) -> int | None:
        """End the program and everything it started: SIGTERM to each process of
        its session, SIGKILL to those left after ``grace_s``. Output is drained
        meanwhile so the program can write its exit sequences. Returns the exit
        status of the program (negative: the signal that ended it)."""
        if self._proc is None:
            return None
        proc = self._proc
        # By pid rather than by group: a child that moved to its own process group
        # (a simulator, say) is still in the session.
        _signal_all(session_pids(proc.pid), signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while proc.poll() is None and time.monotonic() < deadline:
            self.read(0.05, until=lambda: proc.poll() is not None)
        if proc.poll() is None:
            log.debug("%s ignored SIGTERM: SIGKILL", self.program.name)
            _signal_all(session_pids(proc.pid), signal.SIGKILL)
        code = proc.wait(timeout=5)
        _end_session(proc.pid, deadline)
        if self._master is not None:
            os.close(self._master)
            self._master = None
        if self._home is not None:
            self._home.cleanup()
            self._home = None
        return code

    def __enter__(self) -> PtySession:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    """(median, min, max) of ``values``; zeros when there are none."""
    if not values:
        return (0.0, 0.0, 0.0)
    return (statistics.median(values), min(values), max(values))


@dataclass(frozen=True)
class TerminalCost:
    """Bytes/s to the terminal and CPU of one core, over a measurement window."""

    name: str
    command: str
    cols: int
    rows: int
    seconds: float
    """Length of the measurement window (after the settle period)."""
    total_bytes: int = 0
    bytes_per_second: Sequence[int] = ()
    """Bytes written in each one-second bucket of the window."""
    cpu_ticks: int = 0
    """CPU ticks of the whole process tree over the window."""
    main_cpu_ticks: int = 0
    """CPU ticks of the program's own process (without processes it started)."""
    cpu_per_second: Sequence[float] = ()
    """CPU % of one core of the whole tree in each one-second bucket."""
    main_cpu_per_second: Sequence[float] = ()
    """CPU % of one core of the program's own process in each one-second bucket."""
    error: str | None = None
    """Why the program was not measured (it failed to start or exited early)."""

    @property
    def measured(self) -> bool:
        return self.error is None

    @property
    def bytes_per_s(self) -> float:
        """Mean bytes/s over the whole window."""
        return self.total_bytes / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_pct(self) -> float:
        """Mean CPU % of one core over the whole window."""
        if self.seconds <= 0:
            return 0.0
        return 100.0 * self.cpu_ticks / CLOCK_TICKS / self.seconds

    @property
    def main_cpu_pct(self) -> float:
        """Mean CPU % of one core of the program's own process."""
        if self.seconds <= 0:
            return 0.0
        return 100.0 * self.main_cpu_ticks / CLOCK_TICKS / self.seconds


def _failure(session: PtySession, when: str) -> str:
    code = session.exit_code()
    text = strip_escapes(bytes(session.output)).strip().splitlines()
    last = text[-1].strip() if text else "no output"
    return f"exited with status {code} {when}: {last[:160]}"


def measure(
    program: Program,
    *,
    cols: int,
    rows: int,
    settle_s: float = 5.0,
    duration_s: float = 30.0,
) -> TerminalCost:
    """Run ``program`` in a ``cols`` x ``rows`` pty; count bytes and CPU over
    ``duration_s`` seconds after ``settle_s`` seconds of start-up."""
    base = TerminalCost(program.name, program.command, cols, rows, 0.0)
    session = PtySession(program, cols=cols, rows=rows, keep_bytes=64 * 1024)
    try:
        session.start()
    except OSError as exc:
        return _replace(base, error=f"could not start: {exc.strerror or exc}")
    try:
        session.read(settle_s)
        if session.has_exited():
            return _replace(base, error=_failure(session, "during start-up"))
        buckets: list[int] = []
        cpu: list[float] = []
        window_start = time.monotonic()
        ticks_start = last_ticks = session.cpu_ticks()
        main_start = last_main = session.main_cpu_ticks()
        main_cpu: list[float] = []
        last_t = window_start
        for _ in range(max(1, round(duration_s))):
            buckets.append(session.read(1.0))
            now, ticks = time.monotonic(), session.cpu_ticks()
            main = session.main_cpu_ticks()
            scale = 100.0 / CLOCK_TICKS / (now - last_t)
            cpu.append(scale * (ticks - last_ticks))
            main_cpu.append(scale * (main - last_main))
            last_t, last_ticks, last_main = now, ticks, main
            if session.has_exited():
                return _replace(base, error=_failure(session, "while measured"))
        return TerminalCost(
            program.name,
            program.command,
            cols,
            rows,
            seconds=last_t - window_start,
            total_bytes=sum(buckets),
            bytes_per_second=buckets,
            cpu_ticks=last_ticks - ticks_start,
            main_cpu_ticks=last_main - main_start,
            main_cpu_per_second=main_cpu,
            cpu_per_second=cpu,
        )
    finally:
        session.stop()


def _replace(cost: TerminalCost, *, error: str) -> TerminalCost:
    return TerminalCost(cost.name, cost.command, cost.cols, cost.rows, 0.0, error=error)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure one command line and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.terminal")
    parser.add_argument("--cols", type=int, default=80)
    parser.add_argument("--rows", type=int, default=24)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--term", default=DEFAULT_TERM)
    parser.add_argument("command", nargs="+")
    args = parser.parse_args(argv)
    program = Program(args.command[0], args.command, term=args.term)
    cost = measure(
        program,
        cols=args.cols,
        rows=args.rows,
        settle_s=args.settle,
        duration_s=args.duration,
    )
    if cost.error:
        print(f"{program.command}: not measured: {cost.error}")
        return 1
    med, lo, hi = spread(cost.bytes_per_second)
    print(
        f"{program.command} {args.cols}x{args.rows}: {cost.bytes_per_s:.0f} B/s "
        f"(1 s buckets: median {med:.0f}, {lo:.0f}-{hi:.0f}), "
        f"CPU {cost.cpu_pct:.2f}% of one core over {cost.seconds:.1f} s "
        f"(own process {cost.main_cpu_pct:.2f}%)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
