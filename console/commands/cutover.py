"""`boop-console` subcommands for the cutover: status, shift, hold, resume, rollback,
rearm, journal show|verify, guard.

Commands that change traffic take the lease if no one drives; while another
instance drives they are refused (exit 3) and name it, except `rollback`, which
always works: it writes the router and the sticky marker the driver honours.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from console.config import Config
    from console.engine.engine import Engine
    from console.engine.model import ActionResult, Snapshot

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 3
STATUS_CODES = {
    "OK": 0,
    "WARN": 10,
    "INSUFFICIENT DATA": 11,
    "BREACH": 12,
    "ROLLED BACK": 13,
}
STATUS_EPILOG = (
    "Exit codes: 0 OK, 10 WARN, 11 INSUFFICIENT DATA, 12 BREACH, 13 ROLLED BACK, "
    "1 status could not be read, 2 usage or configuration error. Gate verdicts come "
    "from the driver (TUI or guard) when it published them in the last minute; "
    "without a driver they are INSUFFICIENT DATA."
)
VERDICT_MAX_AGE_S = 60.0
PROBES_NOTE = (
    "not probed: only the driver (boop-console run or guard) probes; "
    "see the driver's screen or its console.log"
)


def _config(args: argparse.Namespace) -> Config:
    from console.config import load_config
    from console.locations import default_config_path

    path = Path(args.config) if getattr(args, "config", None) else default_config_path()
    return load_config(path.expanduser())


def _engine(args: argparse.Namespace) -> Engine:
    from console.engine.runtime import build_engine

    return build_engine(_config(args), probes=False)


async def _with_engine(
    args: argparse.Namespace,
    act: Callable[[Engine], Awaitable[int]],
    *,
    acquire_lease: bool = True,
    read_router: bool = True,
    tolerate_state_dir: bool = False,
) -> int:
    engine = _engine(args)
    try:
        await engine.open(
            acquire_lease=acquire_lease,
            read_router=read_router,
            tolerate_state_dir=tolerate_state_dir,
        )
        return await act(engine)
    finally:
        await engine.stop()


def _who(engine: Engine) -> str:
    return engine.who


def _report(result: ActionResult) -> int:
    stream = sys.stdout if result.ok else sys.stderr
    if result.message.startswith("Not allowed: "):
        print("Not allowed without --override:", file=stream)
        for blocker in result.message.removeprefix("Not allowed: ").split("; "):
            print(f"  - {blocker}", file=stream)
    else:
        print(result.message, file=stream)
    if result.ok:
        return EXIT_OK
    if result.message.startswith(("Router write failed", "Requested ", "Not re-armed")):
        return EXIT_FAILED
    return EXIT_REFUSED


# ----------------------------------------------------------------------- status


def _snapshot_json(snap: Snapshot) -> dict[str, Any]:
    import dataclasses

    doc = dataclasses.asdict(snap)
    doc.pop("series", None)
    doc["traffic_pct"] = snap.traffic_pct
    out: dict[str, Any] = json.loads(json.dumps(doc, default=str))
    # This one-shot command builds no probes: an empty list would read as
    # "nothing wrong", so say that only the driver knows.
    for key in ("health", "streams", "credentials"):
        if not out.get(key):
            out[key] = None
            out[f"{key}_note"] = PROBES_NOTE
    return out


def _print_status(snap: Snapshot) -> None:
    r = snap.router
    print(f"{snap.env}: {snap.overall}  phase {snap.phase}  ({snap.role})")
    print(
        f"traffic: requested {r.requested_pct if r.requested_pct is not None else '?'}%"
        f", effective {r.effective_pct if r.effective_pct is not None else '?'}%"
        f"  [{snap.router_kind}: {r.detail or r.error or ''}]"
    )
    if snap.hold_ends_at is not None:
        left = max(0.0, snap.hold_ends_at - snap.at)
        print(f"hold: {left / 60:.1f} min left")
    if snap.worst_case_rollback_s is not None:
        print(f"worst case to automatic rollback: {snap.worst_case_rollback_s:.0f} s")
    if snap.rolled_back_reason:
        print(f"rolled back: {snap.rolled_back_reason}")
    for g in snap.gates:
        print(f"  {g.verdict:<17} {g.name}: {g.why}")
    for w in snap.warnings:
        print(f"warning: {w}")


def cmd_status(args: argparse.Namespace) -> int:
    async def act(engine: Engine) -> int:
        engine.adopt_driver_verdicts(VERDICT_MAX_AGE_S)
        snap = engine.snapshot()
        if args.json:
            print(json.dumps(_snapshot_json(snap), indent=2))
        else:
            _print_status(snap)
        return STATUS_CODES.get(str(snap.overall), EXIT_FAILED)

    return asyncio.run(_with_engine(args, act, acquire_lease=False))


# ------------------------------------------------------------------ the actions


NO_DRIVER_NOTE = "no driver: no console or guard watches gates and holds"
NO_DRIVER_WARNING = """\
WARNING: no console or guard is running. Nothing watches the gates or the hold
now, and nothing rolls back automatically on a breach. Start a guard, e.g. in tmux:
    tmux new-session -d -s boop-guard 'boop-console guard'
