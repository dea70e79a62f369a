"""The runtime's wiring: checklist verifiers and timeline from the engine, the
checklist re-read after another process ticks it, traffic_pct in the hub, and vendor
streams (production only after a confirmation) against the real simulator."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import keyring.backends.fail
import pytest

from console.config import Config, demo_config
from console.credentials.store import CredentialStore
from console.demo import confirm_simulated_production, demo_credential_store
from console.engine.checklist import DAY, HOUR, Checklist, Measurement, Status
from console.engine.journal import Journal
from console.engine.model import CredentialSummary, Role, Verdict
from console.engine.runtime import (
    NEEDS_CONFIRMATION,
    RuntimeChecklist,
    build_engine,
    credential_check,
)
from console.engine.state import CutoverState
from console.locations import StatePaths
from console.routing.base import RouterState
from console.sim.simulator import Simulator

pytestmark = pytest.mark.timeout(60)

T0 = 1_780_000_000.0  # 2026-05-28 20:26:40 UTC
LIVE = ("ven_live_abcdef", "sk_live_0123456789abcdef9f3a")


def config(tmp_path: Path) -> Config:
    return demo_config(
        "http://127.0.0.1:9/", "http://127.0.0.1:9/", "http://127.0.0.1:9/m", tmp_path
    )


def store_with(cfg: Config, environ: dict[str, str]) -> CredentialStore:
    return CredentialStore(
        cfg.credentials,
        environ=environ,
        keyring_backend=keyring.backends.fail.Keyring(),  # type: ignore[no-untyped-call]
        envs=cfg.environments,
    )


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeCredentials:
    """What RuntimeMonitors gives the checklist: the target's check and summaries."""

    check: Measurement | None = None
    rows: list[CredentialSummary] = field(default_factory=list)

    def target_credential_check(self) -> Measurement | None:
        return self.check

    def summaries(self) -> list[CredentialSummary]:
        return self.rows


def fake_engine(pct: float, verdicts: list[Verdict], **state: Any) -> Any:
    """The engine fields the runtime checklist reads, set directly."""
    return SimpleNamespace(
        role=Role.DRIVER,
        state=CutoverState(requested_pct=pct, stage=0 if pct else -1, **state),
        router_state=RouterState(effective_pct=pct),
        results={f"g{i}": SimpleNamespace(verdict=v) for i, v in enumerate(verdicts)},
    )


def views(checklist: RuntimeChecklist) -> dict[str, Any]:
    return {v.id: v for v in checklist.current().items()}


# -- credentials -----------------------------------------------------------------


def test_credential_check_wants_live_credentials_for_production(
    tmp_path: Path,
) -> None:
    cfg = config(tmp_path)
    prod = cfg.environments["prod"]

    def check(environ: dict[str, str]) -> Measurement:
        store = store_with(cfg, environ)
        try:
            found: Any = store.resolve("prod")
        except Exception as exc:
            found = exc
        return credential_check(found, "prod", prod, cfg)

    good = check({"BOOP_PROD_VENDOR_ID": LIVE[0], "BOOP_PROD_API_KEY": LIVE[1]})
    assert good == Measurement(True, "sk_live_…9f3a from environment BOOP_PROD_API_KEY")
    assert check({}) == Measurement(False, "no credentials for prod")
    dev = check({"BOOP_PROD_VENDOR_ID": "ven_dev_abcdef", "BOOP_PROD_API_KEY": LIVE[1]})
    assert dev.ok is False
    assert dev.detail == (
        "vendor id is a dev id but the API key is a live key; "
        "vendor id ven_dev_… is a dev credential and 127.0.0.1 is production; "
        "vendor id ven_dev_… is not a ven_live_ id"
    )
    plain = check({"BOOP_PROD_VENDOR_ID": "ven_abcdef", "BOOP_PROD_API_KEY": LIVE[1]})
    assert plain == Measurement(False, "vendor id ven_… is not a ven_live_ id")


