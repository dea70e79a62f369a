"""`boop-console demo`: the simulator and the console, with nothing to set up.

The simulator runs in its own process (its load generator never competes with the
UI's event loop) on 127.0.0.1; the console drives the file router that the
simulator's vendor application reads. Credentials are the simulator's, generated for
this run and held in memory only: the demo never reads or writes the OS keyring.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from console.config import Config, demo_config, dump_toml
from console.credentials.store import CredentialStore, env_var_names
from console.errors import SimulatorError
from console.locations import StatePaths
from console.sim.launch import (
    free_port_base,
    read_ready_line,
    sim_urls,
    simulator_command,
    spawn,
    stop,
)

log = logging.getLogger("console.demo")

# (key, label, target, kind, value): what the fault menu offers.
DEMO_FAULTS: Sequence[tuple[str, str, str, str, float]] = (
    ("prod_errors", "prod: 5% auth errors", "prod", "error_rate", 0.05),
    ("prod_latency", "prod: +2.5 s latency", "prod", "latency", 2.5),
    ("prod_payments", "prod: 2% payments fail", "prod", "payment_failure", 0.02),
    ("prod_auth_fail", "prod: 3% palms not matched", "prod", "auth_failure", 0.03),
    ("prod_outage", "prod: full outage", "prod", "outage", 1.0),
    ("prod_ws_drop", "prod: WebSocket drops", "prod", "ws_drop", 6.0),
    ("prod_429", "prod: 429 storm (30%)", "prod", "429_storm", 0.3),
    ("prod_html_502", "prod: proxy HTML 502 (20%)", "prod", "html_502", 0.2),
)


class SimFaultMenu:
    """The UI's fault menu, over the simulator's admin API (loopback only)."""

    def __init__(self, admin_url: str, timeout_s: float = 2.0) -> None:
        self.admin_url = admin_url.rstrip("/")
        self.timeout_s = timeout_s
        self._by_key = {f[0]: f for f in DEMO_FAULTS}

    def kinds(self) -> Sequence[tuple[str, str]]:
        return [(key, label) for key, label, *_ in DEMO_FAULTS]

    async def inject(self, kind: str) -> None:
        _, label, target, fault, value = self._by_key[kind]
        body = {"target": target, "kind": fault, "value": value}
        await self._call("POST", "/faults", body)
        log.info("demo fault injected: %s", label)

    async def clear(self) -> None:
        await self._call("DELETE", "/faults", None)
        log.info("demo faults cleared")

    async def _call(self, method: str, path: str, body: object) -> None:
        import httpx  # only when a fault is injected, not before the first frame

        try:
            async with asyncio.timeout(self.timeout_s):
                async with httpx.AsyncClient(trust_env=False) as client:
                    response = await client.request(
                        method, self.admin_url + path, json=body
                    )
        except (httpx.HTTPError, TimeoutError) as exc:
            raise SimulatorError(
                f"the simulator's admin API did not answer ({type(exc).__name__})",
                hint="Is the demo's simulator still running? See the demo log.",
            ) from exc
        if response.status_code >= 400:
            raise SimulatorError(
                f"the simulator refused the fault: {response.text[:200]}"
            )


DEMO_SOURCE_LABEL = "demo (this run only)"
"""Where the demo's credentials come from, as the credentials pane shows it."""


def demo_environ(credentials: Mapping[str, tuple[str, str]]) -> dict[str, str]:
    """The simulator's credentials as the variables the credential store reads."""
    environ: dict[str, str] = {}
    for env, (vendor_id, api_key) in credentials.items():
        vendor_var, key_var = env_var_names(env)
        environ[vendor_var] = vendor_id
        environ[key_var] = api_key
    return environ


def demo_credential_store(
    config: Config,
    credentials: Mapping[str, tuple[str, str]] | None = None,
    *,
    environ: dict[str, str] | None = None,
) -> CredentialStore:
    """A store that sees only this run's simulator credentials, never the keyring.

    ``environ``: the store reads this dict at each look-up, so the credentials
    can be added once the simulator is ready.
    """
    import keyring.backends.fail

    if environ is None:
        environ = {}
    environ.update(demo_environ(credentials or {}))
    return CredentialStore(
        config.credentials,
        environ=environ,
        keyring_backend=keyring.backends.fail.Keyring(),  # type: ignore[no-untyped-call]
        envs=config.environments,
        source_label=DEMO_SOURCE_LABEL,
    )


def confirm_simulated_production(host: str) -> bool:
    """The demo's answer to "open the production stream to ``host``?": yes, because
    its production is the simulator on loopback (demo_config points there)."""
    from console.boop.client import LOOPBACK

    return host.lower() in LOOPBACK  # never a yes for a host that is not ours


DEMO_PREREQUISITES = ("pre.testing", "pre.credentials", "pre.review", "pre.deployment")


def tick_demo_prerequisites(paths: StatePaths) -> None:
    """Tick the guide's four prerequisites, which a rehearsal cannot check for real,
    so that the demo can leave 0% without an override. Each tick says so."""
    from console.engine.checklist import Checklist

    checklist = Checklist(paths.checklist)
    done = {view.id for view in checklist.items() if view.done}
    for item_id in DEMO_PREREQUISITES:
        if item_id not in done:
            checklist.tick(
                item_id,
                who="boop-console demo",
                note="rehearsal on the embedded simulator: ticked by the demo",
            )


