"""`boop-console creds ...`: store, show, delete and check BOOP credentials.

    creds set ENV [--stdin] [--where auto|keyring|file]
    creds show [ENV ...] [--json]
    creds delete ENV
    creds check ENV [--yes]
    creds request-access [--output FILE]
    creds set-secret NAME [--stdin]   (e.g. the webhook router's auth_secret)

Values are read without echo (getpass) or, with --stdin, as two lines (vendor id,
then API key) for scripts. Nothing prints a secret in full.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import socket
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from console.config import Config
    from console.credentials.store import CredentialStore

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 3


def who_am_i() -> str:
    """'user@host' for the journal and the checklist."""
    return f"{getpass.getuser()}@{socket.gethostname()}"


def load_cli_config(args: argparse.Namespace) -> Config:
    """The config named by --config, or the platform default."""
    from console.config import load_config
    from console.locations import default_config_path

    path = Path(args.config) if getattr(args, "config", None) else default_config_path()
    return load_config(path.expanduser())


def _ask_passphrase() -> str:
    """Ask on the controlling terminal; with none, a CredentialError that says how
    to give the passphrase instead (getpass would fall back to a used-up stdin)."""
    from console.credentials.store import PASSPHRASE_ENV
    from console.errors import CredentialError

    problem = CredentialError(
        "The encrypted credentials file needs its passphrase and there is no "
        "terminal to ask for it on.",
        hint=f"Run the command in a terminal, or set {PASSPHRASE_ENV} in its "
        "environment.",
    )
    try:
        with open("/dev/tty", "rb"):
            pass
    except OSError:
        raise problem from None
    try:
        return getpass.getpass("Passphrase of the encrypted credentials file: ")
    except EOFError as exc:
        raise problem from exc


def make_store(config: Config) -> CredentialStore:
    """A CredentialStore whose encrypted-file passphrase is asked on the terminal."""
    from console.credentials.store import CredentialStore

    return CredentialStore(config.credentials, passphrase=_ask_passphrase)


def ask_yes(question: str) -> bool:
    """A y/N question on the terminal; no terminal means no."""
    if not sys.stdin.isatty():
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def _env_or_fail(config: Config, env: str) -> None:
    from console.errors import ConfigError

    if env not in config.environments:
        names = ", ".join(sorted(config.environments)) or "none"
        raise ConfigError(
            f"No environment named {env!r} in the config (known: {names})."
        )


def _age(stored_at: float | None) -> str:
    if stored_at is None:
        return "age unknown"
    days = (time.time() - stored_at) / 86400
    note = "  ROTATION DUE (annual)" if days >= 365 else ""
    return f"stored {days:.0f} days ago{note}"


def cmd_set(args: argparse.Namespace) -> int:
    """Store vendor id and API key for one environment."""
    from console.credentials.formats import format_problems
    from console.credentials.guard import credential_problems

    config = load_cli_config(args)
    _env_or_fail(config, args.env)
    if args.stdin:
        lines = sys.stdin.read().splitlines()
        if len(lines) < 2:
            print(
                "creds set --stdin: expected two lines (vendor id, API key)",
                file=sys.stderr,
            )
            return EXIT_USAGE
        vendor_id, api_key = lines[0].strip(), lines[1].strip()
    else:
        vendor_id = getpass.getpass(f"Vendor id for {args.env} (not echoed): ").strip()
        api_key = getpass.getpass(f"API key for {args.env} (not echoed): ").strip()
    problems = format_problems(vendor_id, api_key)
    env_cfg = config.environments[args.env]
    problems += credential_problems(
        env_cfg.base_url, vendor_id, api_key, env_cfg, config.safety
    )
    if problems:
        for problem in problems:
            print(f"refused: {problem}", file=sys.stderr)
        print("Nothing was stored.", file=sys.stderr)
        return EXIT_REFUSED
    where = make_store(config).set(args.env, vendor_id, api_key, where=args.where)
    print(f"Stored credentials for {args.env} in {where}.")
    return EXIT_OK


def cmd_set_secret(args: argparse.Namespace) -> int:
    """Store a named secret (e.g. router.webhook.auth_secret) in the keyring item
    'secret/<NAME>' of [credentials] service, where the router looks for it."""
    from console.credentials.keyring_store import KeyringStore
    from console.routing.webhook import SECRET_KEYRING_PREFIX, secret_env_var

    config = load_cli_config(args)
    if args.stdin:
        lines = sys.stdin.read().splitlines()
        value = lines[0].strip() if lines else ""
    else:
        value = getpass.getpass(f"Value of secret {args.name} (not echoed): ").strip()
    if not value:
        print("creds set-secret: empty value; nothing was stored.", file=sys.stderr)
        return EXIT_USAGE
    cc = config.credentials
    item = SECRET_KEYRING_PREFIX + args.name
    KeyringStore(cc.service, cc.keyring_timeout_s).set(item, value)
    print(
        f"Stored secret {args.name} in the keyring ({cc.service}/{item}); "
        f"{secret_env_var(args.name)}, when set, takes precedence."
    )
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    """Masked credentials per environment, with source and age."""
    from dataclasses import asdict

    config = load_cli_config(args)
    envs = args.envs or sorted(config.environments)
    store = make_store(config)
    rows = store.summaries(envs)
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=1))
        return EXIT_OK
    print(f"keyring backend: {store.backend_name()}")
    for row in rows:
        if row.problem:
            print(f"{row.env:<8} none          {row.problem}")
            continue
        print(
            f"{row.env:<8} {row.vendor_id_masked}  {row.api_key_masked}  "
            f"from {row.source}, {_age(row.stored_at)}"
        )
    return EXIT_OK if all(r.problem is None for r in rows) else EXIT_FAILED


def cmd_delete(args: argparse.Namespace) -> int:
    """Delete stored credentials (keyring, encrypted file)."""
    config = load_cli_config(args)
    removed = make_store(config).delete(args.env)
    if removed:
        print(f"Deleted credentials for {args.env} from: {', '.join(removed)}.")
        return EXIT_OK
    print(
        f"No stored credentials for {args.env} (environment variables and commands "
        "are not changed by this command)."
    )
    return EXIT_OK


async def _check_live(
    config: Config, env: str, vendor_id: str, api_key: str, yes: bool
) -> list[str]:
    from console.boop.client import BoopClient
    from console.credentials.guard import ProductionConfirmation, make_guard

    env_cfg = config.environments[env]
    confirmation = ProductionConfirmation(
        (lambda host: True)
        if yes
        else (lambda host: ask_yes(f"Call production host {host} now?"))
    )
    guard = make_guard(env_cfg, config.safety, confirmation)
    lines = []
    async with BoopClient(
        env_cfg.base_url,
        vendor_id,
        api_key,
        timeout_s=env_cfg.timeout_s,
        production=env_cfg.production,
        guard=guard,
        name=env,
    ) as client:
        health = await client.health()
        lines.append(
            f"health: {health.status or '?'} version {health.version or '?'} "
            f"in {health.latency_ms:.0f} ms"
        )
        if not health.ok:
            raise_health(env_cfg.base_url, health.status)
        status = await client.status()
        lines.append(
            f"authenticated call (GET /api/v1/status): ok, {len(status)} fields"
        )
    return lines


def raise_health(url: str, status: str) -> None:
    """Raise a BoopError for a /health that answered but not 'ok'."""
    from console.errors import BoopError

    raise BoopError(f"{url}/health answered status {status!r}, not 'ok'.")


def cmd_check(args: argparse.Namespace) -> int:
    """Format, environment guard, then /health and an authenticated call."""
    from console.credentials.formats import format_problems
    from console.credentials.guard import (
        EnvironmentMismatch,
        ProductionNotConfirmed,
        check_credentials_for_env,
    )

    config = load_cli_config(args)
    _env_or_fail(config, args.env)
    env_cfg = config.environments[args.env]
    creds = make_store(config).resolve(args.env)
    print(f"{args.env}: {creds.vendor_id} {creds.api_key} from {creds.source}")
    vendor_id, api_key = creds.vendor_id.reveal(), creds.api_key.reveal()
    problems = format_problems(vendor_id, api_key)
    for problem in problems:
        print(f"format: {problem}")
    if problems:
        return EXIT_FAILED
    print("format: ok")
    try:
        check_credentials_for_env(
            env_cfg.base_url, vendor_id, api_key, env_cfg, config.safety
        )
        print(f"environment guard: ok for {env_cfg.host}")
        for line in asyncio.run(
            _check_live(config, args.env, vendor_id, api_key, args.yes)
        ):
            print(line)
    except EnvironmentMismatch as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except ProductionNotConfirmed as exc:
        print(f"refused: {with_yes_hint(str(exc))}", file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_OK


YES_HINT = "Answer y when asked, or pass --yes to confirm it on the command line."


def with_yes_hint(message: str) -> str:
    """A refusal for want of a confirmation, saying how to give one (--yes)."""
    return message if "--yes" in message else f"{message} {YES_HINT}"


ACCESS_REQUEST_TO = "production@boop.network"


def dev_host(config: Config) -> str:
    """The host development testing ran against: the environment named 'dev', else
    the first one not flagged production."""
    dev = config.environments.get("dev")
    if dev is None or dev.production:
        dev = next((e for e in config.environments.values() if not e.production), None)
    return dev.host if dev is not None else "<development host>"


def draft_access_request(config: Config) -> str:
    """The production access e-mail of the migration guide, as text (never sent)."""
    ar = config.access_request
    company = ar.company or "<company name>"
    return "\n".join(
        [
            f"To: {ACCESS_REQUEST_TO}",
            f"Subject: Production Access Request - {company}",
            "",
            "Hello BOOP team,",
            "",
            f"We request production credentials for {company}.",
            "",
            f"Company information and use case: {ar.use_case or '<use case>'}",
            f"Development testing: completed against {dev_host(config)} (BOOP's "
            "testing checklist).",
            f"Expected go-live date: {ar.go_live or '<date>'}",
            f"Technical contact: {ar.technical_contact or '<name, e-mail, phone>'}",
            "",
            "Thank you,",
            ar.technical_contact or "<name>",
            "",
        ]
    )


def cmd_request_access(args: argparse.Namespace) -> int:
    """Print (or write) the access request e-mail; the console never sends it."""
    text = draft_access_request(load_cli_config(args))
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(
            f"Draft written to {args.output}; send it yourself to {ACCESS_REQUEST_TO}."
        )
    else:
        print(text)
    return EXIT_OK


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add `creds` and its subcommands."""
    creds = sub.add_parser("creds", help="store, show, delete and check credentials")
    csub = creds.add_subparsers(dest="creds_command", metavar="ACTION", required=True)

    p = csub.add_parser("set", help="store vendor id and API key (asked without echo)")
    p.add_argument("env")
    p.add_argument("--stdin", action="store_true", help="read two lines: id, key")
    p.add_argument("--where", choices=("auto", "keyring", "file"), default="auto")
    p.set_defaults(func=cmd_set)

    p = csub.add_parser(
        "set-secret",
        help="store a named secret (e.g. the webhook router's auth_secret) in the "
        "keyring (asked without echo)",
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--stdin", action="store_true", help="read the value as one line")
    p.set_defaults(func=cmd_set_secret)

    p = csub.add_parser("show", help="masked credentials, source and age")
    p.add_argument("envs", nargs="*", metavar="ENV")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = csub.add_parser("delete", help="delete stored credentials")
    p.add_argument("env")
    p.set_defaults(func=cmd_delete)

    p = csub.add_parser("check", help="validate, then call /health and /api/v1/status")
    p.add_argument("env")
    p.add_argument("--yes", action="store_true", help="confirm a production host")
    p.set_defaults(func=cmd_check)

    # The guide's step 1 is its own command too: `boop-console request-access`.
    for parent in (csub, sub):
        p = parent.add_parser(
            "request-access", help="draft the production access e-mail (never sent)"
        )
        p.add_argument("--output", metavar="FILE")
        p.set_defaults(func=cmd_request_access)
