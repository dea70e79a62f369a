"""Compose an :class:`Engine` from a config: router, metrics, probes, checklist,
credentials and notifier. Hosts (TUI, guard, CLI) call :func:`build_engine`.

Every part can be passed in instead (the demo and tests do); what is not passed is
built from the config. Nothing here contacts anything until the engine starts.

Besides building, the runtime keeps the checklist current from what the engine
knows (:class:`RuntimeChecklist`): when traffic first left 0% and first reached
100%, seconds at 100% with every gate passing, and whether the target's credentials
resolve and fit the environment. Credential look-ups run in a thread; the checklist's
verifiers only read what those look-ups cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from console.config import Config, EnvironmentConfig
from console.engine.checklist import (
    DAY,
    HOUR,
    Measurement,
    measure_full_traffic,
    measure_rotation,
)
from console.engine.engine import Engine
from console.engine.model import (
    ChecklistSummary,
    CredentialSummary,
    HealthState,
    Role,
    StreamState,
    Verdict,
)
from console.engine.notify import AppriseNotifier
from console.engine.ports import Checklist, Credentials, InFlight, Monitors, Notifier
from console.errors import BoopError, ConsoleError, StateError
from console.locations import StatePaths
from console.metrics.base import MetricsSource
from console.routing import build_router
from console.routing.base import Router
from console.routing.webhook import (
    SECRET_KEYRING_PREFIX,
    SecretLookup,
    secret_env_var,
)

log = logging.getLogger("console.engine")

CREDENTIAL_REFRESH_S = 60.0
CHECKLIST_TICK_S = 1.0
"""How often the driver brings the checklist's timeline and clean time up to date."""
VERIFIER_REFRESH_S = 5.0
NEEDS_CONFIRMATION = "needs confirmation"
"""Stream state of a production stream nobody has confirmed (headless hosts)."""

ConfirmProduction = Callable[[str], bool]
"""confirm(host) -> True to allow the first production call of the run."""


def credential_check(
    found: Any, env: str, env_cfg: EnvironmentConfig, config: Config
) -> Measurement:
    """The pre.credentials verdict for ``found`` (ResolvedCredentials, or the
    CredentialError that resolving raised): present, well formed, fit for the
    environment, and live (``ven_live_``/``sk_live_``) when it is production."""
    from console.credentials.formats import KeyKind, format_problems, key_kind
    from console.credentials.guard import credential_problems, is_production

    if isinstance(found, BaseException):
        return Measurement(False, f"no credentials for {env}")
    vendor_id, api_key = found.vendor_id.reveal(), found.api_key.reveal()
    problems = format_problems(vendor_id, api_key) + credential_problems(
        env_cfg.base_url, vendor_id, api_key, env_cfg, config.safety
    )
    if is_production(env_cfg.base_url, env_cfg, config.safety):
        if key_kind(vendor_id) is not KeyKind.LIVE:
            problems.append(f"vendor id {found.vendor_id} is not a ven_live_ id")
        if key_kind(api_key) is not KeyKind.LIVE and not any(
            "API key" in p for p in problems
        ):
            problems.append(f"API key {found.api_key} is not a sk_live_ key")
    if problems:
        return Measurement(False, "; ".join(dict.fromkeys(problems)))
    return Measurement(True, f"{found.api_key} from {found.source}")


def _refusal_as_stream_error(
    guard: Callable[[str, str, str], None],
) -> Callable[[str, str, str], None]:
    """The credential guard, its refusals (a config matter: wrong credentials for
    the environment, production not confirmed) turned into StreamRejected, so the
    stream gives up with one clear log line and shows it as its error instead of
    logging a traceback as an unexpected failure."""
    from console.boop.errors import StreamRejected
    from console.errors import CredentialError

    def checked(url: str, vendor_id: str, api_key: str) -> None:
        try:
            guard(url, vendor_id, api_key)
        except CredentialError as exc:
            raise StreamRejected(exc.message, hint=exc.hint) from exc

    return checked


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