STARTING_TEXT = "starting the simulator… (BOOP dev and prod, legacy, vendor load)"
"""What the health rows say until the simulator answers."""


READY_TIMEOUT_S = 20.0
"""How long the simulator may take to print its ready line."""

SEE_LOG = (
    "See simulator.log in the demo's state directory, or run `boop-console sim` "
    "by hand to see its error."
)


class SimulatorStart:
    """The simulator process, started at once; its ready line is read in a thread
    so the console paints while the simulator comes up. (Spawned here rather than
    with console.sim.start_simulator_process, which blocks until ready and whose
    import pulls the whole server stack into the console's start-up.)"""

    def __init__(self, *, paths: StatePaths, rate: float, scenario: str | None) -> None:
        self.port_base = free_port_base()
        self.urls = sim_urls(self.port_base)
        command = simulator_command(
            routing_file=paths.routing_file,
            rate=rate,
            scenario=scenario,
            port_base=self.port_base,
        )
        self.process = spawn(command, log_path=paths.root / "simulator.log")
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim-ready")
        self._ready: Future[dict[str, Any]] = pool.submit(
            read_ready_line, self.process, READY_TIMEOUT_S, hint=SEE_LOG
        )
        pool.shutdown(wait=False)

    def wait(self) -> Mapping[str, tuple[str, str]]:
        """Block until the simulator is ready; its credentials. SimulatorError if
        it failed to start."""
        return self._checked(self._ready.result())

    async def wait_async(self) -> Mapping[str, tuple[str, str]]:
        """Await the simulator's ready line without blocking the event loop."""
        return self._checked(await asyncio.wrap_future(self._ready))

    def _checked(self, info: dict[str, Any]) -> Mapping[str, tuple[str, str]]:
        got = {key: str(info.get(key)) for key in self.urls}
        if got != self.urls:
            # The config was built from the pre-picked ports: a mismatch would
            # point the console at something else.
            self.stop()
            raise SimulatorError(
                f"the simulator listens on {got}, not on the ports picked for it "
                f"({self.urls})",
                hint="Start the demo again.",
            )
        creds = info["credentials"]
        return {env: (c["vendor_id"], c["api_key"]) for env, c in creds.items()}

    def stop(self, timeout_s: float = 5.0) -> int | None:
        """SIGTERM, wait, SIGKILL if needed; the exit code."""
        return stop(self.process, timeout_s)


def run_demo(
    *,
    state_dir: Path | None,
    theme: str | None,
    low_bandwidth: bool,
    rate: float,
    scenario: str | None,
    headless: bool,
) -> int:
    """Start the simulator and, without waiting for it, the console (or, once it
    is ready, the guard) against it."""
    if state_dir is None:
        # Kept after the run: the journal and any evidence bundle stay readable.
        state_dir = Path(tempfile.mkdtemp(prefix="boop-demo-"))
    paths = StatePaths(state_dir).ensure()
    print(f"boop-console demo: starting the BOOP simulator (state in {state_dir}) ...")
    start = SimulatorStart(paths=paths, rate=rate, scenario=scenario)
    try:
        urls = start.urls
        config = demo_config(
            urls["dev_url"], urls["prod_url"], urls["metrics_url"], state_dir
        )
        # Filled with the simulator's credentials once it is ready; read only
        # by the engine's monitors, which start after that.
        environ: dict[str, str] = {}
        store = demo_credential_store(config, environ=environ)
        tick_demo_prerequisites(paths)
        # A config file of the demo lets the CLI and a guard work beside it:
        # `boop-console --config <state>/config.toml status|guard|rollback`.
        config_file = state_dir / "config.toml"
        config_file.write_text(dump_toml(config), encoding="utf-8")
        print(
            "boop-console demo: the CLI works beside it: "
            f"boop-console --config {config_file} status"
        )
        if headless:
            from console.commands.cutover import run_guard

            environ.update(demo_environ(start.wait()))
            return run_guard(config, credential_store=store)
        from console.commands.run import run_app
        from console.engine.runtime import build_engine

        # The simulated production listens on 127.0.0.1: nothing real to confirm.
        engine = build_engine(
            config,
            credential_store=store,
            confirm_production=confirm_simulated_production,
        )

        async def simulator_ready() -> None:
            environ.update(demo_environ(await start.wait_async()))

        return run_app(
            engine,
            theme=theme,
            low_bandwidth=low_bandwidth,
            faults=SimFaultMenu(urls["admin_url"]),
            credentials=store,
            log_file=paths.log_file,
            start_after=simulator_ready,
            waiting_text=STARTING_TEXT,
        )
    finally:
        code = start.stop()
        if code not in (0, -15, None):
            print(
                f"boop-console demo: the simulator exited with {code}; "
                f"its log is {state_dir / 'simulator.log'}",
                file=sys.stderr,
            )
        print(f"boop-console demo: journal and evidence kept in {state_dir}")
