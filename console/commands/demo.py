"""`boop-console init` and `boop-console demo`."""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from console.locations import default_config_path


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add `init` and `demo`."""
    init = sub.add_parser(
        "init",
        help="write a commented config template",
        description="Write a commented config template naming BOOP's documented hosts.",
    )
    init.add_argument("path", nargs="?", help="where to write it (default: --config)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(func=_init)

    demo = sub.add_parser(
        "demo",
        help="run the console on the embedded BOOP simulator (no account, no network)",
        description="Start the embedded simulator on 127.0.0.1 and the console "
        "against it, with short holds; credentials live for this run only.",
    )
    demo.add_argument("--theme", default=None, help="UI theme")
    demo.add_argument(
        "--low-bandwidth", action="store_true", help="numbers and sparklines only"
    )
    demo.add_argument(
        "--state-dir",
        metavar="DIR",
        help="keep the demo's state here (default: a fresh temporary directory)",
    )
    demo.add_argument(
        "--rate", type=float, default=40.0, help="transactions per second"
    )
    demo.add_argument("--scenario", help="simulator scenario name or TOML file")
    demo.add_argument(
        "--headless",
        action="store_true",
        help="run the guard instead of the UI (for scripted rehearsals)",
    )
    demo.set_defaults(func=_demo)


def template_text() -> str:
    return (resources.files("console") / "templates" / "config.toml").read_text("utf-8")


def _init(args: argparse.Namespace) -> int:
    path = Path(args.path or args.config or default_config_path()).expanduser()
    if path.exists() and not args.force:
        print(
            f"boop-console: {path} exists; not overwritten (use --force).",
            file=sys.stderr,
        )
        return 3
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(template_text(), encoding="utf-8")
    print(f"wrote {path}: edit [environments], [router] and [metrics], then run")
    print(f"  boop-console --config {path} run")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from console.demo import run_demo

    return run_demo(
        state_dir=Path(args.state_dir) if args.state_dir else None,
        theme=args.theme,
        low_bandwidth=args.low_bandwidth,
        rate=args.rate,
        scenario=args.scenario,
        headless=args.headless,
    )