class RuntimeMonitors:
    """Health probes of every environment, vendor streams and cached credentials.

    Credential look-ups may block (keyring, commands), so they run in a thread every
    minute and :meth:`summaries` only returns the cache. A production stream opens
    only after ``confirm_production(host)`` said yes (asked in a thread: it may be a
    prompt); without it the stream is shown as 'needs confirmation'.
    """

    def __init__(
        self,
        config: Config,
        hub: Any | None,
        credential_store: Any | None = None,
        *,
        confirm_production: ConfirmProduction | None = None,
        checklist: RuntimeChecklist | None = None,
    ) -> None:
        self.config = config
        self.hub = hub
        self.store = credential_store
        self.confirm_production = confirm_production
        self.checklist = checklist
        self._probes: list[Any] = []
        self._stream_probes: dict[str, Any] = {}
        self._stream_rows: dict[str, StreamState] = {}
        self._streams: list[Any] = []
        self._clients: list[Any] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._credentials: list[CredentialSummary] = []
        self._target_check: Measurement | None = None

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._refresh_credentials()))
        if self.checklist is not None:
            self._tasks.append(asyncio.create_task(self._watch_checklist()))
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
            for name in self.config.environments:
                self._stream_rows[name] = StreamState(name, "connecting")
            self._tasks.append(asyncio.create_task(self._start_streams()))

    async def _start_streams(self) -> None:
        """One vendor WebSocket per environment whose credentials resolve; each
        environment is tried on its own, so a prompt for production never delays
        the others."""
        await asyncio.gather(
            *(
                self._start_stream(name, env)
                for name, env in self.config.environments.items()
            )
        )

    async def _start_stream(self, name: str, env: EnvironmentConfig) -> None:
        from console.boop.stream import VendorStream
        from console.credentials.guard import (
            ProductionConfirmation,
            ProductionNotConfirmed,
            credential_problems,
            is_production,
            make_guard,
        )
        from console.metrics.probes import StreamProbe

        assert self.hub is not None
        safety = self.config.safety
        try:
            creds = await asyncio.wait_for(
                asyncio.to_thread(self._store().resolve, name),
                self.config.credentials.keyring_timeout_s + 1,
            )
        except Exception as exc:  # no credentials: no stream, said in its row
            log.info("no vendor stream for %s: %s", name, type(exc).__name__)
            self._stream_rows[name] = StreamState(
                name, "no credentials", error=f"no credentials for {name}"
            )
            return
        vendor_id, api_key = creds.vendor_id.reveal(), creds.api_key.reveal()
        problems = credential_problems(env.ws_url, vendor_id, api_key, env, safety)
        if problems:
            self._stream_rows[name] = StreamState(
                name, "refused", error="; ".join(problems)
            )
            return
        confirmation: ProductionConfirmation | None = None
        if is_production(env.ws_url, env, safety):
            host = urlsplit(env.ws_url).hostname or env.ws_url
            why = f"production host {host}: the first call needs a person's yes"
            self._stream_rows[name] = StreamState(name, NEEDS_CONFIRMATION, error=why)
            if self.confirm_production is None:
                log.info("%s stream not opened: %s and nobody can be asked", name, why)
                return
            confirmation = ProductionConfirmation(self.confirm_production)
            try:
                # A prompt or a dialog may take a person's time: not on the loop.
                await asyncio.to_thread(confirmation.ensure, host)
            except ProductionNotConfirmed as exc:
                self._stream_rows[name] = StreamState(
                    name, "not confirmed", error=exc.message
                )
                return
        stream = VendorStream(
            env.ws_url,
            vendor_id,
            api_key,
            dialect=env.dialect,
            guard=_refusal_as_stream_error(make_guard(env, safety, confirmation)),
            name=name,
        )
        stream.start()
        self._streams.append(stream)
        interval = min(5.0, self.config.probes.interval_s)
        probe = StreamProbe(
            name, stream.status, self.hub.store, self.hub.clock, interval_s=interval
        )
        self._stream_probes[name] = probe
        self._stream_rows.pop(name, None)
        self._tasks.append(asyncio.create_task(probe.run()))
        self._tasks.append(asyncio.create_task(self._ping(stream, interval)))

    async def _ping(self, stream: Any, interval_s: float) -> None:
        """Measure the round trip each interval (the library's keepalive alone
        would give a first value only after 20 s)."""
        while True:
            if stream.connected:
                with contextlib.suppress(BoopError):
                    await stream.ping(timeout_s=self.config.probes.deadline_s)
            await asyncio.sleep(interval_s)

    def _store(self) -> Any:
        if self.store is None:
            from console.credentials.store import CredentialStore

            self.store = CredentialStore(
                self.config.credentials, envs=self.config.environments
            )
        return self.store

    def _read_credentials(self) -> tuple[list[CredentialSummary], Measurement]:
        """Blocking: every environment's summary and the target's check."""
        store = self._store()
        rows = [
            CredentialSummary(**dataclasses.asdict(r))
            for r in store.summaries(self.config.environments)
        ]
        target = self.config.target
        try:
            found: Any = store.resolve(target)
        except ConsoleError as exc:
            found = exc
        check = credential_check(found, target, self.config.target_env(), self.config)
        return rows, check

    async def _refresh_credentials(self) -> None:
        while True:
            try:
                rows, check = await asyncio.to_thread(self._read_credentials)
                self._credentials, self._target_check = rows, check
            except Exception as exc:  # a store failure must not stop the engine
                log.warning("credential summaries failed: %s", type(exc).__name__)
            await asyncio.sleep(CREDENTIAL_REFRESH_S)

    async def _watch_checklist(self) -> None:
        assert self.checklist is not None
        while True:
            try:
                self.checklist.tick()
            except Exception:  # the checklist must never stop the engine
                log.exception("checklist update failed")
            await asyncio.sleep(CHECKLIST_TICK_S)

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
        """One row per environment: the probe's sample once a stream runs, else
        why there is none ('needs confirmation', 'no credentials', ...)."""
        out = []
        for name in self.config.environments:
            probe = self._stream_probes.get(name)
            if probe is not None:
                fields = dataclasses.astuple(probe.status())[:6]
                out.append(StreamState(*fields))
            elif name in self._stream_rows:
                out.append(self._stream_rows[name])
        return out

    def probe_log(self) -> Sequence[str]:
        lines = [
            f"{h.env} ok={h.ok} latency_ms={h.latency_ms} version={h.version} "
            f"uptime_pct={h.uptime_pct} at={h.last_probe_at} error={h.error}"
            for h in self.health()
        ]
        lines += [
            f"{s.env} stream={s.state} rtt_ms={s.rtt_ms} reconnects={s.reconnects} "
            f"error={s.error}"
            for s in self.streams()
        ]
        return lines

    def summaries(self) -> Sequence[CredentialSummary]:
        return list(self._credentials)

    def target_credential_check(self) -> Measurement | None:
        """The last pre.credentials verdict (None before the first look-up)."""
        return self._target_check


