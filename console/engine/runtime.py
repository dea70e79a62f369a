"""Compose an :class:`Engine` from a config: router, metrics, probes, checklist,
credentials and notifier. Hosts (TUI, guard, CLI) call :func:`build_engine`.

Every part can be passed in instead (the demo and tests do); what is not passed is
built from the config. Nothing here contacts anything until the engine starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
from collections.abc import Sequence
from typing import Any

from console.config import Config
from console.engine.engine import Engine
from console.engine.model import (
    ChecklistSummary,
    CredentialSummary,
    HealthState,
    StreamState,
)
from console.engine.notify import AppriseNotifier
from console.engine.ports import Checklist, Credentials, InFlight, Monitors, Notifier
from console.locations import StatePaths
from console.metrics.base import MetricsSource
from console.routing import build_router
from console.routing.base import Router
from console.routing.webhook import SecretLookup

log = logging.getLogger("console.engine")

CREDENTIAL_REFRESH_S = 60.0


class RuntimeMonitors:
    """Health probes of every environment plus cached credential summaries.

    Credential look-ups may block (keyring, commands), so they run in a thread every
    minute and :meth:`summaries` only returns the cache.
    """

    def __init__(
        self, config: Config, hub: Any | None, credential_store: Any | None = None
    ) -> None:
        self.config = config
        self.hub = hub
        self.store = credential_store
        self._probes: list[Any] = []
        self._stream_probes: list[Any] = []
        self._streams: list[Any] = []
        self._clients: list[Any] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._credentials: list[CredentialSummary] = []
        self._log: list[str] = []

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._refresh_credentials()))
        if self.hub is None:
            return
        from console.boop.client import BoopClient
        from console.metrics.probes import HealthProbe

        uptime = [
            g.window_s for g in self.config.gates.values() if g.metric == "uptime_pct"
        ]
        for name, env in self.config.environments.items():
            # /health needs no credentials; the client still wants the fields.
            client = BoopClient(
                env.base_url,
                "",
                "",
                production=env.production,
                name=name,
                timeout_s=env.timeout_s,
            )
            deadline = self.config.probes.deadline_s

            async def fetch(c: Any = client, d: float = deadline) -> Any:
                return await c.health(deadline_s=d)

            probe = HealthProbe(
                name,
                fetch,
                self.hub.store,
                self.hub.clock,
                interval_s=self.config.probes.interval_s,
                deadline_s=deadline,
                window_s=max(uptime, default=600.0),
            )
            self._clients.append(client)
            self._probes.append(probe)
            self._tasks.append(asyncio.create_task(probe.run()))
        if self.config.probes.stream:
            self._tasks.append(asyncio.create_task(self._start_streams()))

    async def _start_streams(self) -> None:
        """One vendor WebSocket per non-production environment with credentials.

        Production streams are not opened here: the first production call needs a
        person's confirmation, which a headless runtime cannot ask for.
        """
        from console.boop.stream import VendorStream
        from console.credentials.guard import make_guard
        from console.metrics.probes import StreamProbe

        assert self.hub is not None
        store = self._store()
        for name, env in self.config.environments.items():
            if env.production:
                continue
            try:
                creds = await asyncio.wait_for(
                    asyncio.to_thread(store.resolve, name),
                    self.config.credentials.keyring_timeout_s + 1,
                )
            except Exception as exc:  # no credentials: no stream, said in the log
                log.info("no vendor stream for %s: %s", name, type(exc).__name__)
                continue
            stream = VendorStream(
                env.ws_url,
                creds.vendor_id.reveal(),
                creds.api_key.reveal(),
                dialect=env.dialect,
                guard=make_guard(env, self.config.safety),
                name=name,
            )
            stream.start()
            self._streams.append(stream)
            probe = StreamProbe(
                name,
                stream.status,
                self.hub.store,
                self.hub.clock,
                interval_s=min(5.0, self.config.probes.interval_s),
            )
            self._stream_probes.append(probe)
            self._tasks.append(asyncio.create_task(probe.run()))

    def _store(self) -> Any:
        if self.store is None:
            from console.credentials.store import CredentialStore

            self.store = CredentialStore(
                self.config.credentials, envs=self.config.environments
            )
        return self.store

    async def _refresh_credentials(self) -> None:
        store = self._store()
        while True:
            try:
                rows = await asyncio.to_thread(store.summaries)
                self._credentials = [
                    CredentialSummary(**dataclasses.asdict(r)) for r in rows
                ]
            except Exception as exc:  # a store failure must not stop the engine
                log.warning("credential summaries failed: %s", type(exc).__name__)
            await asyncio.sleep(CREDENTIAL_REFRESH_S)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for stream in self._streams:
            with contextlib.suppress(Exception):
                await stream.stop()
        for client in self._clients:
            with contextlib.suppress(Exception):
                await client.aclose()

    def health(self) -> Sequence[HealthState]:
        out = []
        for probe in self._probes:
            status = probe.status()
            fields = dataclasses.astuple(status)[:8]
            out.append(HealthState(*fields))
        return out

    def streams(self) -> Sequence[StreamState]:
        out = []
        for probe in self._stream_probes:
            fields = dataclasses.astuple(probe.status())[:6]
            out.append(StreamState(*fields))
        return out

    def probe_log(self) -> Sequence[str]:
        return [
            f"{h.env} ok={h.ok} latency_ms={h.latency_ms} version={h.version} "
            f"uptime_pct={h.uptime_pct} at={h.last_probe_at} error={h.error}"
            for h in self.health()
        ]

    def summaries(self) -> Sequence[CredentialSummary]:
        return list(self._credentials)


class ReloadingChecklist:
    """The real checklist, re-read when its file changes, so that items ticked with
    `boop-console check tick` in another process count at once."""

    def __init__(self, paths: StatePaths) -> None:
        self.paths = paths
        self._mtime: float | None = None
        self._checklist: Any = None

    def current(self) -> Any:
        """The checklist as the file says now (rebuilt only after a change)."""
        try:
            mtime: float | None = os.stat(self.paths.checklist).st_mtime
        except OSError:
            mtime = None
        if self._checklist is None or mtime != self._mtime:
            from console.engine.checklist import Checklist as RealChecklist
            from console.engine.checklist import journal_hook
            from console.engine.journal import Journal

            self._checklist = RealChecklist(
                self.paths.checklist,
                on_change=journal_hook(Journal(self.paths.journal)),
            )
            self._mtime = mtime
        return self._checklist

    def premigration_blockers(self) -> list[str]:
        blockers: list[str] = self.current().premigration_blockers()
        return blockers

    def summary(self) -> ChecklistSummary | None:
        summary: ChecklistSummary = self.current().summary()
        return summary


def build_engine(
    config: Config,
    *,
    who: str | None = None,
    state_paths: StatePaths | None = None,
    router: Router | None = None,
    metrics: MetricsSource | None = None,
    monitors: Monitors | None = None,
    checklist: Checklist | None = None,
    credentials: Credentials | None = None,
    inflight: InFlight | None = None,
    notifier: Notifier | None = None,
    secret_lookup: SecretLookup | None = None,
    credential_store: Any | None = None,
    probes: bool = True,
) -> Engine:
    """The engine for ``config``; pass any part to use it instead of the default.

    ``probes=False`` builds no metrics source, probes or credential look-ups (the
    one-shot CLI commands use it so that they never wait on the network).
    ``credential_store`` (a console.credentials CredentialStore) replaces the one
    built from ``[credentials]`` (the demo passes its in-memory store).
    """
    paths = state_paths or StatePaths(config.state_path())
    router = router or build_router(config, paths, secret_lookup)
    if notifier is None and config.notify.urls:
        notifier = AppriseNotifier(config.notify.urls, config.notify.timeout_s)
    if checklist is None:
        checklist = ReloadingChecklist(paths)
    if probes and metrics is None and config.metrics.url:
        from console.metrics.hub import build_hub

        metrics = build_hub(
            config.metrics,
            config.target,
            windows=[g.window_s for g in config.gates.values()],
            probe_interval_s=config.probes.interval_s,
        )
    if probes and monitors is None:
        runtime_monitors = RuntimeMonitors(
            config, metrics if hasattr(metrics, "store") else None, credential_store
        )
        monitors = runtime_monitors
        credentials = credentials or runtime_monitors
    return Engine(
        config,
        paths=paths,
        router=router,
        who=who,
        metrics=metrics,
        monitors=monitors,
        checklist=checklist,
        credentials=credentials,
        inflight=inflight,
        notifier=notifier,
    )
