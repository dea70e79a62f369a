"""Starting the simulator as a child process: the command line, the ready line, the
stop, and its port layout.

Light on purpose: it imports none of the servers, so a host (the demo) can start the
simulator and paint its own screen while the child comes up.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from console.errors import SimulatorError

SIM_PORTS = 4
"""With --port-base N the simulator listens on N .. N+3: dev, prod, legacy,
vendor/admin."""

RUN_BY_HAND = "Run `boop-console sim` by hand to see its error."


def simulator_command(
    *,
    routing_file: Path | None = None,
    proxy_url: str | None = None,
    rate: float = 20.0,
    seed: int | None = None,
    scenario: str | None = None,
    port_base: int | None = None,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """`python -m console.sim --json --watch-parent ...`.

    --watch-parent and a stdin pipe only the parent holds (see :func:`spawn`): when
    the parent dies, even by SIGKILL, the child sees end of file and stops.
    """
    args = [sys.executable, "-m", "console.sim", "--json", "--watch-parent"]
    args += ["--rate", str(rate)]
    if routing_file is not None:
        args += ["--routing-file", str(routing_file)]
    if proxy_url is not None:
        args += ["--proxy-url", proxy_url]
    if seed is not None:
        args += ["--seed", str(seed)]
    if scenario is not None:
        args += ["--scenario", scenario]
    if port_base is not None:
        args += ["--port-base", str(port_base)]
    return [*args, *extra_args]


def spawn(
    command: Sequence[str],
    *,
    log_path: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start the child without waiting; its stderr (logs) goes to ``log_path``."""
    stderr: Any = subprocess.DEVNULL
    if log_path is not None:
        stderr = open(log_path, "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(
            list(command),
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.PIPE,
            env=dict(env) if env is not None else None,
        )
    finally:
        if log_path is not None:
            stderr.close()


def read_ready_line(
    proc: subprocess.Popen[bytes], timeout_s: float, *, hint: str = RUN_BY_HAND
) -> dict[str, Any]:
    """Blocking: the child's JSON ready line. On failure (it exits, says something
    else or takes longer than ``timeout_s``) the child is ended, its pipes closed,
    and SimulatorError says what happened."""
    try:
        line = _first_line(proc, timeout_s, hint)
        try:
            info = json.loads(line)
        except ValueError:
            info = None
        if not isinstance(info, dict) or info.get("event") != "ready":
            raise SimulatorError(
                f"the simulator did not report ready (got {line[:200]!r})", hint=hint
            )
    except SimulatorError:
        stop(proc)
        raise
    return info


def _first_line(proc: subprocess.Popen[bytes], timeout_s: float, hint: str) -> str:
    assert proc.stdout is not None
    buf = b""
    ends = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while b"\n" not in buf:
            left = ends - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise SimulatorError(
                    f"the simulator was not ready within {timeout_s:g} s", hint=hint
                )
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                proc.wait(5)
                raise SimulatorError(
                    f"the simulator exited with code {proc.returncode} before ready",
                    hint=hint,
                )
            buf += chunk
    return buf.split(b"\n", 1)[0].decode("utf-8", "replace")


def stop(proc: subprocess.Popen[bytes], timeout_s: float = 5.0) -> int | None:
    """SIGTERM, wait, SIGKILL if needed, close the pipes; the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout_s)
    for pipe in (proc.stdout, proc.stdin):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
    return proc.returncode


PICK_RANGE = (20000, 32000)
"""Where pre-picked ports come from: below Linux's ephemeral range (32768-60999), so a
server that binds port 0 meanwhile cannot be handed the same port."""


def free_port_base(count: int = SIM_PORTS, attempts: int = 50) -> int:
    """A port N with N .. N+count-1 all free on 127.0.0.1 now (checked by binding).

    Lets a host build its config before the simulator (or HAProxy, or Prometheus) is
    up; the simulator says so clearly if another program takes one of them in
    between.
    """
    low, high = PICK_RANGE
    for _ in range(attempts):
        base = random.randrange(low, high - count)
        held: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                held.append(sock)
                sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
        return base
    raise SimulatorError(
        f"found no {count} consecutive free ports on 127.0.0.1 in {low}-{high}",
        hint="Close some programs, or start the simulator with --port-base N.",
    )


def sim_urls(base: int) -> dict[str, str]:
    """The simulator's URLs for ``--port-base base``, as its ready line gives them."""
    host = "http://127.0.0.1"
    return {
        "dev_url": f"{host}:{base}",
        "prod_url": f"{host}:{base + 1}",
        "metrics_url": f"{host}:{base + 3}/metrics",
        "admin_url": f"{host}:{base + 3}/_sim",
    }
