"""SVG snapshots of the console at fixed times (the fake engine's NOW clock).

Update after an intended change with
`pytest tests/ui/test_ui_snapshots.py --snapshot-update`, then look at the SVGs.
"""

from __future__ import annotations

from typing import Any

import pytest
from ui_fake_engine import NOW, FakeEngine, make_snapshot

from console.engine.model import Overall, Verdict
from console.ui.app import ConsoleApp

from ui_fake_engine import gate  # isort: skip

pytestmark = pytest.mark.timeout(60)


def app_for(engine: FakeEngine, **kwargs: Any) -> ConsoleApp:
    return ConsoleApp(engine, who="alice@jump", clock=lambda: NOW, **kwargs)


def test_main_80x24(snap_compare: Any) -> None:
    """At 80x24, no scrolling: a status bar reading 'PROD (production) 5.0% stage
    1/5 │ hold 12m03s │ OK │ driver' with '^R ROLL BACK' below; the traffic bar
    with 'next 10%'; checklist 14/16 and both environments' masked keys; two charts
    (auth ok %, payments ok %) with their target lines; dev and prod health; six
    PASS gates with their whys; the last journal events."""
    assert snap_compare(app_for(FakeEngine()), terminal_size=(80, 24))


def test_main_160x48(snap_compare: Any) -> None:
    """At 160x48 the same panes, with all eight charts in a 4x2 grid and the
    gates' whys in full."""
    assert snap_compare(app_for(FakeEngine()), terminal_size=(160, 48))


def test_rolled_back_80x24(snap_compare: Any) -> None:
    """After Ctrl+R: the status verdict 'ROLLED BACK' in reverse red, traffic 0.0%
    with 'a re-arms', and a red-bordered panel with the reason ('^R pressed in the
    console'), six rollback steps with durations, the evidence path and the
    re-arm hint; a notification 'rolled back to 0%'."""
    assert snap_compare(
        app_for(FakeEngine()), press=["ctrl+r", "_"], terminal_size=(80, 24)
    )


def test_confirm_raise_with_warning_80x24(snap_compare: Any) -> None:
    """Enter on the slider while auth latency warns: a dialog 'RAISE traffic to
    BOOP: 5% → 10%', each gate with its verdict (one '! WARN' line with [1/2]),
    the blocker 'gate auth_latency warns', and an empty reason field."""
    snap = make_snapshot(
        overall=Overall.WARN,
        gates=(
            *make_snapshot().gates[:1],
            gate("auth_latency", "auth_p95_s", Verdict.WARN, 2.4, "<", 2.0),
            *make_snapshot().gates[2:],
        ),
    )
    engine = FakeEngine(snap, blockers=["gate auth_latency warns"])
    assert snap_compare(app_for(engine), press=["enter", "_"], terminal_size=(80, 24))


def test_low_bandwidth_80x24(snap_compare: Any) -> None:
    """--low-bandwidth: the same panes, with numbers and one-line sparklines in
    place of the charts (auth ok % 99.81 (target 99.5), ...)."""
    engine = FakeEngine()
    assert snap_compare(app_for(engine, low_bandwidth=True), terminal_size=(80, 24))


def test_tiny_40x12(snap_compare: Any) -> None:
    """Below 80x24: a short summary: PROD 5.0%, stage 1/5 holding, OK, the hold
    countdown, 'not passing: none', the role, '^R = ROLL BACK'."""
    assert snap_compare(app_for(FakeEngine()), terminal_size=(40, 12))
