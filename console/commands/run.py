"""`boop-console run`: the interactive console against the configured environments.

Also :func:`run_app`, which the demo command calls with its own engine. Textual is
imported inside the functions, so `boop-console --help` stays fast.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib
import inspect
import logging
import math
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.errors import ConsoleError

if TYPE_CHECKING:
    from console.engine.model import EngineAPI, Snapshot
    from console.ui.production import ProductionAsker
    from console.ui.protocols import CredentialEditor, FaultMenu

log = logging.getLogger("console.commands.run")


def who_am_i() -> str:
    """'user@host' for the journal (local facts only, no lookup)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def route_logging(log_file: Path | None) -> None:
    """Send the console's logging to a file, never to the terminal the app owns.

    Without a file, a NullHandler keeps Python's last-resort handler from writing
    warnings over the screen.
    """
    root = logging.getLogger("console")
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.propagate = False
    if log_file is None:
        root.addHandler(logging.NullHandler())
        return
    log_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(logging.INFO)


async def _maybe_call(obj: object, *names: str) -> None:
    """Call the first of ``names`` that ``obj`` has, awaiting it if needed."""
    for name in names:
        method = getattr(obj, name, None)
        if callable(method):
            result = method()
            if inspect.isawaitable(result):
                await result
            return


def run_app(
    engine: EngineAPI,
    *,
    theme: str | None = None,
    low_bandwidth: bool = False,
    faults: FaultMenu | None = None,
    credentials: CredentialEditor | None = None,
    who: str | None = None,
    log_file: Path | None = None,
    stale_after_s: float | None = None,
    production_asker: ProductionAsker | None = None,
    start_after: Callable[[], Awaitable[None]] | None = None,
    waiting_text: str = "starting…",
) -> int:
    """Run the console app on ``engine`` until the person quits; return the exit code.

    The engine's own lifecycle runs in the app's event loop: ``start()`` (if it has
    one) before the first frame, ``close()`` or ``aclose()`` after the last, also on
    a crash or SIGHUP/SIGTERM (exit code 129/143), so that no task keeps the
    process alive and the terminal is restored.
    ``theme`` None picks one for $TERM (16 colours on TERM=linux or screen); an
    unknown one is said on stderr before the UI starts, and the default is used.
    ``stale_after_s``: chart titles show '–' for older data (the gates' limit).
    ``production_asker`` (the engine's ``confirm_production``) asks in this app.
    ``start_after``: the UI paints at once from the opened engine (role, state,
    router: local reads), ``waiting_text`` on screen, while this is awaited; the
    engine's loops and probes start only after it returns (the demo waits for its
    simulator: no probe fails against a server not yet listening). If it raises a
    ConsoleError the app exits and the error is raised from here.
    """
    from console.ui.app import ConsoleApp
    from console.ui.themes import theme_for_terminal
    from console.ui.widgets.metric_chart import STALE_AFTER_S

    route_logging(log_file)
    app = ConsoleApp(
        engine,
        theme=theme or theme_for_terminal(os.environ.get("TERM")),
        low_bandwidth=low_bandwidth,
        faults=faults,
        credentials=credentials,
        who=who or who_am_i(),
        stale_after_s=STALE_AFTER_S if stale_after_s is None else stale_after_s,
    )
    if app.theme_problem:
        # Said before the UI owns the terminal (the log alone went unnoticed).
        print(f"boop-console: {app.theme_problem}", file=sys.stderr)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGHUP, signal.SIGTERM):
            # A dropped ssh session (SIGHUP) or a kill exits like a quit: the
            # terminal is restored and the engine closed, lease released.
            loop.add_signal_handler(sig, app.exit, None, 128 + sig)
        if production_asker is not None:
            production_asker.attach(app, loop)
        starter: asyncio.Task[None] | None = None
        if start_after is None:
            await _maybe_call(engine, "start")
        else:
            await _maybe_call(engine, "open")
            app.waiting = waiting_text
            starter = asyncio.create_task(_start_later(engine, app, start_after))
        try:
            await app.run_async()
        finally:
            if production_asker is not None:
                production_asker.close()  # a pending question becomes a no
            if starter is not None:
                starter.cancel()
                await asyncio.gather(starter, return_exceptions=True)
            await _maybe_call(engine, "aclose", "close")

    asyncio.run(main())
    if app.start_error is not None:
        raise app.start_error
    return app.return_code or 0


FIRST_READINGS_S = 5.0
"""After a deferred start, the console says "starting…" (and raising waits) until
the first probe and metrics readings are in, or at most this long: gates and the
rollback's in-flight count then work from real data."""


def first_readings_in(snap: Snapshot) -> bool:
    """Every environment probed once, and some metric has a value."""
    probed = bool(snap.health) and all(h.last_probe_at for h in snap.health)
    measured = any(
        math.isfinite(v) for points in snap.series.values() for _, v in points[-5:]
    )
    return probed and measured


async def _start_later(
    engine: EngineAPI, app: Any, wait: Callable[[], Awaitable[None]]
) -> None:
    """Start the engine once ``wait`` returns, and tell the app once the first
    readings are in (bounded); on ``wait``'s ConsoleError, end the app."""
    try:
        await wait()
    except ConsoleError as exc:
        log.error("could not start: %s", exc)
        app.start_error = exc
        app.exit(1)
        return
    await _maybe_call(engine, "start")
    ends = time.monotonic() + FIRST_READINGS_S
    while time.monotonic() < ends and not first_readings_in(engine.snapshot()):
        await asyncio.sleep(0.1)
    app.engine_started()


def _run(args: argparse.Namespace) -> int:
    from console.config import load_config
    from console.credentials.store import CredentialStore
    from console.locations import StatePaths, default_config_path
    from console.ui.production import ProductionAsker

    path = Path(args.config).expanduser() if args.config else default_config_path()
    config = load_config(path)  # says how to create one (`boop-console init`)
    try:
        # Looked up at run time: the runtime module is built alongside this one.
        runtime = importlib.import_module("console.engine.runtime")
    except ImportError as exc:
        raise ConsoleError(
            "This installation has no engine runtime (console.engine.runtime).",
            hint="Reinstall boop-console; `boop-console demo` shows the console.",
        ) from exc
    build_engine: Callable[..., EngineAPI] = runtime.build_engine
    who = who_am_i()
    store = CredentialStore(config.credentials)
    # The production vendor stream opens only after a yes in a dialog naming the host.
    asker = ProductionAsker()
    engine = build_engine(
        config, who=who, credential_store=store, confirm_production=asker
    )
    return run_app(
        engine,
        theme=args.theme,
        low_bandwidth=args.low_bandwidth,
        credentials=store,
        who=who,
        log_file=StatePaths(config.state_path()).log_file,
        stale_after_s=config.metrics.stale_after_s,
        production_asker=asker,
    )


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add `run` to the parser."""
    parser = sub.add_parser(
        "run",
        help="open the console on your configured cutover",
        description="Open the interactive console. Rollback is Ctrl+R on every "
        "screen; ? lists every key.",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="config file (default: platform config dir; `boop-console init`)",
    )
    parser.add_argument(
        "--theme",
        metavar="T",
        default=None,
        help="boop-dark (default), boop-light, boop-contrast, boop-16 "
        "(default on TERM=linux/screen), or any Textual theme",
    )
    parser.add_argument(
        "--low-bandwidth",
        action="store_true",
        help="numbers and sparklines only (for slow links, <= 0.5 KB/s)",
    )
    parser.set_defaults(func=_run)
