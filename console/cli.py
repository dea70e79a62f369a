"""The `boop-console` command: one subcommand per module in console/commands/.

Exit codes (shared by every subcommand; also in the README):
  0  done
  1  the operation failed (router write, BOOP unreachable, ...): the message says why
  2  usage or configuration error
  3  refused: a gate, the checklist, the lease or a safety check said no
  130 interrupted (Ctrl+C)
`status` adds its own codes for the overall verdict; see `boop-console status --help`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Callable, Sequence

from console import __version__
from console.errors import ConfigError, ConsoleError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_INTERRUPTED = 130

# Each module defines register(subparsers) and sets `func(args) -> int` on its parsers.
COMMAND_MODULES = (
    "console.commands.demo",
    "console.commands.run",
    "console.commands.sim",
    "console.commands.cutover",
    "console.commands.creds",
    "console.commands.checklist",
)

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="boop-console",
        description="Console for moving a BOOP integration from dev to production.",
        epilog="Exit codes: 0 done, 1 failed, 2 usage/config error, 3 refused, "
        "130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "--config", metavar="FILE", help="config file (default: platform config dir)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    # `boop-console status --config F` works as well as `boop-console --config F
    # status`; SUPPRESS keeps the sub-level default from hiding the global value.
    for command in sub.choices.values():
        # Skipped where the command defines --config itself (run).
        with contextlib.suppress(argparse.ArgumentError):
            command.add_argument(
                "--config", metavar="FILE", default=argparse.SUPPRESS, help="config"
            )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Handler | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ConfigError as exc:
        print(f"boop-console: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConsoleError as exc:
        print(f"boop-console: {exc.title}: {exc}", file=sys.stderr)
        return EXIT_FAILED