or open the console: boop-console run"""


def _journal_problems(engine: Engine) -> list[str]:
    try:
        return list(engine.journal.verify().problems)
    except Exception as exc:  # verification is advice here; never a crash
        return [f"could not verify: {exc}"]


def cmd_shift(args: argparse.Namespace) -> int:
    async def act(engine: Engine) -> int:
        from console.engine.model import Role

        problems = await asyncio.to_thread(_journal_problems, engine)
        if problems:
            print("WARNING: the journal fails verification:", file=sys.stderr)
            for problem in problems[:5]:
                print(f"  - {problem}", file=sys.stderr)
            if not args.override:
                print(
                    "Refused: raising traffic on a damaged audit trail needs "
                    "--override (see `boop-console journal verify`).",
                    file=sys.stderr,
                )
                return EXIT_REFUSED
        # This process took the lease, so no console or guard was running; it
        # exits in a moment and then nothing watches.
        unattended = engine.role is Role.DRIVER
        result = await engine.shift(
            args.level,
            who=_who(engine),
            reason=args.reason,
            override=args.override,
            note=NO_DRIVER_NOTE if unattended else None,
        )
        code = _report(result)
        if unattended and result.ok:
            print(NO_DRIVER_WARNING, file=sys.stderr)
        return code

    return asyncio.run(_with_engine(args, act))


def cmd_hold(args: argparse.Namespace) -> int:
    async def act(engine: Engine) -> int:
        return _report(await engine.hold(who=_who(engine), reason=args.reason))

    return asyncio.run(_with_engine(args, act))


def cmd_resume(args: argparse.Namespace) -> int:
    async def act(engine: Engine) -> int:
        return _report(await engine.resume(who=_who(engine), reason=args.reason))

    return asyncio.run(_with_engine(args, act))


def cmd_rearm(args: argparse.Namespace) -> int:
    async def act(engine: Engine) -> int:
        return _report(await engine.rearm(who=_who(engine), reason=args.reason))

    return asyncio.run(_with_engine(args, act))


def cmd_rollback(args: argparse.Namespace) -> int:
    async def act(engine: Engine) -> int:
        # The running driver's saved verdicts go into the journal and evidence
        # (already in memory: this costs step 1 nothing).
        engine.adopt_driver_verdicts(VERDICT_MAX_AGE_S)
        result = await engine.rollback(who=_who(engine), reason=args.reason or "")
        await engine.settle()
        for step in engine.snapshot().rollback_steps:
            took = f"{step.duration_s * 1000:.0f} ms" if step.duration_s else ""
            print(f"  {step.status:<8} {step.name} {took} {step.detail}".rstrip())
        print(result.message, file=sys.stdout if result.ok else sys.stderr)
        if engine.state_problem:
            # Reported after the router write: rollback waits on nothing.
            print(f"warning: {engine.state_problem}", file=sys.stderr)
        return EXIT_OK if result.ok else EXIT_FAILED

    return asyncio.run(
        _with_engine(args, act, read_router=False, tolerate_state_dir=True)
    )


# ---------------------------------------------------------------------- journal


def cmd_journal_show(args: argparse.Namespace) -> int:
    from console.engine.journal import Journal
    from console.locations import StatePaths

    journal = Journal(StatePaths(_config(args).state_path()).journal)
    bad = 0
    for lineno, e, problem in journal.numbered_tail(args.tail):
        if e is None:
            bad += 1
            if args.json:
                print(json.dumps({"line": lineno, "unreadable": problem}))
            else:
                print(f"line {lineno}: unreadable ({problem})")
            continue
        if args.json:
            print(json.dumps(e, sort_keys=True))
        else:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.get("ts", 0)))
            print(
                f"{e.get('seq'):>5} {stamp} {e.get('who')}  {e.get('action')}: "
                f"{e.get('why')}"
            )
    if bad:
        print(
            f"journal: {bad} unreadable line(s) shown above; "
            "run `boop-console journal verify`",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


def cmd_journal_verify(args: argparse.Namespace) -> int:
    from console.engine.journal import Journal
    from console.locations import StatePaths

    result = Journal(StatePaths(_config(args).state_path()).journal).verify()
    if result.ok:
        print(f"journal intact: {result.count} entries, every hash and link checks out")
        return EXIT_OK
    for problem in result.problems:
        print(f"journal: {problem}", file=sys.stderr)
    return EXIT_FAILED


# ------------------------------------------------------------------------ guard


def confirm_only(host: str) -> Callable[[str], bool]:
    """A production confirmation that says yes for ``host`` alone (case-insensitive):
    the person names, in advance, the one production host a headless guard may call."""
    named = host.strip().lower()

    def confirm(asked: str) -> bool:
        return asked.strip().lower() == named

    return confirm


def run_guard(
    config: Config,
    *,
    credential_store: Any | None = None,
    log_file: Path | None = None,
    confirm_production_host: str | None = None,
) -> int:
    """Run the headless engine until SIGTERM or SIGINT (the demo's --headless too).

    Drives if it gets the lease, else observes and takes over when the driver
    leaves. Logs go to stderr and to ``log_file`` (default <state_dir>/console.log).
    ``confirm_production_host`` opens the vendor stream of a production environment
    whose host is exactly that name (nobody is there to be asked); any other
    production host stays 'needs confirmation'.
    """
    import logging
    import signal

    from console.engine.runtime import build_engine
    from console.errors import StateError
    from console.locations import StatePaths

    if log_file is None:
        paths = StatePaths(config.state_path())
        try:
            log_file = paths.ensure().log_file
        except OSError as exc:
            raise StateError(
                f"The state directory {paths.root} cannot be used: "
                f"{exc.strerror or exc}.",
                hint="Set state_dir in the config (or BOOP_CONSOLE_STATE_DIR) to a "
                "directory this user can create and write.",
            ) from exc
    confirm = confirm_only(confirm_production_host) if confirm_production_host else None
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger("console")
    root.setLevel(logging.INFO)
    handlers: list[logging.Handler] = [
        logging.StreamHandler(sys.stderr),
        logging.FileHandler(log_file, encoding="utf-8"),
    ]
    for handler in handlers:
        handler.setFormatter(fmt)
        root.addHandler(handler)
    from console.credentials.masking import install_log_redaction

    install_log_redaction(root)  # a key that reaches a log line leaves masked
    log = logging.getLogger("console.guard")

    async def run() -> int:
        engine = build_engine(
            config, credential_store=credential_store, confirm_production=confirm
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await engine.start()
        log.info("guard started as %s (%s)", engine.role, engine.who)
        try:
            await stop.wait()
        finally:
            log.info("guard stopping")
            await engine.stop()
        return EXIT_OK

    try:
        return asyncio.run(run())
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()


def cmd_guard(args: argparse.Namespace) -> int:
    log_file = Path(args.log_file) if args.log_file else None
    return run_guard(
        _config(args),
        log_file=log_file,
        confirm_production_host=args.confirm_production_host,
    )


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's subcommands to the parser."""
    p = sub.add_parser(
        "status", help="cutover phase, traffic and gate verdicts", epilog=STATUS_EPILOG
    )
    p.add_argument("--json", action="store_true", help="machine-readable snapshot")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "shift",
        help="move BOOP traffic to LEVEL percent",
        epilog="Without a console or guard running, the shift is made, journaled "
        "with 'no driver', and a warning says nothing watches the gates. If the "
        "journal fails verification, the shift is refused (exit 3) unless "
        "--override; rollback is never blocked.",
    )
    p.add_argument("level", type=float, metavar="LEVEL")
    p.add_argument("--reason", required=True, help="recorded in the journal")
    p.add_argument(
        "--override",
        action="store_true",
        help="raise although the hold, a gate, the checklist or the plan says no "
        "(the blockers are recorded with the reason)",
    )
    p.set_defaults(func=cmd_shift)

    for name, func, text in (
        ("hold", cmd_hold, "stop the hold clock"),
        ("resume", cmd_resume, "restart the hold clock"),
        ("rearm", cmd_rearm, "lift a rollback's freeze (traffic stays at 0%%)"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--reason", required=True, help="recorded in the journal")
        p.set_defaults(func=func)

    p = sub.add_parser(
        "rollback",
        help="BOOP traffic to 0%% now; no prompt; works while another instance drives",
    )
    p.add_argument("--reason", default="", help="optional; recorded in the journal")
    p.set_defaults(func=cmd_rollback)

    journal = sub.add_parser("journal", help="show or verify the cutover journal")
    jsub = journal.add_subparsers(dest="journal_command", metavar="ACTION")
    p = jsub.add_parser(
        "show",
        help="the last entries",
        epilog="An unreadable line is shown as 'line N: unreadable (...)' and the "
        "command exits 1.",
    )
    p.add_argument("--tail", type=int, default=20, metavar="N")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_journal_show)
    p = jsub.add_parser("verify", help="check the hash chain (exit 1 if tampered)")
    p.set_defaults(func=cmd_journal_verify)

    p = sub.add_parser(
        "guard",
        help="headless engine: drives if it gets the lease, else observes and takes "
        "over; stops cleanly on SIGTERM/SIGINT",
    )
    p.add_argument("--log-file", help="default: <state_dir>/console.log")
    p.add_argument(
        "--confirm-production-host",
        metavar="HOST",
        help="open the vendor stream of the production environment at exactly HOST "
        "(named in advance, e.g. in the systemd unit: nobody is there to be asked); "
        "without it, or for any other host, production streams stay unopened "
        "('needs confirmation')",
    )
    p.set_defaults(func=cmd_guard)
