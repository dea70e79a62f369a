"""`boop-console sim`: run the embedded BOOP simulator, inject and clear faults."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's subcommands to the parser."""
    from console.sim.cli import add_arguments

    parser = sub.add_parser(
        "sim",
        help="run the embedded BOOP simulator (dev, prod, legacy, vendor load)",
        # argparse %-formats a description only when it names %(prog); a plain "%"
        # shows as written, so "%%" would print (and be copied) as "5%%".
        description="Run the simulator on 127.0.0.1 until Ctrl+C, or talk to a "
        "running one: `sim fault prod error_rate --value 5% --for 60`, `sim clear`.",
    )
    add_arguments(parser)
    parser.set_defaults(func=_handle)


def _handle(args: argparse.Namespace) -> int:
    from console.sim.cli import main

    return main(args)
