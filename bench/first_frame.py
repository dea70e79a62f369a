"""Time from process start to the first full frame in a pty.

The frame is detected by searching the program's output, with escape sequences
removed, for a marker string: text that only the finished first frame shows
("Hello" for the hello-world app, the console's status line for the console). For
Textual apps the search starts after the switch to the alternate screen, so a line
printed before the UI starts cannot count as a frame. Standalone::

    python -m bench.first_frame --marker Hello -- python bench/ref/hello.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.terminal import (
    ALT_SCREEN_ON,
    Program,
    PtySession,
    spread,
    strip_escapes,
)


@dataclass(frozen=True)
class FrameTiming:
    """One run: when the UI took over the screen and when the marker was drawn."""

    marker_s: float
    """Seconds from just before the fork to the marker on screen."""
    alt_screen_s: float | None
    """Seconds to the switch to the alternate screen (the UI starting); None if the
    program never switched. The gap to ``marker_s`` is the UI's own first frame."""


@dataclass(frozen=True)
class FirstFrame:
    """First-frame times of one program over N runs."""

    name: str
    command: str
    marker: str
    seconds: Sequence[float]
    """Seconds from just before the fork to the marker on screen, one per run."""
    alt_screen_seconds: Sequence[float] = ()
    """Seconds to the switch to the alternate screen, for the runs that switched."""
    error: str | None = None
    """Why it was not measured (the marker never appeared, the program exited)."""

    @property
    def measured(self) -> bool:
        return self.error is None and bool(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def marker_shown(output: bytes, marker: str, *, after_alt_screen: bool) -> bool:
    """True when ``marker`` appears in ``output`` once escape codes are removed (and,
    if asked, after the program switched to the alternate screen)."""
    if after_alt_screen:
        start = output.find(ALT_SCREEN_ON)
        if start < 0:
            return False
        output = output[start + len(ALT_SCREEN_ON) :]
    return marker in strip_escapes(output)


def time_to_marker(
    program: Program,
    marker: str,
    *,
    cols: int = 80,
    rows: int = 24,
    timeout_s: float = 20.0,
    after_alt_screen: bool = True,
) -> FrameTiming:
    """Time from process start until ``marker`` is on screen.

    Raises TimeoutError if it does not appear within ``timeout_s`` and
    ChildProcessError if the program exits first (the message carries its last line).
    """
    session = PtySession(program, cols=cols, rows=rows, keep_bytes=4 << 20)
    session.start()
    try:
        found = False
        alt_at: float | None = None

        def shown() -> bool:
            nonlocal found, alt_at
            output = bytes(session.output)
            # The newest chunk is the one that completed what was just found.
            if alt_at is None and ALT_SCREEN_ON in output:
                alt_at = session.chunks[-1][0]
            found = marker_shown(output, marker, after_alt_screen=after_alt_screen)
            return found

        session.read(timeout_s, until=shown)
        started = session.started_at
        if found and session.chunks and started is not None:
            return FrameTiming(
                session.chunks[-1][0] - started,
                None if alt_at is None else alt_at - started,
            )
        text = strip_escapes(bytes(session.output)).strip().splitlines()
        last = text[-1].strip()[:160] if text else "no output"
        if session.has_exited():
            raise ChildProcessError(
                f"exited (status {session.exit_code()}) before showing {marker!r}: "
                f"{last}"
            )
        raise TimeoutError(f"{marker!r} not shown within {timeout_s:.0f} s: {last}")
    finally:
        session.stop()


def measure(
    program: Program,
    marker: str,
    *,
    runs: int = 10,
    cols: int = 80,
    rows: int = 24,
    timeout_s: float = 20.0,
    after_alt_screen: bool = True,
) -> FirstFrame:
    """Median of ``runs`` first-frame times; stops at the first failed run."""
    times: list[float] = []
    alt: list[float] = []
    for _ in range(runs):
        try:
            timing = time_to_marker(
                program,
                marker,
                cols=cols,
                rows=rows,
                timeout_s=timeout_s,
                after_alt_screen=after_alt_screen,
            )
        except (TimeoutError, ChildProcessError, OSError) as exc:
            return FirstFrame(
                program.name, program.command, marker, times, alt, str(exc)
            )
        times.append(timing.marker_s)
        if timing.alt_screen_s is not None:
            alt.append(timing.alt_screen_s)
        # Let the machine settle between runs so one run's exit does not slow the next.
        time.sleep(0.2)
    return FirstFrame(program.name, program.command, marker, times, alt)


def main(argv: Sequence[str] | None = None) -> int:
    """Time one command line's first frame and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.first_frame")
    parser.add_argument("--marker", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cols", type=int, default=80)
    parser.add_argument("--rows", type=int, default=24)
    parser.add_argument(
        "--anywhere",
        action="store_true",
        help="accept the marker before the alternate screen (non-Textual programs)",
    )
    parser.add_argument("command", nargs="+")
    args = parser.parse_args(argv)
    program = Program(args.command[0], args.command)
    result = measure(
        program,
        args.marker,
        runs=args.runs,
        cols=args.cols,
        rows=args.rows,
        after_alt_screen=not args.anywhere,
    )
    if not result.measured:
        print(f"{program.command}: not measured: {result.error}")
        return 1
    med, lo, hi = spread(result.seconds)
    print(
        f"{program.command}: first frame median {med:.3f} s "
        f"({lo:.3f}-{hi:.3f}, n={len(result.seconds)}); alternate screen at "
        f"{spread(result.alt_screen_seconds)[0]:.3f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
