"""Gate verdicts: one metric against one threshold, failing closed.

A gate is evaluated every ``interval_s`` on a measurement over ``window_s``:

* no value, a source error, data older than ``metrics.stale_after_s`` or fewer than
  ``min_samples`` samples is INSUFFICIENT DATA: never a pass, and it breaks a run of
  breaches;
* a value on the good side of the threshold is PASS;
* a value on the bad side is WARN until it has happened ``breaches`` evaluations in a
  row, then BREACH; during warm-up after a level change it stays WARN and the run
  does not count.

Every verdict carries one ``why`` line (value, threshold, window, samples, data age)
that the UI, the journal and notifications repeat word for word.

Worst case from a fault starting to an automatic rollback (see docs/engine.md)::

    max over enabled gates of (window_s + interval_s * breaches) + metrics.interval_s

the window must fill with bad data, the run of breaches must complete, and the
newest data may be one metrics poll old.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping

from console.config import Config, GateConfig
from console.engine.model import GateResult, Verdict
from console.metrics.base import Measurement

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
# The relation a failing value has to the threshold, for the why line.
_NEGATED = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}


def unit_of(metric: str) -> str:
    """A short unit for the why line, from the metric id's suffix."""
    for suffix, unit in (("_pct", " %"), ("_ms", " ms"), ("_s", " s")):
        if metric.endswith(suffix) or f"{suffix}:" in metric:
            return unit
    return ""


def _fmt(value: float) -> str:
    return f"{value:.2f}" if abs(value) < 1000 else f"{value:.0f}"


def _data(m: Measurement) -> str:
    age = "no data" if m.age_s is None else f"data {m.age_s:.1f} s old"
    return f"{m.samples} samples, {age}"


def evaluate(
    name: str,
    gate: GateConfig,
    m: Measurement,
    *,
    stale_after_s: float,
    in_warmup: bool,
    consecutive_before: int,
) -> GateResult:
    """One evaluation of ``gate`` on ``m``; pure, so tests can drive it directly."""
    window = f"over {gate.window_s:g} s"
    problem: str | None = None
    if m.error is not None:
        problem = f"source error: {m.error}"
    elif not m.usable:
        problem = "no data"
    elif m.age_s is not None and m.age_s > stale_after_s:
        problem = f"stale (newer than {stale_after_s:g} s needed)"
    elif m.samples < gate.min_samples:
        problem = f"too few samples ({gate.min_samples} needed)"

    if problem is not None or m.value is None:
        why = (
            f"{gate.metric} INSUFFICIENT DATA {window}: {problem} "
            f"({_data(m)}; gate {gate.op} {gate.threshold:g})"
        )
        return _result(name, gate, m, Verdict.INSUFFICIENT, 0, why)

    value = m.value
    unit = unit_of(gate.metric)
    if _OPS[gate.op](value, gate.threshold):
        why = (
            f"{gate.metric} {_fmt(value)}{unit} {gate.op} {gate.threshold:g} "
            f"{window} ({_data(m)})"
        )
        return _result(name, gate, m, Verdict.PASS, 0, why)

    relation = f"{_fmt(value)}{unit} {_NEGATED[gate.op]} {gate.threshold:g}"
    if in_warmup:
        why = f"{gate.metric} {relation} {window} ({_data(m)}; warm-up, not counted)"
        return _result(name, gate, m, Verdict.WARN, consecutive_before, why)
    run = consecutive_before + 1
    verdict = Verdict.BREACH if run >= gate.breaches else Verdict.WARN
    why = (
        f"{gate.metric} {relation} {window} ({_data(m)}; breach {run}/{gate.breaches})"
    )
    return _result(name, gate, m, verdict, run, why)


def _result(
    name: str, gate: GateConfig, m: Measurement, verdict: Verdict, run: int, why: str
) -> GateResult:
    return GateResult(
        name=name,
        metric=gate.metric,
        verdict=verdict,
        value=m.value if m.usable else None,
        op=gate.op,
        threshold=gate.threshold,
        window_s=gate.window_s,
        samples=m.samples,
        data_age_s=m.age_s,
        consecutive_breaches=run,
        breaches_needed=gate.breaches,
        why=why,
    )


def pending(name: str, gate: GateConfig) -> GateResult:
    """The verdict before a gate's first evaluation: INSUFFICIENT DATA."""
    m = Measurement(gate.metric, None, gate.window_s, 0, None)
    why = f"{gate.metric} INSUFFICIENT DATA over {gate.window_s:g} s: not evaluated yet"
    return _result(name, gate, m, Verdict.INSUFFICIENT, 0, why)


def enabled_gates(config: Config) -> Mapping[str, GateConfig]:
    return {name: g for name, g in config.gates.items() if g.enabled}


def worst_case_rollback_s(config: Config) -> float | None:
    """max(window + interval * breaches) + metrics interval; None with no gate."""
    gates = enabled_gates(config).values()
    if not gates:
        return None
    worst = max(g.window_s + g.interval_s * g.breaches for g in gates)
    return worst + config.metrics.interval_s


def wants_rollback(result: GateResult, gate: GateConfig) -> bool:
    """Does this verdict trigger the automatic rollback?"""
    if result.verdict is Verdict.BREACH:
        return True
    return result.verdict is Verdict.INSUFFICIENT and gate.on_insufficient == "rollback"
