"""The migration checklist: BOOP's guide as items that are ticked, measured and due.

Sections follow the migration guide (reference/migration-guide.md): the four
pre-migration requirements, production verification (health, then a controlled
authentication test), and the post-migration checklist (first 24 hours, first week,
ongoing). Items the console can measure tick themselves through *verifiers*,
callables keyed by item id that the engine supplies; the rest are ticked by a person
with a note. Who ticked what and when is saved in ``StatePaths.checklist`` (JSON,
atomic write, ``format_version``), and every change is handed to ``on_change`` so the
engine can journal it.

Due dates hang off the cutover's timeline, which the engine reports with
:meth:`Checklist.set_timeline`: verification is due when traffic first leaves 0%,
the first-24-hours items 24 h after reaching 100%, the first-week items 7 days after,
recurring items one period after their last tick (or after reaching 100%), and
credential rotation 365 days after the production credentials were stored.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from console.credentials.masking import redact
from console.engine.journal import Journal
from console.engine.model import ChecklistSummary
from console.errors import ConsoleError, StateError

log = logging.getLogger("console.engine.checklist")

FORMAT_VERSION = 1
HOUR = 3600.0
DAY = 24 * HOUR
CONSOLE_WHO = "console"
"""``who`` of items the console ticked itself by measuring."""


class Section(StrEnum):
    """Where an item sits in the guide."""

    PRE = "pre-migration"
    VERIFY = "production verification"
    DAY1 = "first 24 hours"
    WEEK1 = "first week"
    ONGOING = "ongoing"


class Anchor(StrEnum):
    """What an item's due date counts from."""

    NONE = "none"
    START = "start"
    """Traffic first left 0%."""
    FULL = "full"
    """Traffic first reached 100%."""
    CREDENTIALS = "credentials"
    """The production credentials were stored (falls back to FULL)."""


class Status(StrEnum):
    OPEN = "open"
    DONE = "done"
    FAILED = "failed"


TESTING_CHECKLIST = (
    "setup.credentials: obtain dev credentials (ven_dev_ / sk_dev_, from BOOP)",
    "setup.base_url: configure BOOP_BASE_URL = https://dev.app.boop.it",
    "setup.health: curl https://dev.app.boop.it/health succeeds",
    "func.basic_auth: basic authentication (no payment), attributes pseudonym, email",
    "func.payment_auth: payment authentication (e.g. 2500 cents), transaction id",
    "func.age_verification: age-verify attribute, verified and unverified users",
    "err.user_not_found: unregistered palm gives user-not-found, handled gracefully",
    "err.insufficient_balance: payment above balance fails with a clear message",
    "err.missing_attributes: user-missing-attributes lists the missing ones",
)
"""BOOP's pre-production testing checklist (boop-api.md section 8), run on dev."""


@dataclass(frozen=True)
class ItemDef:
    """One checklist item as the guide defines it."""

    id: str
    section: Section
    title: str
    detail: tuple[str, ...] = ()
    measured: bool = False
    """Ticked by a verifier (or the verification runner), not only by a person."""
    anchor: Anchor = Anchor.NONE
    due_after_s: float = 0.0
    every_s: float | None = None
    """Recurring: due again this long after the last tick."""


