"""Gate verdicts fail closed and say why, in one line."""

from __future__ import annotations

from pathlib import Path

from helpers_engine import make_config

from console.config import GateConfig
from console.engine.gates import evaluate, worst_case_rollback_s
from console.engine.model import Verdict
from console.metrics.base import Measurement

GATE = GateConfig(
    metric="auth_success_pct",
    op=">",
    threshold=99.5,
    window_s=60,
    breaches=2,
    min_samples=20,
)


def judge(m: Measurement, before: int = 0, warmup: bool = False):  # type: ignore[no-untyped-def]
    return evaluate(
        "auth_success",
        GATE,
        m,
        stale_after_s=10,
        in_warmup=warmup,
        consecutive_before=before,
    )


def test_pass_carries_value_threshold_window_samples_age() -> None:
    r = judge(Measurement("auth_success_pct", 99.8, 60, 412, 1.2))
    assert r.verdict is Verdict.PASS
    assert (
        r.why
        == "auth_success_pct 99.80 % > 99.5 over 60 s (412 samples, data 1.2 s old)"
    )


def test_breach_needs_consecutive_evaluations() -> None:
    bad = Measurement("auth_success_pct", 97.1, 60, 412, 1.2)
    first = judge(bad)
    assert first.verdict is Verdict.WARN and first.consecutive_breaches == 1
    second = judge(bad, before=1)
    assert second.verdict is Verdict.BREACH
    assert second.why == (
        "auth_success_pct 97.10 % <= 99.5 over 60 s "
        "(412 samples, data 1.2 s old; breach 2/2)"
    )


def test_warmup_warns_but_does_not_count() -> None:
    r = judge(
        Measurement("auth_success_pct", 90.0, 60, 412, 1.0), before=1, warmup=True
    )
    assert r.verdict is Verdict.WARN and r.consecutive_breaches == 1
    assert "warm-up" in r.why


def test_no_data_stale_few_samples_and_errors_are_insufficient() -> None:
    cases = {
        "no data": Measurement("auth_success_pct", None, 60, 0, None),
        "stale": Measurement("auth_success_pct", 99.9, 60, 400, 11.0),
        "too few samples": Measurement("auth_success_pct", 99.9, 60, 19, 1.0),
        "source error": Measurement("auth_success_pct", 99.9, 60, 400, 1.0, "boom"),
        "nan": Measurement("auth_success_pct", float("nan"), 60, 400, 1.0),
    }
    for label, m in cases.items():
        r = judge(m, before=1)
        assert r.verdict is Verdict.INSUFFICIENT, label
        assert r.consecutive_breaches == 0, label
        assert r.why.startswith("auth_success_pct INSUFFICIENT DATA over 60 s"), label
    assert "too few samples (20 needed)" in judge(cases["too few samples"]).why
    assert "stale" in judge(cases["stale"]).why


def test_worst_case_formula(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    # one gate: window 1 + interval 0.05 * 2 breaches + metrics interval 0.05
    assert worst_case_rollback_s(config) == 1 + 0.05 * 2 + 0.05
