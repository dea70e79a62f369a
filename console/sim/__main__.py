"""``python -m console.sim``: the simulator alone (what the demo starts)."""

from __future__ import annotations

import argparse
import sys

from console.errors import ConsoleError
from console.sim.cli import add_arguments, main


def run() -> int:
    parser = argparse.ArgumentParser(prog="python -m console.sim")
    add_arguments(parser)
    args = parser.parse_args()
    try:
        return main(args)
    except ConsoleError as exc:
        print(f"console.sim: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(run())