# fmt: off
ITEMS: tuple[ItemDef, ...] = (
    ItemDef("pre.testing", Section.PRE, "BOOP testing checklist completed on dev",
            TESTING_CHECKLIST),
    ItemDef("pre.credentials", Section.PRE, "Production credentials obtained",
            ("ven_live_ vendor id and sk_live_ key, present and valid",),
            measured=True),
    ItemDef("pre.review", Section.PRE, "Security and code review approved"),
    ItemDef("pre.deployment", Section.PRE, "Production deployment plan final"),
    ItemDef("verify.health", Section.VERIFY, "Production health check answers",
            ("GET /health on production answers status ok",), measured=True,
            anchor=Anchor.START),
    ItemDef("verify.auth", Section.VERIFY, "Controlled authentication test passed",
            ("POST /api/v1/auth/create on production, then cancelled",),
            measured=True, anchor=Anchor.START),
    ItemDef("day1.metrics", Section.DAY1,
            "Monitor all metrics: 24 h at 100% with every gate passing",
            measured=True, anchor=Anchor.FULL, due_after_s=DAY),
    ItemDef("day1.customer", Section.DAY1, "Customer experience verified smooth",
            anchor=Anchor.FULL, due_after_s=DAY),
    ItemDef("day1.logs", Section.DAY1, "Error logs checked for issues",
            anchor=Anchor.FULL, due_after_s=DAY),
    ItemDef("day1.accuracy", Section.DAY1, "Payment processing accuracy validated",
            anchor=Anchor.FULL, due_after_s=DAY),
    ItemDef("day1.features", Section.DAY1, "All features confirmed working",
            anchor=Anchor.FULL, due_after_s=DAY),
    ItemDef("week1.compare", Section.WEEK1, "Performance compared with dev",
            anchor=Anchor.FULL, due_after_s=7 * DAY),
    ItemDef("week1.feedback", Section.WEEK1, "User feedback gathered",
            anchor=Anchor.FULL, due_after_s=7 * DAY),
    ItemDef("week1.issues", Section.WEEK1, "Issues and resolutions documented",
            anchor=Anchor.FULL, due_after_s=7 * DAY),
    ItemDef("week1.training", Section.WEEK1, "Team training material updated",
            anchor=Anchor.FULL, due_after_s=7 * DAY),
    ItemDef("week1.monitoring", Section.WEEK1, "Monitoring reviewed and tuned",
            anchor=Anchor.FULL, due_after_s=7 * DAY),
    ItemDef("ongoing.perf_review", Section.ONGOING, "Weekly performance review",
            anchor=Anchor.FULL, due_after_s=7 * DAY, every_s=7 * DAY),
    ItemDef("ongoing.security_audit", Section.ONGOING, "Monthly security audit",
            anchor=Anchor.FULL, due_after_s=30 * DAY, every_s=30 * DAY),
    ItemDef("ongoing.dr_test", Section.ONGOING, "Quarterly disaster-recovery test",
            anchor=Anchor.FULL, due_after_s=91 * DAY, every_s=91 * DAY),
    ItemDef("ongoing.rotation", Section.ONGOING, "Annual credential rotation",
            ("due 365 days after the production key was stored",), measured=True,
            anchor=Anchor.CREDENTIALS, due_after_s=365 * DAY, every_s=365 * DAY),
    ItemDef("ongoing.feature_testing", Section.ONGOING, "Continuous feature testing",
            ("a standing practice: tick when it is in place",)),
)
# fmt: on
ITEM_IDS = tuple(item.id for item in ITEMS)


@dataclass(frozen=True)
class Measurement:
    """What a verifier found: ok True/False, or None when it cannot tell yet."""

    ok: bool | None
    detail: str
    stored_at: float | None = None
    """For the rotation item: when the measured credential was stored."""


Verifier = Callable[[], Measurement]


@dataclass(frozen=True)
class ItemState:
    """The saved state of one item."""

    status: Status = Status.OPEN
    who: str | None = None
    at: float | None = None
    note: str = ""


@dataclass(frozen=True)
class ItemView:
    """One row of the checklist table."""

    id: str
    section: Section
    title: str
    detail: tuple[str, ...]
    status: Status
    who: str | None
    at: float | None
    note: str
    measured: bool
    due_at: float | None
    overdue: bool

    @property
    def done(self) -> bool:
        return self.status is Status.DONE


@dataclass(frozen=True)
class ChecklistChange:
    """A fact for the journal: an item changed, and who changed it."""

    item_id: str
    title: str
    who: str
    before: str
    after: str
    note: str
    at: float


@dataclass(frozen=True)
class Timeline:
    """The cutover's moments the due dates hang off (epoch seconds)."""

    started_at: float | None = None
    full_at: float | None = None


def journal_hook(journal: Journal) -> Callable[[ChecklistChange], None]:
    """An ``on_change`` that appends each change to the cutover's journal as
    action 'checklist <item id>' (the note is already redacted)."""

    def on_change(change: ChecklistChange) -> None:
        journal.append(
            ts=change.at,
            who=change.who,
            action=f"checklist {change.item_id}",
            why=change.note or change.title,
            before=change.before,
            after=change.after,
        )

    return on_change


