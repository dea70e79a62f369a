"""`boop-console check ...` and `boop-console report`: the migration checklist.

check [--json]                 the checklist table (measured items refreshed)
check tick ID --note TEXT      a person ticks an item, saying how they know
check untick ID [--note TEXT]  reopen an item
check verify [--yes]           production verification: /health, then the
                               smallest auth context (created and cancelled)
report [--output FILE]         Markdown report: timeline, gates, rollbacks, checklist
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.commands.creds import (
    ask_yes,
    load_cli_config,
    make_store,
    who_am_i,
    with_yes_hint,
)

if TYPE_CHECKING:
    from console.config import Config
    from console.engine.checklist import Checklist, Measurement

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 3


def credentials_verifier(config: Config) -> tuple[Any, Any]:
    """Verifiers for pre.credentials and ongoing.rotation from the credential store.

    Resolution is cached for the command's run: one keyring round, not one per item.
    """
    from console.credentials.formats import format_problems
    from console.credentials.guard import credential_problems
    from console.engine.checklist import Measurement, measure_rotation
    from console.errors import CredentialError

    env = config.target
    env_cfg = config.target_env()
    store = make_store(config)
    cache: dict[str, Any] = {}

    def resolved() -> Any:
        if "value" not in cache:
            try:
                cache["value"] = store.resolve(env)
            except CredentialError as exc:
                cache["value"] = exc
        return cache["value"]

    def present() -> Measurement:
        found = resolved()
        if isinstance(found, CredentialError):
            return Measurement(False, f"no credentials for {env}")
        vid, key = found.vendor_id.reveal(), found.api_key.reveal()
        problems = format_problems(vid, key) + credential_problems(
            env_cfg.base_url, vid, key, env_cfg, config.safety
        )
        if problems:
            return Measurement(False, "; ".join(problems))
        return Measurement(True, f"{found.api_key} from {found.source}")

    def rotation() -> Measurement:
        found = resolved()
        stored_at = None if isinstance(found, CredentialError) else found.stored_at
        return measure_rotation(stored_at, time.time())

    return present, rotation


def open_checklist(config: Config) -> Checklist:
    """The cutover's checklist with the verifiers a CLI can run."""
    from console.engine.checklist import Checklist, journal_hook
    from console.engine.journal import Journal
    from console.locations import StatePaths

    present, rotation = credentials_verifier(config)
    paths = StatePaths(config.state_path())
    return Checklist(
        paths.checklist,
        verifiers={"pre.credentials": present, "ongoing.rotation": rotation},
        on_change=journal_hook(Journal(paths.journal)),
    )


def cmd_check(args: argparse.Namespace) -> int:
    """Print the checklist, refreshed."""
    config = load_cli_config(args)
    checklist = open_checklist(config)
    checklist.refresh()
    if args.json:
        print(json.dumps(checklist.to_json(), indent=1))
    else:
        print(checklist.table())
        blockers = checklist.premigration_blockers()
        print()
        if blockers:
            print("Traffic may not leave 0% yet:")
            for line in blockers:
                print(f"  - {line}")
        else:
            print("Pre-migration requirements: all met.")
    return EXIT_OK


def cmd_tick(args: argparse.Namespace) -> int:
    """Tick one item with a note."""
    checklist = open_checklist(load_cli_config(args))
    checklist.tick(args.item, who=who_am_i(), note=args.note)
    print(f"Ticked {args.item} as {who_am_i()}.")
    return EXIT_OK


def cmd_untick(args: argparse.Namespace) -> int:
    """Reopen one item."""
    checklist = open_checklist(load_cli_config(args))
    checklist.untick(args.item, who=who_am_i(), note=args.note or "")
    print(f"Reopened {args.item}.")
    return EXIT_OK


