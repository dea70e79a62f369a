"""Command line of the simulator: ``boop-console sim`` and ``python -m console.sim``.

``sim`` runs it until Ctrl+C or SIGTERM; ``sim fault``, ``sim clear`` and ``sim faults``
talk to a running one through its admin API, found from ``--admin URL`` or the file
``sim.json`` it writes in the state directory ($BOOP_CONSOLE_STATE_DIR).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from console.errors import SimulatorError
from console.locations import default_state_dir

log = logging.getLogger("console.sim")


def state_file(args: argparse.Namespace | None = None) -> Path:
    """Where the running simulator's ``sim.json`` is: the state directory of the
    config given with ``--config`` (its ``state_dir``), else the default one."""
    config_path = getattr(args, "config", None) if args is not None else None
    if config_path:
        from console.config import load_config

        return load_config(Path(config_path).expanduser()).state_path() / "sim.json"
    return default_state_dir() / "sim.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `sim` and its sub-commands (shared by both entry points)."""
    parser.add_argument(
        "--json", action="store_true", help="print one JSON line when ready"
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument(
        "--port-base",
        type=int,
        metavar="N",
        help="dev N, prod N+1, legacy N+2, vendor/admin N+3 (default: free)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=20.0,
        help="vendor load, contexts per second (default 20)",
    )
    parser.add_argument("--seed", type=int, help="random seed (repeatable runs)")
    parser.add_argument(
        "--scenario",
        metavar="NAME|PATH",
        help="scripted faults: healthy, bad-deploy, slow-degradation, "
        "flapping-network, or a TOML file",
    )
    parser.add_argument(
        "--routing-file",
        type=Path,
        metavar="PATH",
        help="the file router's JSON document the vendor obeys",
    )
    parser.add_argument(
        "--proxy-url",
        metavar="URL",
        help="send each transaction through this proxy (HAProxy)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log INFO to stderr"
    )
    parser.add_argument(
        "--watch-parent",
        action="store_true",
        help="stop when stdin reaches end of file or the parent process dies "
        "(set by the console when it starts the simulator as its child)",
    )
    parser.set_defaults(sim_action="run")
    sub = parser.add_subparsers(dest="sim_command", metavar="ACTION")
    fault = sub.add_parser("fault", help="inject a fault into a running simulator")
    fault.add_argument("target", choices=["dev", "prod", "legacy"])
    fault.add_argument(
        "kind",
        help="error_rate, latency, outage, ws_drop, 429_storm, "
        "html_502, hang, trickle, auth_failure, payment_failure, ws_oversize",
    )
    fault.add_argument("--value", help="e.g. 0.05, 5%% or 1.5 (seconds)")
    fault.add_argument("--for", dest="for_s", type=float, metavar="SECONDS")
    fault.add_argument(
        "--admin", metavar="URL", help="admin URL (default: from sim.json)"
    )
    fault.set_defaults(sim_action="fault")
    clear = sub.add_parser("clear", help="end every fault (of one target)")
    clear.add_argument("target", nargs="?", choices=["dev", "prod", "legacy"])
    clear.add_argument("--admin", metavar="URL")
    clear.set_defaults(sim_action="clear")
    faults = sub.add_parser("faults", help="list active faults")
    faults.add_argument("--admin", metavar="URL")
    faults.set_defaults(sim_action="faults")


def main(args: argparse.Namespace) -> int:
    """Run the chosen action; returns the exit code."""
    if args.sim_action == "run":
        return _run(args)
    return _admin(args)


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    # One INFO line per HTTP request from httpx would drown the simulator's own log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from prometheus_client import disable_created_metrics

    # The *_created series are not part of docs/metrics.md; in its own process
    # the simulator exports exactly the documented names.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    return asyncio.run(_serve(args))


async def _serve(args: argparse.Namespace) -> int:
    from console.sim.simulator import SERVICE_TITLES, Simulator

    sim = Simulator(
        host=args.host,
        routing_file=args.routing_file,
        proxy_url=args.proxy_url,
        rate=args.rate,
        seed=args.seed,
        scenario=args.scenario,
        port_base=args.port_base,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    watcher: asyncio.Task[None] | None = None
    if getattr(args, "watch_parent", False):
        watcher = asyncio.create_task(_watch_parent(stop))
    await sim.start()
    path = state_file(args)
    try:
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(sim.info(full_credentials=False)))
        if args.json:
            print(json.dumps(sim.info()), flush=True)
        else:
            urls = {
                "dev": sim.dev_url,
                "prod": sim.prod_url,
                "legacy": sim.legacy_url,
                "metrics": sim.metrics_url,
                "admin": sim.admin_url,
            }
            for key, url in urls.items():
                print(f"{SERVICE_TITLES[key]:<20} {url}", flush=True)
            info = sim.info(full_credentials=False)["credentials"]
            creds = "  ".join(
                f"{env} {c['vendor_id']} {c['api_key']}" for env, c in info.items()
            )
            print(f"{'credentials':<20} {creds} (full values: --json)", flush=True)
        await stop.wait()
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        await sim.stop()
        with contextlib.suppress(OSError):
            if json.loads(path.read_text()).get("pid") == os.getpid():
                path.unlink()
    return 0


PARENT_POLL_S = 0.5


async def _watch_parent(stop: asyncio.Event) -> None:
    """Set ``stop`` when the parent is gone, so a child never outlives it.

    Two signs, either is enough: stdin (a pipe whose write end only the parent
    holds) reaches end of file, which the kernel does at once when the parent dies,
    even by SIGKILL; or the parent pid changes (we were re-parented to init), for a
    stdin that is not such a pipe.
    """
    loop = asyncio.get_running_loop()
    parent = os.getppid()
    eof = asyncio.Event()
    fd = -1
    with contextlib.suppress(AttributeError, OSError, ValueError):
        fd = sys.stdin.fileno()

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
            eof.set()

    watching_fd = False
    if fd >= 0:
        try:
            os.set_blocking(fd, False)
            loop.add_reader(fd, readable)
            watching_fd = True
        except (OSError, ValueError, NotImplementedError, PermissionError):
            # A regular file or /dev/null cannot be watched; the pid check remains.
            watching_fd = False
    try:
        while not eof.is_set() and os.getppid() == parent:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(PARENT_POLL_S):
                    await eof.wait()
        log.warning("parent process %d gone: stopping the simulator", parent)
        stop.set()
    finally:
        if watching_fd:
            with contextlib.suppress(OSError, ValueError):
                loop.remove_reader(fd)


def _admin_url(args: argparse.Namespace) -> str:
    if args.admin:
        return str(args.admin).rstrip("/")
    path = state_file(args)
    try:
        return str(json.loads(path.read_text())["admin_url"])
    except (OSError, ValueError, KeyError):
        raise SimulatorError(
            f"no running simulator found: looked for {path} (missing or unreadable)",
            hint="Start one with `boop-console sim` (with the same --config), or "
            "pass --admin URL.",
        ) from None


def _admin(args: argparse.Namespace) -> int:
    import httpx

    url = _admin_url(args)
    try:
        with httpx.Client(timeout=5.0, trust_env=False) as client:
            if args.sim_action == "fault":
                body: dict[str, Any] = {
                    "target": args.target,
                    "kind": args.kind,
                    "value": args.value,
                    "for_s": args.for_s,
                }
                resp = client.post(f"{url}/faults", json=body)
            elif args.sim_action == "clear":
                params = {"target": args.target} if args.target else {}
                resp = client.delete(f"{url}/faults", params=params)
            else:
                resp = client.get(f"{url}/faults")
    except httpx.HTTPError as exc:
        raise SimulatorError(f"cannot reach the simulator at {url}: {exc}") from exc
    try:
        data = resp.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        excerpt = " ".join(resp.text.split())[:120]
        raise SimulatorError(
            f"{resp.request.url} answered HTTP {resp.status_code} with something "
            f"that is not the simulator's JSON: {excerpt!r}",
            hint="Check --admin: it is the admin URL a running `boop-console sim` "
            "prints (ending in /_sim).",
        )
    if resp.status_code >= 400:
        raise SimulatorError(f"the simulator refused: {data.get('error', data)}")
    print(json.dumps(data))
    return 0