def measure_full_traffic(clean_s: float | None, needed_s: float = DAY) -> Measurement:
    """Verifier result for day1.metrics from 'seconds at 100% with every gate
    passing' (the engine's running count, reset by any failing gate)."""
    if clean_s is None:
        return Measurement(None, "not at 100% yet")
    if clean_s >= needed_s:
        return Measurement(
            True, f"{clean_s / HOUR:.1f} h at 100% with every gate passing"
        )
    return Measurement(
        False, f"{clean_s / HOUR:.1f} of {needed_s / HOUR:.0f} h clean at 100%"
    )


def measure_rotation(stored_at: float | None, now: float) -> Measurement:
    """Verifier result for ongoing.rotation from the production key's stored_at."""
    if stored_at is None:
        return Measurement(None, "storage date of the production key unknown")
    age_days = (now - stored_at) / DAY
    ok = age_days < 365
    return Measurement(ok, f"production key stored {age_days:.0f} days ago", stored_at)


def _fmt_ts(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


class Checklist:
    """The checklist of one cutover, persisted at ``path``.

    ``verifiers`` map item ids to fast, non-blocking callables (they read state the
    engine already holds); ``on_change`` receives a :class:`ChecklistChange` for
    every tick, untick, measurement or verification that changes an item.
    """

    def __init__(
        self,
        path: Path,
        *,
        verifiers: Mapping[str, Verifier] | None = None,
        on_change: Callable[[ChecklistChange], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.verifiers = dict(verifiers or {})
        unknown = set(self.verifiers) - set(ITEM_IDS)
        if unknown:
            raise ValueError(f"verifiers for unknown items: {sorted(unknown)}")
        self.on_change = on_change
        self._clock = clock
        self._states: dict[str, ItemState] = {}
        self.timeline = Timeline()
        self._credentials_stored_at: float | None = None
        self.verification: dict[str, Any] | None = None
        """The last production verification's record (see verify_production)."""
        self._file_sig: tuple[int, int, int] | None = None
        """(inode, mtime_ns, size) of the file as last read or written by us."""
        self._load()

    # -- persistence -------------------------------------------------------------

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def reload_if_changed(self) -> bool:
        """Re-read the file if another process (``boop-console check tick``, a
        second console) replaced it since we last read or wrote it.

        Every view and every change calls this first, so a tick made elsewhere
        counts at once and is never overwritten by a stale copy. An unreadable
        file keeps what was read before (logged once) rather than failing a view.
        """
        sig = self._signature()
        if sig == self._file_sig:
            return False
        self._file_sig = sig
        states, timeline = self._states, self.timeline
        stored_at, verification = self._credentials_stored_at, self.verification
        self._states = {}
        self.timeline = Timeline()
        self._credentials_stored_at = None
        self.verification = None
        try:
            self._load()
        except StateError as exc:
            log.warning("checklist not re-read, keeping the last copy: %s", exc)
            self._states, self.timeline = states, timeline
            self._credentials_stored_at, self.verification = stored_at, verification
            return False
        log.debug("checklist %s re-read after an outside change", self.path)
        return True

    def _load(self) -> None:
        self._file_sig = self._signature()
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StateError(f"Cannot read {self.path}: {exc.strerror}.") from exc
        try:
            doc = json.loads(raw)
            if doc.get("format_version") != FORMAT_VERSION:
                raise ValueError(f"format_version {doc.get('format_version')!r}")
            for item_id, st in doc.get("items", {}).items():
                if item_id in ITEM_IDS:
                    self._states[item_id] = ItemState(
                        Status(st["status"]),
                        st.get("who"),
                        st.get("at"),
                        st.get("note", ""),
                    )
            tl = doc.get("timeline", {})
            self.timeline = Timeline(tl.get("started_at"), tl.get("full_at"))
            self._credentials_stored_at = doc.get("credentials_stored_at")
            self.verification = doc.get("verification")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StateError(
                f"{self.path} is not a checklist this console can read ({exc}).",
                hint="Move it aside; the checklist starts empty without it.",
            ) from None

    def _save(self) -> None:
        doc = {
            "format_version": FORMAT_VERSION,
            "items": {
                k: {"status": str(v.status), "who": v.who, "at": v.at, "note": v.note}
                for k, v in self._states.items()
            },
            "timeline": asdict(self.timeline),
            "credentials_stored_at": self._credentials_stored_at,
            "verification": self.verification,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".checklist-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            self._file_sig = self._signature()
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise StateError(f"Cannot write {self.path}: {exc.strerror}.") from exc

    # -- changes -------------------------------------------------------------------

    def _definition(self, item_id: str) -> ItemDef:
        for item in ITEMS:
            if item.id == item_id:
                return item
        raise StateError(
            f"No checklist item {item_id!r}.",
            hint="Item ids: " + ", ".join(ITEM_IDS) + ".",
        )

    def _set(self, item_id: str, new: ItemState, *, save: bool = True) -> bool:
        old = self._states.get(item_id, ItemState())
        if (old.status, old.note) == (new.status, new.note) and old.who == new.who:
            return False
        self._states[item_id] = new
        if save:
            self._save()
        log.info(
            "checklist %s: %s -> %s by %s", item_id, old.status, new.status, new.who
        )
        if self.on_change is not None:
            change = ChecklistChange(
                item_id,
                self._definition(item_id).title,
                new.who or CONSOLE_WHO,
                str(old.status),
                str(new.status),
                new.note,
                new.at or self._clock(),
            )
            try:
                self.on_change(change)
            except Exception:  # a journal failure must not undo the tick
                log.exception("checklist on_change failed for %s", item_id)
        return True

    def tick(self, item_id: str, *, who: str, note: str) -> None:
        """A person marks an item done, with a note saying how they know."""
        self._definition(item_id)
        self.reload_if_changed()
        if not note.strip():
            raise StateError(
                f"Ticking {item_id} needs a note (what was checked, where it is).",
                hint="Add --note 'security review approved by ... on ...'.",
            )
        # A pasted key in a note must not land in the file or the journal.
        clean = redact(note.strip())
        self._set(item_id, ItemState(Status.DONE, who, self._clock(), clean))

    def untick(self, item_id: str, *, who: str, note: str = "") -> None:
        """Reopen an item."""
        self._definition(item_id)
        self.reload_if_changed()
        self._set(item_id, ItemState(Status.OPEN, who, self._clock(), redact(note)))

    def record(
        self, item_id: str, ok: bool, detail: str, *, who: str = CONSOLE_WHO
    ) -> None:
        """Record a measured outcome (done or failed) with its detail."""
        self.reload_if_changed()
        status = Status.DONE if ok else Status.FAILED
        self._set(item_id, ItemState(status, who, self._clock(), redact(detail)))

    def set_timeline(self, started_at: float | None, full_at: float | None) -> None:
        """The engine reports when traffic first left 0% and first reached 100%."""
        self.reload_if_changed()
        new = Timeline(started_at, full_at)
        if new != self.timeline:
            self.timeline = new
            self._save()

    def refresh(self) -> None:
        """Run every verifier and record outcomes that changed an item."""
        self.reload_if_changed()
        for item_id, verifier in self.verifiers.items():
            try:
                result = verifier()
            except ConsoleError as exc:
                result = Measurement(False, exc.message)
            stored_at = result.stored_at
            if stored_at is not None and stored_at != self._credentials_stored_at:
                self._credentials_stored_at = stored_at
                self._save()
            if result.ok is None:
                continue
            current = self._states.get(item_id, ItemState())
            wanted = Status.DONE if result.ok else Status.OPEN
            if current.status is wanted and current.note == result.detail:
                continue
            if (
                current.status is Status.DONE
                and current.who != CONSOLE_WHO
                and result.ok
            ):
                continue  # a person's tick stays theirs while the measure agrees
            self._set(
                item_id, ItemState(wanted, CONSOLE_WHO, self._clock(), result.detail)
            )

    # -- views ---------------------------------------------------------------------

    def _anchor_time(self, item: ItemDef) -> float | None:
        if item.anchor is Anchor.START:
            return self.timeline.started_at
        if item.anchor is Anchor.FULL:
            return self.timeline.full_at
        if item.anchor is Anchor.CREDENTIALS:
            return self._credentials_stored_at or self.timeline.full_at
        return None

    def _view(self, item: ItemDef, now: float) -> ItemView:
        st = self._states.get(item.id, ItemState())
        status = st.status
        anchor = self._anchor_time(item)
        due_at = None if anchor is None else anchor + item.due_after_s
        known_storage = (
            item.anchor is Anchor.CREDENTIALS
            and self._credentials_stored_at is not None
        )
        if item.every_s is not None and status is Status.DONE and st.at is not None:
            if not known_storage:
                due_at = st.at + item.every_s
            if due_at is not None and now >= due_at:
                status = Status.OPEN  # done once, due again
        overdue = status is not Status.DONE and due_at is not None and now > due_at
        return ItemView(
            item.id, item.section, item.title, item.detail, status, st.who, st.at,
            st.note, item.measured, due_at, overdue,
        )  # fmt: skip

    def items(self, now: float | None = None) -> list[ItemView]:
        """Every item in guide order, with status, due date and overdue flag."""
        self.reload_if_changed()
        when = self._clock() if now is None else now
        return [self._view(item, when) for item in ITEMS]

    def premigration_blockers(self) -> list[str]:
        """Why traffic may not leave 0% yet; empty when the four requirements hold.

        Measured items are refreshed first, so the answer is current.
        """
        self.refresh()
        blockers = []
        for view in self.items():
            if view.section is not Section.PRE or view.done:
                continue
            if view.measured and view.note:
                blockers.append(f"{view.id}: {view.title} ({view.note})")
            else:
                blockers.append(
                    f"{view.id}: {view.title} (tick with "
                    f"`boop-console check tick {view.id} --note ...`)"
                )
        return blockers

    def summary(self, now: float | None = None) -> ChecklistSummary:
        """Counts for the status line; next_items are overdue ones first."""
        views = self.items(now)
        pre = [v for v in views if v.section is Section.PRE]
        open_ = [v for v in views if not v.done]
        open_.sort(key=lambda v: (not v.overdue, v.due_at is None, v.due_at or 0.0))
        return ChecklistSummary(
            done=sum(v.done for v in views),
            total=len(views),
            premigration_done=all(v.done for v in pre),
            overdue=sum(v.overdue for v in views),
            next_items=tuple(f"{v.id}: {v.title}" for v in open_[:3]),
        )

    def table(self, now: float | None = None) -> str:
        """A plain-text table for the CLI (80 columns)."""
        lines = []
        section: Section | None = None
        for v in self.items(now):
            if v.section is not section:
                section = v.section
                lines.append(f"\n{section.upper()}")
            mark = {"done": "[x]", "failed": "[!]", "open": "[ ]"}[v.status]
            due = f" due {_fmt_ts(v.due_at)}" if v.due_at is not None else ""
            flag = " OVERDUE" if v.overdue else ""
            lines.append(f"{mark} {v.id:<24} {v.title}{due}{flag}")
            if v.who or v.note:
                lines.append(f"      {v.who or ''} {_fmt_ts(v.at)}: {v.note}".rstrip())
        return "\n".join(lines).lstrip("\n")

    def to_json(self, now: float | None = None) -> list[dict[str, Any]]:
        """Rows for ``check --json``."""
        rows = []
        for v in self.items(now):
            row = asdict(v)
            row["section"], row["status"] = str(v.section), str(v.status)
            row["detail"] = list(v.detail)
            rows.append(row)
        return rows


# -- production verification -------------------------------------------------------

HealthCheck = Callable[[], Awaitable[str]]
"""Returns a one-line detail ('ok, version a1b2c3d, 41 ms'); raises when unhealthy."""
AuthTest = Callable[[], Awaitable[str]]
"""Creates (and cancels) the smallest auth context; returns a detail or raises."""
Confirm = Callable[[str], bool | Awaitable[bool]]


@dataclass(frozen=True)
class VerificationResult:
    """The outcome of one production verification run."""

    host: str
    at: float
    health_ok: bool
    health_detail: str
    auth_ok: bool | None
    """None when the test was skipped (health failed)."""
    auth_detail: str
    steps: Sequence[str] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.health_ok and bool(self.auth_ok)


class VerificationRefused(ConsoleError):
    """A person did not confirm the production host: nothing was sent."""

    title = "Verification not confirmed"


async def verify_production(
    checklist: Checklist,
    *,
    host: str,
    confirm: Confirm,
    health: HealthCheck,
    auth_test: AuthTest,
    who: str,
    deadline_s: float = 10.0,
) -> VerificationResult:
    """Health check, then a controlled authentication test, against production.

    Asks ``confirm(host)`` first; a no raises :class:`VerificationRefused` and nothing
    is sent. Each step has its own total deadline. The outcome is recorded on
    ``verify.health`` and ``verify.auth`` and saved with the checklist.
    """
    answer = confirm(host)
    if inspect.isawaitable(answer):
        answer = await answer
    if not answer:
        raise VerificationRefused(
            f"Production verification against {host} not confirmed."
        )
    now = checklist._clock()

    async def step(fn: Callable[[], Awaitable[str]]) -> tuple[bool, str]:
        try:
            async with asyncio.timeout(deadline_s):
                return True, await fn()
        except TimeoutError:
            return False, f"no answer within {deadline_s:g} s"
        except ConsoleError as exc:
            return False, exc.message

    health_ok, health_detail = await step(health)
    checklist.record("verify.health", health_ok, f"{host}: {health_detail}", who=who)
    auth_ok: bool | None = None
    auth_detail = "skipped: the health check failed"
    if health_ok:
        auth_ok, auth_detail = await step(auth_test)
        checklist.record("verify.auth", auth_ok, f"{host}: {auth_detail}", who=who)
    result = VerificationResult(
        host, now, health_ok, health_detail, auth_ok, auth_detail
    )
    checklist.verification = {
        "host": host,
        "at": now,
        "who": who,
        "health_ok": health_ok,
        "health": health_detail,
        "auth_ok": auth_ok,
        "auth": auth_detail,
    }
    checklist._save()
    return replace(result, steps=("confirm", "health", "auth" if health_ok else "skip"))


# -- the cutover report ------------------------------------------------------------


def read_journal(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Entries of the JSONL journal and the count of unreadable lines."""
    entries: list[dict[str, Any]] = []
    bad = 0
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return entries, 0
    except OSError as exc:
        raise StateError(f"Cannot read the journal {path}: {exc.strerror}.") from exc
    for line in lines:
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(entry, dict):
            entries.append(entry)
        else:
            bad += 1
    return entries, bad


def _gate_verdicts(gates: object) -> dict[str, str]:
    """{gate: verdict} from a journal entry's ``gates`` (mapping or list form)."""
    out: dict[str, str] = {}
    if isinstance(gates, Mapping):
        for name, value in gates.items():
            if isinstance(value, Mapping):
                out[str(name)] = str(value.get("verdict", "?"))
            else:
                out[str(name)] = str(value)
    elif isinstance(gates, list):
        for value in gates:
            if isinstance(value, Mapping) and "name" in value:
                out[str(value["name"])] = str(value.get("verdict", "?"))
    return out


def _cell(value: object, width: int = 60) -> str:
    if value is None:
        text = ""
    elif isinstance(value, str | int | float):
        text = str(value)
    else:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def _entry_time(entry: Mapping[str, Any]) -> str:
    ts = entry.get("ts")
    return _fmt_ts(float(ts)) if isinstance(ts, int | float) else _cell(ts)


ROLLBACK_ACTION = "rollback"
"""The journal action of a rollback the engine performed (engine/rollback.py)."""


def render_report(
    checklist: Checklist, journal_path: Path, *, now: float | None = None
) -> str:
    """The Markdown cutover report: timeline, gate verdicts over time, rollbacks with
    their why, and the checklist. Secrets are redacted from every journal field."""
    when = checklist._clock() if now is None else now
    entries, bad = read_journal(journal_path)
    out = ["# BOOP cutover report", ""]
    if entries or bad:
        checked = Journal(journal_path).verify()
        if not checked.ok:
            first = checked.problems[0] if checked.problems else "unknown problem"
            more = len(checked.problems) - 1
            out += [
                "> **WARNING: the journal does not verify; this report may show "
                f"edited or missing entries.** First problem: {first}"
                + (f" (and {more} more)" if more > 0 else "")
                + ". Run `boop-console journal verify` for the full list.",
                "",
            ]
    out += [
        f"Generated {_fmt_ts(when)} from `{journal_path}` ({len(entries)} entries"
        + (f", {bad} unreadable lines skipped" if bad else "")
        + ").",
        "",
        "## Timeline",
        "",
    ]
    if entries:
        out += [
            "| # | time | who | action | why | before → after |",
            "|---|---|---|---|---|---|",
        ]
        for entry in entries:
            change = (
                f"{_cell(entry.get('before'), 30)} → {_cell(entry.get('after'), 30)}"
            )
            out.append(
                f"| {_cell(entry.get('seq'))} | {_entry_time(entry)} "
                f"| {_cell(entry.get('who'))} | {_cell(entry.get('action'))} "
                f"| {_cell(entry.get('why'))} | {change} |"
            )
    else:
        out.append("No journal entries.")

    out += ["", "## Gate verdicts over time", ""]
    rows = [(e, _gate_verdicts(e.get("gates"))) for e in entries]
    rows = [(e, g) for e, g in rows if g]
    names = sorted({name for _, g in rows for name in g})
    if rows:
        out.append("| time | action | " + " | ".join(names) + " |")
        out.append("|---|---|" + "---|" * len(names))
        for entry, verdicts in rows:
            cells = " | ".join(verdicts.get(n, "") for n in names)
            out.append(
                f"| {_entry_time(entry)} | {_cell(entry.get('action'))} | {cells} |"
            )
    else:
        out.append("No gate verdicts recorded.")

    out += ["", "## Rollbacks", ""]
    # Only the engine's own "rollback" entries moved traffic to 0%; "rollback
    # observed" (another console's rollback seen here), "(no-op)" and
    # "re-enforced" are echoes of one, and counting them inflated the list.
    rollbacks = [e for e in entries if e.get("action") == ROLLBACK_ACTION]
    for entry in rollbacks:
        out.append(
            f"- {_entry_time(entry)} {_cell(entry.get('action'))} by "
            f"{_cell(entry.get('who'))}: {_cell(entry.get('why'), 200)}"
        )
    if not rollbacks:
        out.append("No rollbacks.")
    echoes: dict[str, int] = {}
    for entry in entries:
        action = str(entry.get("action", ""))
        if action != ROLLBACK_ACTION and action.startswith(ROLLBACK_ACTION):
            echoes[action] = echoes.get(action, 0) + 1
    if echoes:
        listed = ", ".join(f"{n} × {a}" for a, n in sorted(echoes.items()))
        out += ["", f"Not counted as rollbacks (see the timeline): {listed}."]

    out += ["", "## Checklist", ""]
    summary = checklist.summary(when)
    out.append(
        f"{summary.done} of {summary.total} done, {summary.overdue} overdue; "
        f"pre-migration {'complete' if summary.premigration_done else 'INCOMPLETE'}."
    )
    if checklist.verification:
        v = checklist.verification
        out.append(
            f"Production verification of {v.get('host')} at {_fmt_ts(v.get('at'))} by "
            f"{v.get('who')}: health {v.get('health')}; auth {v.get('auth')}."
        )
    out += [
        "",
        "| item | status | who | when | due | note |",
        "|---|---|---|---|---|---|",
    ]
    for view in checklist.items(when):
        status = str(view.status) + (" OVERDUE" if view.overdue else "")
        out.append(
            f"| {view.id}: {_cell(view.title)} | {status} | {_cell(view.who)} "
            f"| {_fmt_ts(view.at) if view.at else ''} "
            f"| {_fmt_ts(view.due_at) if view.due_at else ''} | {_cell(view.note)} |"
        )
    return redact("\n".join(out) + "\n")
