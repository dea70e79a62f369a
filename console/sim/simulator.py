"""The simulator as a whole: in-process (:class:`Simulator`) or as a subprocess
(:func:`start_simulator_process`). See docs/simulator.md."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import random
import secrets
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from console.boop.models import mask
from console.errors import SimulatorError
from console.sim import launch
from console.sim.faults import Fault, FaultKind, Faults
from console.sim.scenario import Scenario, load_scenario, run_scenario
from console.sim.server import ServedApp
from console.sim.service import DOCUMENTED_LIMITS, BoopService, KeyPolicy, Profile
from console.sim.vendor import VendorApp

log = logging.getLogger("console.sim")

SERVICES = ("dev", "prod", "legacy", "metrics", "admin")
SERVICE_TITLES = {
    "dev": "dev BOOP",
    "prod": "prod BOOP",
    "legacy": "legacy payments",
    "metrics": "vendor app metrics",
    "admin": "admin",
}


def _demo_credentials(rng: random.Random | None) -> dict[str, tuple[str, str]]:
    """Fresh per run: random suffixes, so no two runs share a key."""

    def suffix(n: int) -> str:
        return f"{rng.getrandbits(n * 4):0{n}x}" if rng else secrets.token_hex(n // 2)

    return {
        "dev": (f"ven_dev_{suffix(8)}", f"sk_dev_{suffix(24)}"),
        "prod": (f"ven_live_{suffix(8)}", f"sk_live_{suffix(24)}"),
    }


def _check_loopback(host: str) -> None:
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise SimulatorError(
            f"the simulator listens on loopback only, not {host!r}",
            hint="Use 127.0.0.1.",
        )


class Simulator:
    """BOOP dev and prod, the legacy system, the vendor load and its metrics.

    ``async with Simulator() as sim:`` starts everything on 127.0.0.1 (free ports
    unless ``port_base`` is given) and stops it on exit.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        routing_file: Path | None = None,
        proxy_url: str | None = None,
        rate: float = 20.0,
        seed: int | None = None,
        scenario: str | Path | Scenario | None = None,
        *,
        port_base: int | None = None,
        context_timeout_s: float = 10.0,
        rate_limits: bool = True,
        profile: Profile | None = None,
    ) -> None:
        _check_loopback(host)
        self.host = host
        self.rng = random.Random(seed)
        self.faults = Faults()
        self.credentials: dict[str, tuple[str, str]] = _demo_credentials(
            self.rng if seed is not None else None
        )
        self.scenario = (
            scenario
            if isinstance(scenario, Scenario) or scenario is None
            else load_scenario(scenario)
        )
        relaxed = {k: v * 10 for k, v in DOCUMENTED_LIMITS.items()}
        self.dev = BoopService(
            "dev",
            self.faults,
            rng=random.Random(self.rng.random()),
            profile=profile,
            keys=KeyPolicy(("sk_dev_", "sk_test_"), ("ven_dev_", "ven_test_")),
            rate_limits=relaxed if rate_limits else None,
            test_users=True,
        )
        self.prod = BoopService(
            "prod",
            self.faults,
            rng=random.Random(self.rng.random()),
            profile=profile,
            keys=KeyPolicy(("sk_live_",), ("ven_live_",)),
            rate_limits=dict(DOCUMENTED_LIMITS) if rate_limits else None,
        )
        self.legacy = BoopService(
            "legacy",
            self.faults,
            rng=random.Random(self.rng.random()),
            profile=profile,
            keys=KeyPolicy(None, None),
            rate_limits=None,
            system="legacy",
        )
        self.routing_file = routing_file
        self.proxy_url = proxy_url
        self.rate = rate
        self.context_timeout_s = context_timeout_s
        self.vendor: VendorApp | None = None
        ports = [0] * 4 if port_base is None else [port_base + i for i in range(4)]
        self._served = {
            "dev": ServedApp(self.dev.app, host, ports[0]),
            "prod": ServedApp(self.prod.app, host, ports[1]),
            "legacy": ServedApp(self.legacy.app, host, ports[2]),
            "vendor": ServedApp(self._vendor_app(), host, ports[3]),
        }
        self._tasks: list[asyncio.Task[None]] = []
        self.faults.listeners.append(self._on_fault)
        self.started_at: float | None = None

    # -- URLs ------------------------------------------------------------------------

    @property
    def dev_url(self) -> str:
        return self._served["dev"].url

    @property
    def prod_url(self) -> str:
        return self._served["prod"].url

    @property
    def legacy_url(self) -> str:
        return self._served["legacy"].url

    @property
    def metrics_url(self) -> str:
        return self._served["vendor"].url + "/metrics"

    @property
    def admin_url(self) -> str:
        return self._served["vendor"].url + "/_sim"

    def info(self, *, full_credentials: bool = True) -> dict[str, Any]:
        """What --json prints: URLs, WebSocket URLs and the demo credentials."""

        def cred(pair: tuple[str, str]) -> dict[str, str]:
            key = pair[1] if full_credentials else mask(pair[1])
            return {"vendor_id": pair[0], "api_key": key}

        return {
            "event": "ready",
            "pid": os.getpid(),
            "dev_url": self.dev_url,
            "prod_url": self.prod_url,
            "legacy_url": self.legacy_url,
            "metrics_url": self.metrics_url,
            "admin_url": self.admin_url,
            "dev_ws_url": self.dev_url.replace("http", "ws", 1) + "/ws/vendor",
            "prod_ws_url": self.prod_url.replace("http", "ws", 1) + "/ws/vendor",
            "credentials": {env: cred(p) for env, p in self.credentials.items()},
            "rate": self.rate,
            "scenario": self.scenario.name if self.scenario else None,
        }

    # -- lifecycle -------------------------------------------------------------------

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        try:
            for served in self._served.values():
                await served.start()
        except BaseException:
            await self.stop()
            raise
        loop = asyncio.get_running_loop()
        self.started_at = loop.time()
        self.vendor = VendorApp(
            prod_url=self.prod_url,
            legacy_url=self.legacy_url,
            prod_credentials=self.credentials["prod"],
            rate=self.rate,
            routing_file=self.routing_file,
            proxy_url=self.proxy_url,
            context_timeout_s=self.context_timeout_s,
            rng=random.Random(self.rng.random()),
        )
        await self.vendor.start()
        self._tasks.append(asyncio.create_task(self._tick()))
        if self.scenario is not None:
            self._tasks.append(
                asyncio.create_task(
                    run_scenario(self.scenario, self.faults, self.started_at)
                )
            )
        log.info(
            "simulator ready: dev %s prod %s legacy %s admin %s",
            self.dev_url,
            self.prod_url,
            self.legacy_url,
            self.admin_url,
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.vendor is not None:
            await self.vendor.stop()
            self.vendor = None
        # Let hung requests go, so the servers can finish quickly.
        self.faults.clear()
        await asyncio.gather(*(s.stop() for s in self._served.values()))

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            for service in (self.dev, self.prod, self.legacy):
                await service.tick(0.5)

    def _on_fault(self, fault: Fault) -> None:
        log.info("fault on %s: %s=%g", fault.target, fault.kind, fault.value)
        if fault.kind in (FaultKind.OUTAGE, FaultKind.WS_OVERSIZE):
            # Act on open sockets now rather than at the next tick.
            service = {"dev": self.dev, "prod": self.prod, "legacy": self.legacy}
            with contextlib.suppress(RuntimeError):
                asyncio.get_running_loop().create_task(service[fault.target].tick(0))

    # -- the vendor app's HTTP face: /metrics and /_sim --------------------------------

    def _vendor_app(self) -> Starlette:
        async def metrics(request: Request) -> Response:
            if self.vendor is None:
                return Response(b"", media_type=CONTENT_TYPE_LATEST)
            return Response(
                generate_latest(self.vendor.metrics.registry),
                media_type=CONTENT_TYPE_LATEST,
            )

        async def list_faults(request: Request) -> Response:
            return JSONResponse({"faults": [f.to_json() for f in self.faults.active()]})

        async def add_fault(request: Request) -> Response:
            try:
                body = json.loads(await request.body() or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("body must be a JSON object")
                fault = self.faults.inject(
                    str(body.get("target")),
                    str(body.get("kind")),
                    body.get("value"),
                    body.get("for_s"),
                )
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            except SimulatorError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse({"fault": fault.to_json()}, status_code=201)

        async def clear_faults(request: Request) -> Response:
            target = request.query_params.get("target")
            return JSONResponse({"cleared": self.faults.clear(target)})

        async def remove_fault(request: Request) -> Response:
            ok = self.faults.remove(int(request.path_params["fid"]))
            return JSONResponse({"removed": ok}, status_code=200 if ok else 404)

        async def info(request: Request) -> Response:
            data = self.info(full_credentials=False)
            vendor = self.vendor
            data["routing_percent"] = vendor.percent if vendor else None
            data["contexts_sent"] = vendor.sent if vendor else 0
            data["contexts_completed"] = vendor.completed if vendor else 0
            return JSONResponse(data)

        async def set_rate(request: Request) -> Response:
            try:
                rate = float(json.loads(await request.body())["rate"])
                if rate < 0:
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                return JSONResponse({"error": 'body must be {"rate": >= 0}'}, 400)
            self.rate = rate
            if self.vendor is not None:
                self.vendor.rate = rate
            return JSONResponse({"rate": rate})

        return Starlette(
            routes=[
                Route("/metrics", metrics, methods=["GET"]),
                Route("/_sim", info, methods=["GET"]),
                Route("/_sim/faults", list_faults, methods=["GET"]),
                Route("/_sim/faults", add_fault, methods=["POST"]),
                Route("/_sim/faults", clear_faults, methods=["DELETE"]),
                Route("/_sim/faults/{fid:int}", remove_fault, methods=["DELETE"]),
                Route("/_sim/rate", set_rate, methods=["POST"]),
            ]
        )


# -- as a subprocess ------------------------------------------------------------------


@dataclass
class SimProcess:
    """A simulator running as ``python -m console.sim --json``."""

    process: subprocess.Popen[bytes]
    info: Mapping[str, Any]

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def dev_url(self) -> str:
        return str(self.info["dev_url"])

    @property
    def prod_url(self) -> str:
        return str(self.info["prod_url"])

    @property
    def legacy_url(self) -> str:
        return str(self.info["legacy_url"])

    @property
    def metrics_url(self) -> str:
        return str(self.info["metrics_url"])

    @property
    def admin_url(self) -> str:
        return str(self.info["admin_url"])

    @property
    def credentials(self) -> dict[str, tuple[str, str]]:
        creds = self.info["credentials"]
        return {env: (c["vendor_id"], c["api_key"]) for env, c in creds.items()}

    def stop(self, timeout_s: float = 5.0) -> int | None:
        """SIGTERM, wait, SIGKILL if needed; returns the exit code."""
        return launch.stop(self.process, timeout_s)

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_simulator_process(
    *,
    routing_file: Path | None = None,
    proxy_url: str | None = None,
    rate: float = 20.0,
    seed: int | None = None,
    scenario: str | None = None,
    port_base: int | None = None,
    log_path: Path | None = None,
    extra_args: Sequence[str] = (),
    ready_timeout_s: float = 20.0,
    env: Mapping[str, str] | None = None,
) -> SimProcess:
    """Start the simulator in its own process and wait for its ready line.

    Blocking (up to ``ready_timeout_s``); call it through ``asyncio.to_thread`` from
    a running loop. stderr (logs) goes to ``log_path`` or is discarded.
    """
    command = launch.simulator_command(
        routing_file=routing_file,
        proxy_url=proxy_url,
        rate=rate,
        seed=seed,
        scenario=scenario,
        port_base=port_base,
        extra_args=extra_args,
    )
    proc = launch.spawn(command, log_path=log_path, env=env)
    return SimProcess(proc, launch.read_ready_line(proc, ready_timeout_s))
