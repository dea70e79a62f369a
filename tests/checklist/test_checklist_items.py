"""The checklist: blockers, ticks, measured items, due dates, persistence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.engine.checklist import (
    DAY,
    HOUR,
    ITEM_IDS,
    Checklist,
    ChecklistChange,
    Measurement,
    Status,
    measure_full_traffic,
    measure_rotation,
)
from console.engine.model import ChecklistSummary
from console.errors import StateError

T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_blockers_name_every_open_prerequisite(tmp_path: Path, clock: Clock) -> None:
    creds = Measurement(False, "no credentials for prod")
    checklist = Checklist(
        tmp_path / "checklist.json",
        verifiers={"pre.credentials": lambda: creds},
        clock=clock,
    )
    assert checklist.premigration_blockers() == [
        "pre.testing: BOOP testing checklist completed on dev (tick with "
        "`boop-console check tick pre.testing --note ...`)",
        "pre.credentials: Production credentials obtained (no credentials for prod)",
        "pre.review: Security and code review approved (tick with "
        "`boop-console check tick pre.review --note ...`)",
        "pre.deployment: Production deployment plan final (tick with "
        "`boop-console check tick pre.deployment --note ...`)",
    ]
    for item in ("pre.testing", "pre.review", "pre.deployment"):
        checklist.tick(item, who="ana@jump1", note="done, see wiki/cutover")
    assert checklist.premigration_blockers() == [
        "pre.credentials: Production credentials obtained (no credentials for prod)"
    ]
    creds = Measurement(True, "sk_live_…9f3a from keyring (SecretService)")
    assert checklist.premigration_blockers() == []
    summary = checklist.summary()
    assert summary == ChecklistSummary(
        done=4,
        total=21,
        premigration_done=True,
        overdue=0,
        next_items=(
            "verify.health: Production health check answers",
            "verify.auth: Controlled authentication test passed",
            "day1.metrics: Monitor all metrics: 24 h at 100% with every gate passing",
        ),
    )


def test_testing_checklist_is_the_detail_of_pre_testing(tmp_path: Path) -> None:
    view = Checklist(tmp_path / "c.json").items()[0]
    assert view.id == "pre.testing"
    assert [line.split(":")[0] for line in view.detail] == [
        "setup.credentials",
        "setup.base_url",
        "setup.health",
        "func.basic_auth",
        "func.payment_auth",
        "func.age_verification",
        "err.user_not_found",
        "err.insufficient_balance",
        "err.missing_attributes",
    ]


def test_tick_needs_a_note_and_is_saved_with_who_and_when(
    tmp_path: Path, clock: Clock
) -> None:
    path = tmp_path / "checklist.json"
    changes: list[ChecklistChange] = []
    checklist = Checklist(path, on_change=changes.append, clock=clock)
    with pytest.raises(StateError, match="needs a note"):
        checklist.tick("pre.review", who="ana@jump1", note="  ")
    with pytest.raises(StateError, match=r"No checklist item 'pre\.nothing'"):
        checklist.tick("pre.nothing", who="ana@jump1", note="x")
    checklist.tick("pre.review", who="ana@jump1", note="SEC-123 approved")
    doc = json.loads(path.read_text())
    assert doc["format_version"] == 1
    assert doc["items"]["pre.review"] == {
        "status": "done",
        "who": "ana@jump1",
        "at": T0,
        "note": "SEC-123 approved",
    }
    assert changes == [
        ChecklistChange(
            "pre.review",
            "Security and code review approved",
            "ana@jump1",
            "open",
            "done",
            "SEC-123 approved",
            T0,
        )
    ]
    # A second instance reads the same state back.
    again = Checklist(path, clock=clock).items()
    review = next(v for v in again if v.id == "pre.review")
    assert (review.status, review.who, review.at) == (Status.DONE, "ana@jump1", T0)
    assert not list(tmp_path.glob(".checklist-*"))  # no temp file left behind


def test_due_dates_and_overdue_flags_follow_the_timeline(
    tmp_path: Path, clock: Clock
) -> None:
    checklist = Checklist(tmp_path / "c.json", clock=clock)
    views = {v.id: v for v in checklist.items()}
    assert views["verify.health"].due_at is None
    assert views["day1.logs"].due_at is None

    started, full = T0 + HOUR, T0 + 5 * DAY
    checklist.set_timeline(started, full)
    clock.now = full + 2 * DAY  # two days after reaching 100%
    views = {v.id: v for v in checklist.items()}
    assert views["verify.health"].due_at == started
    assert views["verify.health"].overdue
    assert views["day1.logs"].due_at == full + DAY
    assert views["day1.logs"].overdue
    assert views["week1.compare"].due_at == full + 7 * DAY
    assert not views["week1.compare"].overdue
    assert views["ongoing.perf_review"].due_at == full + 7 * DAY
    assert views["ongoing.security_audit"].due_at == full + 30 * DAY
    assert views["ongoing.dr_test"].due_at == full + 91 * DAY
    assert views["ongoing.rotation"].due_at == full + 365 * DAY
    assert views["ongoing.feature_testing"].due_at is None
    assert views["pre.review"].due_at is None
    assert checklist.summary().overdue == 7  # 2 verification + 5 first-24-hours

    checklist.tick("day1.logs", who="ana@jump1", note="no errors in 48 h")
    assert not next(v for v in checklist.items() if v.id == "day1.logs").overdue


def test_recurring_item_is_due_again_one_period_after_its_tick(
    tmp_path: Path, clock: Clock
) -> None:
    checklist = Checklist(tmp_path / "c.json", clock=clock)
    full = T0
    checklist.set_timeline(T0 - DAY, full)
    clock.now = full + 8 * DAY
    view = next(v for v in checklist.items() if v.id == "ongoing.perf_review")
    assert view.overdue
    checklist.tick("ongoing.perf_review", who="ana@jump1", note="week 1 review")
    view = next(v for v in checklist.items() if v.id == "ongoing.perf_review")
    assert (view.status, view.due_at, view.overdue) == (
        Status.DONE,
        full + 15 * DAY,
        False,
    )
    clock.now = full + 16 * DAY
    view = next(v for v in checklist.items() if v.id == "ongoing.perf_review")
    assert (view.status, view.overdue) == (Status.OPEN, True)


def test_measured_items_tick_and_untick_themselves(
    tmp_path: Path, clock: Clock
) -> None:
    clean_s: list[float | None] = [None]
    stored_at = T0 - 400 * DAY
    changes: list[ChecklistChange] = []
    checklist = Checklist(
        tmp_path / "c.json",
        verifiers={
            "day1.metrics": lambda: measure_full_traffic(clean_s[0]),
            "ongoing.rotation": lambda: measure_rotation(stored_at, clock.now),
        },
        on_change=changes.append,
        clock=clock,
    )
    checklist.refresh()
    views = {v.id: v for v in checklist.items()}
    assert views["day1.metrics"].status is Status.OPEN
    assert views["ongoing.rotation"].note == "production key stored 400 days ago"
    assert views["ongoing.rotation"].due_at == stored_at + 365 * DAY
    assert views["ongoing.rotation"].overdue

    clean_s[0] = 23 * HOUR
    checklist.refresh()
    metrics = next(v for v in checklist.items() if v.id == "day1.metrics")
    assert (metrics.status, metrics.note) == (
        Status.OPEN,
        "23.0 of 24 h clean at 100%",
    )
    clean_s[0] = 24.5 * HOUR
    checklist.refresh()
    checklist.refresh()  # unchanged: no second change event
    metrics = next(v for v in checklist.items() if v.id == "day1.metrics")
    assert (metrics.status, metrics.who, metrics.note) == (
        Status.DONE,
        "console",
        "24.5 h at 100% with every gate passing",
    )
    assert [(c.item_id, c.after) for c in changes] == [
        ("ongoing.rotation", "open"),
        ("day1.metrics", "open"),
        ("day1.metrics", "done"),
    ]


def test_item_ids_are_unique_and_unreadable_state_is_a_clear_error(
    tmp_path: Path,
) -> None:
    assert len(ITEM_IDS) == len(set(ITEM_IDS)) == 21
    bad = tmp_path / "checklist.json"
    bad.write_text('{"format_version": 9, "items": {}}')
    with pytest.raises(StateError, match="not a checklist this console can read"):
        Checklist(bad)
    with pytest.raises(ValueError, match="unknown items"):
        Checklist(
            tmp_path / "ok.json", verifiers={"nope": lambda: Measurement(True, "")}
        )