def test_demo_store_labels_its_credentials_as_run_only(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    store = demo_credential_store(cfg, {"prod": LIVE})
    assert store.resolve("prod").source == "demo (this run only)"
    rows = {r.env: r for r in store.summaries()}
    assert rows["prod"].source == "demo (this run only)"
    assert rows["prod"].api_key_masked == "sk_live_…9f3a"
    assert rows["dev"].source == "none"


def test_demo_confirms_only_loopback_hosts() -> None:
    assert confirm_simulated_production("127.0.0.1") is True
    assert confirm_simulated_production("localhost") is True
    assert confirm_simulated_production("app.boop.it") is False


# -- checklist verifiers and timeline ---------------------------------------------


def test_pre_credentials_blocks_with_the_measured_reason(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    rc = RuntimeChecklist(StatePaths(tmp_path).ensure(), cfg, clock=Clock())
    assert (
        "pre.credentials: Production credentials obtained (tick with"
        in (rc.premigration_blockers()[1])
    )  # nothing looked up yet: the item is left alone
    rc.credentials = FakeCredentials(Measurement(False, "no credentials for prod"))
    assert rc.premigration_blockers()[1] == (
        "pre.credentials: Production credentials obtained (no credentials for prod)"
    )
    rc.credentials.check = Measurement(True, "sk_live_…9f3a from keyring")
    assert [b.split(":")[0] for b in rc.premigration_blockers()] == [
        "pre.testing",
        "pre.review",
        "pre.deployment",
    ]
    item = views(rc)["pre.credentials"]
    assert (item.status, item.who, item.note) == (
        Status.DONE,
        "console",
        "sk_live_…9f3a from keyring",
    )


def test_timeline_comes_from_the_journal_and_makes_items_due(
    tmp_path: Path,
) -> None:
    cfg = config(tmp_path)
    paths = StatePaths(tmp_path).ensure()
    journal = Journal(paths.journal)
    journal.append(ts=T0 - 600, who="ana", action="hold", why="x")
    journal.append(ts=T0 - 500, who="ana", action="shift", why="go",
                   before={"pct": 0.0}, after={"pct": 5.0})  # fmt: skip
    journal.append(ts=T0 - 100, who="ana", action="shift (override)", why="all",
                   before={"pct": 5.0}, after={"pct": 100.0})  # fmt: skip
    clock = Clock()
    rc = RuntimeChecklist(paths, cfg, clock=clock)
    rc.attach(fake_engine(5.0, [Verdict.PASS], level_changed_at=T0 - 50))
    rc.tick()
    assert rc.current().timeline.started_at == T0 - 500
    assert rc.current().timeline.full_at is None
    assert views(rc)["verify.health"].due_at == T0 - 500
    assert views(rc)["verify.health"].overdue

    rc.attach(fake_engine(100.0, [Verdict.PASS], level_changed_at=T0 - 50))
    clock.now += 1
    rc.tick()
    assert rc.current().timeline.full_at == T0 - 100
    assert views(rc)["day1.logs"].due_at == T0 - 100 + DAY
    saved = json.loads(paths.checklist.read_text())["timeline"]
    assert saved == {"started_at": T0 - 500, "full_at": T0 - 100}

    # First means first: a rollback and a later raise keep the dates.
    rc.attach(fake_engine(0.0, [Verdict.PASS]))
    clock.now += 1
    rc.tick()
    assert rc.current().timeline.started_at == T0 - 500


def test_day1_metrics_counts_clean_time_at_100_and_resets(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    clock = Clock()
    rc = RuntimeChecklist(StatePaths(tmp_path).ensure(), cfg, clock=clock)
    rc.attach(fake_engine(100.0, [Verdict.PASS, Verdict.PASS]))
    rc.tick()
    assert rc.clean_seconds_at_100() == 0.0
    clock.now += 20 * HOUR
    rc.tick()
    assert rc.clean_seconds_at_100() == 20 * HOUR
    assert views(rc)["day1.metrics"].status is Status.OPEN

    rc.engine.results["g1"].verdict = Verdict.WARN  # one gate not passing: restart
    clock.now += 1
    rc.tick()
    assert rc.clean_seconds_at_100() == 0.0
    rc.engine.results["g1"].verdict = Verdict.PASS
    clock.now += 1
    rc.tick()
    clock.now += 23 * HOUR
    rc.tick()
    assert rc.clean_seconds_at_100() == 23 * HOUR
    assert views(rc)["day1.metrics"].status is Status.OPEN
    clock.now += 1 * HOUR
    rc.tick()
    item = views(rc)["day1.metrics"]
    assert (item.status, item.who, item.note) == (
        Status.DONE,
        "console",
        "24 h at 100% with every gate passing",
    )
    entries = [e["action"] for e in Journal(rc.paths.journal).tail(50)]
    assert entries.count("checklist day1.metrics") == 1  # progress is not journaled

    rc.attach(fake_engine(50.0, [Verdict.PASS]))
    clock.now += 1
    rc.tick()
    assert rc.clean_seconds_at_100() is None


def test_rotation_follows_the_target_credentials_stored_at(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    clock = Clock()
    rc = RuntimeChecklist(StatePaths(tmp_path).ensure(), cfg, clock=clock)
    stored = T0 - 400 * DAY
    rc.credentials = FakeCredentials(
        rows=[CredentialSummary("prod", "ven_live_…", "sk_live_…9f3a", "k", stored)]
    )
    rc.attach(fake_engine(0.0, []))
    rc.tick()
    item = views(rc)["ongoing.rotation"]
    assert (item.status, item.note, item.due_at, item.overdue) == (
        Status.OPEN,
        "production key stored 2025-04-23, rotation was due 2026-04-23",
        stored + 365 * DAY,
        True,
    )
    rc.credentials.rows[0] = CredentialSummary("prod", None, None, "k", T0 - DAY)
    clock.now += VERIFIER_S
    rc.tick()
    item = views(rc)["ongoing.rotation"]
    assert (item.status, item.note, item.overdue) == (
        Status.DONE,
        "production key stored 2026-05-27, rotation due 2027-05-27",
        False,
    )


VERIFIER_S = 5.0


def test_observers_leave_the_checklist_to_the_driver(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    paths = StatePaths(tmp_path).ensure()
    rc = RuntimeChecklist(paths, cfg, clock=Clock())
    engine = fake_engine(100.0, [Verdict.PASS])
    engine.role = Role.OBSERVER
    rc.attach(engine)
    rc.tick()
    assert rc.current().timeline.started_at is None
    assert not paths.checklist.exists()


def test_an_unreadable_checklist_blocks_but_never_raises(tmp_path: Path) -> None:
    paths = StatePaths(tmp_path).ensure()
    paths.checklist.write_text("{not json")
    rc = RuntimeChecklist(paths, config(tmp_path))
    blockers = rc.premigration_blockers()
    assert len(blockers) == 1
    assert blockers[0].startswith("checklist unreadable: ")
    assert rc.summary() is None


# -- the checklist re-reads its file ----------------------------------------------

TICK_ELSEWHERE = """
import sys
from pathlib import Path
from console.engine.checklist import Checklist
Checklist(Path(sys.argv[1])).tick("pre.review", who="bo@jump2", note="SEC-1 ok")
"""


def test_a_tick_in_another_process_counts_and_survives_our_next_write(
    tmp_path: Path,
) -> None:
    path = tmp_path / "checklist.json"
    ours = Checklist(path)
    ours.tick("pre.testing", who="ana@jump1", note="all nine on dev")
    subprocess.run(
        [sys.executable, "-c", TICK_ELSEWHERE, str(path)], check=True, timeout=30
    )
    review = next(v for v in ours.items() if v.id == "pre.review")
    assert (review.status, review.who, review.note) == (
        Status.DONE,
        "bo@jump2",
        "SEC-1 ok",
    )
    ours.tick("pre.deployment", who="ana@jump1", note="plan v3")
    saved = json.loads(path.read_text())["items"]
    assert sorted(saved) == ["pre.deployment", "pre.review", "pre.testing"]
    assert ours.reload_if_changed() is False  # our own write is not news

    path.unlink()  # moved aside: the checklist starts empty
    assert ours.summary().done == 0


# -- against the simulator --------------------------------------------------------


async def wait_for(cond: Callable[[], bool], timeout: float) -> None:
    start = time.monotonic()
    while not cond():
        if time.monotonic() - start > timeout:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def streams(engine: Any) -> dict[str, Any]:
    return {s.env: s for s in engine.monitors.streams()}


async def test_streams_for_every_environment_and_traffic_in_the_hub(
    tmp_path: Path,
) -> None:
    asked: list[str] = []

    def confirm(host: str) -> bool:
        asked.append(host)
        return True

    async with Simulator(routing_file=tmp_path / "routing.json", seed=5) as sim:
        cfg = demo_config(sim.dev_url, sim.prod_url, sim.metrics_url, tmp_path)
        store = demo_credential_store(cfg, sim.credentials)
        engine: Any = build_engine(
            cfg, who="ana@jump1", credential_store=store, confirm_production=confirm
        )
        await engine.start()
        try:
            await wait_for(
                lambda: (
                    all(
                        s.state == "connected" and s.rtt_ms is not None
                        for s in engine.monitors.streams()
                    )
                    and len(engine.monitors.streams()) == 2
                ),
                timeout=15,
            )
            assert asked == ["127.0.0.1"]
            assert streams(engine)["prod"].reconnects == 0
            hub = engine.metrics
            rtt = hub.measure("ws_rtt_ms", 60, time.time())
            assert rtt.value is not None and 0 < rtt.value < 1000
            assert rtt.error is None

            shifted = await engine.shift(5, who="ana@jump1", reason="go", override=True)
            assert shifted.ok, shifted.message
            await wait_for(
                lambda: any(v == 5.0 for _, v in hub.series("traffic_pct", 0)), 5
            )
            assert engine.snapshot().series["traffic_pct"][-1][1] == 5.0
            summary = engine.snapshot().checklist
            assert summary is not None
            entries = Journal(engine.paths.journal).tail(20)
            shift_ts = next(
                e["ts"] for e in entries if e["action"] == "shift (override)"
            )
            checklist = engine.checklist.current()
            await wait_for(lambda: checklist.timeline.started_at is not None, 3)
            assert checklist.timeline.started_at == shift_ts
            await wait_for(lambda: len(engine.credentials.summaries()) == 2, 5)
            sources = {c.source for c in engine.snapshot().credentials}
            assert sources == {"demo (this run only)"}
        finally:
            await engine.stop()


@pytest.mark.parametrize(
    ("confirm", "state"),
    [(None, NEEDS_CONFIRMATION), (lambda host: False, "not confirmed")],
)
async def test_production_stream_waits_for_a_confirmation(
    tmp_path: Path, confirm: Callable[[str], bool] | None, state: str
) -> None:
    async with Simulator(routing_file=tmp_path / "routing.json", seed=6) as sim:
        cfg = demo_config(sim.dev_url, sim.prod_url, sim.metrics_url, tmp_path)
        store = demo_credential_store(cfg, sim.credentials)
        engine: Any = build_engine(
            cfg, credential_store=store, confirm_production=confirm
        )
        await engine.start()
        try:
            await wait_for(
                lambda: (
                    streams(engine)["dev"].state == "connected"
                    and streams(engine)["prod"].state == state
                ),
                timeout=15,
            )
            prod = streams(engine)["prod"]
            assert prod.rtt_ms is None
            assert "production host 127.0.0.1" in (prod.error or "")
            assert engine.snapshot().streams[1].state == state
            sessions = [s for s in engine.monitors._streams if s.name == "prod"]
            assert sessions == []
        finally:
            await engine.stop()