async def _verify(config: Config, checklist: Checklist, yes: bool) -> Any:
    from console.boop.client import BoopClient
    from console.credentials.guard import ProductionConfirmation, make_guard
    from console.engine.checklist import verify_production
    from console.errors import BoopError

    env_cfg = config.target_env()
    creds = make_store(config).resolve(config.target)
    confirmation = ProductionConfirmation()
    guard = make_guard(env_cfg, config.safety, confirmation)

    def confirm(host: str) -> bool:
        ok = yes or ask_yes(f"Run the production verification against {host} now?")
        if ok:
            confirmation.confirm(host)
        return ok

    async with BoopClient(
        env_cfg.base_url,
        creds.vendor_id.reveal(),
        creds.api_key.reveal(),
        timeout_s=env_cfg.timeout_s,
        production=env_cfg.production,
        guard=guard,
        name=config.target,
    ) as client:

        async def health() -> str:
            answer = await client.health()
            if not answer.ok:
                raise BoopError(f"/health answered status {answer.status!r}")
            return f"ok, version {answer.version}, {answer.latency_ms:.0f} ms"

        async def auth_test() -> str:
            # The smallest context: no amount, no attributes; cancelled at once so
            # no customer is ever asked to scan.
            ctx = await client.create_auth("entrance")
            await client.cancel_auth(ctx.context_id)
            return f"context {ctx.context_id} created ({ctx.status}) and cancelled"

        return await verify_production(
            checklist,
            host=env_cfg.host,
            confirm=confirm,
            health=health,
            auth_test=auth_test,
            who=who_am_i(),
            deadline_s=env_cfg.timeout_s * 2,
        )


def cmd_verify(args: argparse.Namespace) -> int:
    """Production verification: confirmation, /health, controlled auth test."""
    from console.engine.checklist import VerificationRefused

    config = load_cli_config(args)
    checklist = open_checklist(config)
    try:
        result = asyncio.run(_verify(config, checklist, args.yes))
    except VerificationRefused as exc:
        print(f"refused: {with_yes_hint(str(exc))}", file=sys.stderr)
        return EXIT_REFUSED
    print(
        f"health check of {result.host}: {'PASS' if result.health_ok else 'FAIL'}"
        f" - {result.health_detail}"
    )
    auth = {True: "PASS", False: "FAIL", None: "SKIPPED"}[result.auth_ok]
    print(f"authentication test: {auth} - {result.auth_detail}")
    return EXIT_OK if result.ok else EXIT_FAILED


def cmd_report(args: argparse.Namespace) -> int:
    """Write the Markdown report."""
    from console.engine.checklist import render_report
    from console.locations import StatePaths

    config = load_cli_config(args)
    checklist = open_checklist(config)
    checklist.refresh()
    text = render_report(checklist, StatePaths(config.state_path()).journal)
    if args.output:
        from console.errors import StateError

        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise StateError(
                f"Could not write the report to {args.output}: {exc.strerror or exc}.",
                hint="Choose a file in a directory that exists and you can write "
                "to, or leave out --output to print the report.",
            ) from exc
        print(f"Report written to {args.output}.")
    else:
        print(text, end="")
    return EXIT_OK


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add `check` (with tick/untick/verify) and `report`."""
    check = sub.add_parser("check", help="the migration checklist")
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=cmd_check)
    csub = check.add_subparsers(dest="check_command", metavar="ACTION")

    p = csub.add_parser("tick", help="tick an item, with a note")
    p.add_argument("item", metavar="ID")
    p.add_argument("--note", required=True)
    p.set_defaults(func=cmd_tick)

    p = csub.add_parser("untick", help="reopen an item")
    p.add_argument("item", metavar="ID")
    p.add_argument("--note")
    p.set_defaults(func=cmd_untick)

    p = csub.add_parser("verify", help="production health check and auth test")
    p.add_argument("--yes", action="store_true", help="confirm the production host")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("report", help="Markdown report of the cutover")
    p.add_argument("--output", metavar="FILE")
    p.set_defaults(func=cmd_report)