class RuntimeChecklist:
    """The checklist with the verifiers and timeline the running engine supplies.

    The checklist re-reads its own file when another process changed it, so ticks
    made with ``boop-console check tick`` count at once. After :meth:`attach`, the
    driver's :meth:`tick` (every second, from the runtime's loop, and from
    :meth:`summary`) records when traffic first left 0% and first reached 100%,
    counts seconds at 100% with every gate passing, and refreshes the verifiers.
    An unreadable checklist file never stops the engine: it is a blocker.
    """

    def __init__(
        self,
        paths: StatePaths,
        config: Config | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.paths = paths
        self.config = config
        self.clock = clock
        self.engine: Any = None
        self.credentials: Any = None
        """Gives ``target_credential_check()`` and ``summaries()`` (RuntimeMonitors)."""
        self._checklist: Any = None
        self._error: str | None = None
        self._clean_since: float | None = None
        self._at_full = False
        self._next_tick = 0.0
        self._next_refresh = 0.0

    def attach(self, engine: Any) -> None:
        """The engine whose state, verdicts and role the checklist follows."""
        self.engine = engine

    def current(self) -> Any:
        """The checklist (built on first use), or None while its file is unreadable."""
        if self._checklist is None:
            from console.engine.checklist import Checklist as RealChecklist
            from console.engine.checklist import journal_hook
            from console.engine.journal import Journal

            try:
                self._checklist = RealChecklist(
                    self.paths.checklist,
                    verifiers={
                        "pre.credentials": self._verify_credentials,
                        "day1.metrics": self._verify_full_traffic,
                        "ongoing.rotation": self._verify_rotation,
                    },
                    on_change=journal_hook(Journal(self.paths.journal)),
                    clock=self.clock,
                )
                self._error = None
            except StateError as exc:
                if self._error != exc.message:
                    log.error("%s", exc.message)
                self._error = exc.message
        return self._checklist

    # -- verifiers: fast, they read what the engine and the runtime hold -------------

    def _verify_credentials(self) -> Measurement:
        check = None
        if self.credentials is not None:
            check = self.credentials.target_credential_check()
        return check or Measurement(None, "credentials not looked up yet")

    def _target_stored_at(self) -> float | None:
        if self.credentials is None or self.config is None:
            return None
        for row in self.credentials.summaries():
            if row.env == self.config.target:
                stored_at: float | None = row.stored_at
                return stored_at
        return None

    def _verify_rotation(self) -> Measurement:
        stored_at = self._target_stored_at()
        measured = measure_rotation(stored_at, self.clock())
        if stored_at is None or measured.ok is None:
            return measured
        # A detail that changes only with the facts: one journal entry per change.
        due = stored_at + 365 * DAY
        when = "due" if measured.ok else "was due"
        detail = f"production key stored {_day(stored_at)}, rotation {when} {_day(due)}"
        return Measurement(measured.ok, detail, stored_at)

    def _verify_full_traffic(self) -> Measurement:
        clean = self.clean_seconds_at_100()
        measured = measure_full_traffic(clean)
        if measured.ok:
            return Measurement(
                True, f"{DAY / HOUR:.0f} h at 100% with every gate passing"
            )
        # Not yet 24 h is no failure: the item stays as it is until then.
        return Measurement(None, measured.detail)

    def clean_seconds_at_100(self) -> float | None:
        """Seconds at 100% with every gate passing (None: not at 100%). Counted
        by this process: a restart starts again, which errs on the safe side."""
        if not self._at_full:
            return None
        if self._clean_since is None:
            return 0.0
        return max(0.0, self.clock() - self._clean_since)

    # -- following the engine ----------------------------------------------------------

    def tick(self, now: float | None = None) -> None:
        """Bring timeline, clean time and measured items up to date (driver only,
        at most once a second)."""
        now = self.clock() if now is None else now
        engine = self.engine
        if engine is None or engine.role is not Role.DRIVER or now < self._next_tick:
            return
        self._next_tick = now + CHECKLIST_TICK_S
        checklist = self.current()
        if checklist is None:
            return
        self._follow_clean_time(engine, now)
        self._follow_timeline(engine, checklist, now)
        if now >= self._next_refresh:
            self._next_refresh = now + VERIFIER_REFRESH_S
            checklist.refresh()

    def _follow_clean_time(self, engine: Any, now: float) -> None:
        st = engine.state
        effective = engine.router_state.effective_pct
        # Unknown effective share or verdicts count as not clean (fail closed).
        self._at_full = (
            st.requested_pct >= 100
            and not st.rolled_back
            and effective is not None
            and effective >= 99.5
        )
        results = list(engine.results.values())
        passing = bool(results) and all(r.verdict is Verdict.PASS for r in results)
        if self._at_full and passing:
            if self._clean_since is None:
                self._clean_since = now
        else:
            self._clean_since = None

    def _follow_timeline(self, engine: Any, checklist: Any, now: float) -> None:
        st = engine.state
        started, full = checklist.timeline.started_at, checklist.timeline.full_at
        if started is None and st.requested_pct > 0:
            started = self._first_shift(lambda pct: pct > 0) or st.level_changed_at
            started = started or now
        if full is None and st.requested_pct >= 100:
            full = self._first_shift(lambda pct: pct >= 100) or st.level_changed_at
            full = full or now
        if (started, full) != (
            checklist.timeline.started_at,
            checklist.timeline.full_at,
        ):
            log.info("checklist timeline: started %s, full %s", started, full)
            checklist.set_timeline(started, full)

    def _first_shift(self, reached: Callable[[float], bool]) -> float | None:
        """When the journal first records a shift to a share that ``reached``
        accepts (read once per transition, not on every tick)."""
        from console.engine.checklist import read_journal

        try:
            entries, _ = read_journal(self.paths.journal)
        except StateError:
            return None
        for entry in entries:
            after: Any = entry.get("after")
            ts: Any = entry.get("ts")
            if not str(entry.get("action", "")).startswith("shift"):
                continue
            pct: Any = after.get("pct") if isinstance(after, dict) else None
            numbers = isinstance(pct, int | float) and isinstance(ts, int | float)
            if numbers and reached(float(pct)):
                return float(ts)
        return None

    # -- the engine's Checklist port ---------------------------------------------------

    def premigration_blockers(self) -> list[str]:
        checklist = self.current()
        if checklist is None:
            return [f"checklist unreadable: {self._error}"]
        blockers: list[str] = checklist.premigration_blockers()
        return blockers

    def summary(self) -> ChecklistSummary | None:
        self.tick()
        checklist = self.current()
        if checklist is None:
            return None
        summary: ChecklistSummary = checklist.summary()
        return summary


ReloadingChecklist = RuntimeChecklist
"""The earlier name (the checklist now re-reads its own file)."""


INFLIGHT_METRIC = "concurrent_users"
"""The vendor application's ``boop_concurrent_users``: authentications in progress."""


class MetricsInFlight:
    """Rollback's in-flight count from the metrics source (:class:`InFlight` and
    :class:`InFlightGauge`): the latest ``concurrent_users`` value, None when the
    source has none, failed or is older than ``metrics.stale_after_s``.

    The contexts belong to the vendor application (file and webhook routers) and
    their connections to HAProxy (its router cuts them): this console cannot cancel
    them, so :meth:`cancel_inflight` cancels nothing and returns 0.
    """

    def __init__(
        self,
        metrics: MetricsSource,
        config: Config,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.metrics = metrics
        self.poll_s = config.metrics.interval_s
        self.timeout_s = config.metrics.timeout_s
        self.stale_after_s = config.metrics.stale_after_s
        self.clock = clock

    def sample(self) -> tuple[int, float] | None:
        """(count, age of the reading in seconds), or None when unknown/stale."""
        try:
            m = self.metrics.measure(INFLIGHT_METRIC, self.stale_after_s, self.clock())
        except (ConsoleError, KeyError, ValueError) as exc:
            log.debug("in-flight gauge unreadable: %s", exc)
            return None
        if not m.usable or m.value is None or m.age_s is None:
            return None
        if m.age_s > self.stale_after_s or m.value < 0:
            return None
        return round(m.value), m.age_s

    def inflight(self) -> int | None:
        """The latest count, None when unknown or stale."""
        found = self.sample()
        return None if found is None else found[0]

    async def refresh(self) -> None:
        """Poll the source once within ``metrics.timeout_s``; a failure leaves the
        count unknown (rollback must not stop on metrics)."""
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.metrics.poll()
        except (ConsoleError, TimeoutError) as exc:
            log.debug("in-flight gauge poll failed: %s", exc or "deadline passed")

    async def cancel_inflight(self, reason: str) -> int:
        """Nothing to cancel from here: the vendor application finishes or times
        out its own contexts. Returns 0."""
        log.info("in-flight contexts left to the vendor application (%s)", reason)
        return 0


def named_secret_lookup(
    config: Config, *, keyring_store: Any | None = None
) -> SecretLookup:
    """Find a named secret (the webhook router's ``auth_secret``): the environment
    variable BOOP_CONSOLE_SECRET_<NAME> first, else the keyring item
    ``secret/<name>`` in ``[credentials] service`` (time-bounded). A value found
    is kept for the process: rollback must not wait on the keyring twice."""
    found: dict[str, str] = {}

    def lookup(name: str) -> str | None:
        import os

        from console.credentials.masking import register_secret

        if name in found:
            return found[name]
        value = os.environ.get(secret_env_var(name)) or None
        if value is None:
            store = keyring_store
            if store is None:
                from console.credentials.keyring_store import KeyringStore

                cc = config.credentials
                store = KeyringStore(cc.service, cc.keyring_timeout_s)
            try:
                value = store.get(SECRET_KEYRING_PREFIX + name) or None
            except ConsoleError as exc:
                log.warning("secret %r not read from the keyring: %s", name, exc)
                value = None
        if value is not None:
            register_secret(value)  # never shown in a log line or message
            found[name] = value
        return value

    return lookup


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
    confirm_production: ConfirmProduction | None = None,
) -> Engine:
    """The engine for ``config``; pass any part to use it instead of the default.

    ``probes=False`` builds no metrics source, probes or credential look-ups (the
    one-shot CLI commands use it so that they never wait on the network).
    ``credential_store`` (a console.credentials CredentialStore) replaces the one
    built from ``[credentials]`` (the demo passes its in-memory store).
    ``confirm_production(host) -> bool`` is asked (in a thread) before the vendor
    stream of a production environment opens; None (headless hosts) leaves that
    stream unopened, shown as 'needs confirmation'.
    With a metrics source and no ``inflight``, rollback step 2 counts what is in
    flight from ``concurrent_users`` (:class:`MetricsInFlight`).
    """
    paths = state_paths or StatePaths(config.state_path())
    if router is None:
        lookup = secret_lookup or named_secret_lookup(config)
        router = build_router(config, paths, lookup)
    if notifier is None and config.notify.urls:
        notifier = AppriseNotifier(config.notify.urls, config.notify.timeout_s)
    runtime_checklist: RuntimeChecklist | None = None
    if checklist is None:
        checklist = runtime_checklist = RuntimeChecklist(paths, config)
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
            config,
            metrics if hasattr(metrics, "store") else None,
            credential_store,
            confirm_production=confirm_production,
            checklist=runtime_checklist,
        )
        monitors = runtime_monitors
        credentials = credentials or runtime_monitors
        if runtime_checklist is not None:
            runtime_checklist.credentials = runtime_monitors
    if inflight is None and metrics is not None:
        # Rollback step 2 waits on the vendor application's in-flight gauge.
        inflight = MetricsInFlight(metrics, config)
    engine = Engine(
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
    if runtime_checklist is not None:
        runtime_checklist.attach(engine)
    return engine
