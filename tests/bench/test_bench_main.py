"""python -m bench: budget verdicts, module results and options."""

from __future__ import annotations

import importlib

from bench.terminal import TerminalCost

bench_main = importlib.import_module("bench.__main__")


def _cost(name: str, cols: int, bytes_per_s: float, cpu_ticks: int) -> TerminalCost:
    # 10 s window: total bytes and ticks chosen to give the rates asked for; the
    # tree (a simulator) uses five times the console's own CPU, which is judged.
    return TerminalCost(
        name, "cmd", cols, 24 if cols == 80 else 50, 10.0,
        total_bytes=int(bytes_per_s * 10), cpu_ticks=cpu_ticks * 5,
        main_cpu_ticks=cpu_ticks,
    )  # fmt: skip


def test_budget_is_judged_for_the_console_at_80x24_only() -> None:
    ticks_1pct = 10  # 10 ticks of 1/100 s over 10 s = 1% of one core
    ok = _cost("console demo", 80, 1500, ticks_1pct)
    heavy = _cost("console demo", 80, 2500, ticks_1pct * 3)
    low = _cost("console demo, low bandwidth", 80, 600, ticks_1pct)

    assert bench_main._budget(ok) == "bytes ≤ 2000 B/s: PASS; CPU ≤ 2%: PASS"
    assert bench_main._budget(heavy) == "bytes ≤ 2000 B/s: FAIL; CPU ≤ 2%: FAIL"
    assert bench_main._budget(low) == "bytes ≤ 500 B/s: FAIL; CPU ≤ 2%: PASS"
    assert bench_main._budget(_cost("console demo", 200, 9000, 0)) == ""
    assert bench_main._budget(_cost("top -d 1", 80, 1600, 0)) == ""


def test_module_figures_are_flattened_to_dotted_names() -> None:
    figures = {
        "rollback_ms": {"p50": 3.5, "p99": 12.0},
        "scenarios": [{"name": "boop_5xx", "s": 41.0}],
        "runs": 200,
    }

    assert list(bench_main._flatten(figures)) == [
        ("rollback_ms.p50", 3.5),
        ("rollback_ms.p99", 12.0),
        ("scenarios[0].name", "boop_5xx"),
        ("scenarios[0].s", 41.0),
        ("runs", 200),
    ]


def test_missing_module_is_recorded_not_run() -> None:
    settings, _ = bench_main.parse_args(["--quick"])

    figures, note = bench_main.run_module("no_such_bench", settings)

    assert figures is None
    assert note == "not measured: bench/no_such_bench.py does not exist yet"


def test_quick_and_only_options() -> None:
    settings, output = bench_main.parse_args(
        ["--quick", "--only", "terminal", "--only", "first_frame"]
    )

    assert (settings.settle_s, settings.duration_s, settings.runs) == (3.0, 10.0, 3)
    assert settings.wants("terminal") and not settings.wants("metrics_memory")
    assert output == bench_main.REPO / "bench/out/RESULTS-terminal-first_frame.md"
    assert bench_main.parse_args([])[1] == bench_main.REPO / "bench/RESULTS.md"


def test_module_figures_with_a_budget_get_a_verdict() -> None:
    verdict = bench_main._module_budget

    assert verdict("rollback_latency", "file.p99_ms", 12.0) == "≤ 100 ms: PASS"
    assert verdict("rollback_latency", "haproxy.p99_ms", 130) == "≤ 100 ms: FAIL"
    assert verdict("rollback_latency", "file.p50_ms", 1.5) == ""
    assert verdict("metrics_memory", "rss_mb.100%", 64.3) == "≤ 150 MB: PASS"
    assert verdict("metrics_memory", "rss_mb.150%", 151.0) == "≤ 150 MB: FAIL"
    assert verdict("sim_throughput", "rss_mb", 10.0) == ""


def test_nested_figures_become_one_table_row_each_with_budgets() -> None:
    figures = {
        "trials": 100,
        "file": {"p50_ms": 1.6, "p99_ms": 4.5},
        "haproxy": {"p99_ms": 130.0, "note": "a|b"},
    }

    assert bench_main.render_figures("rollback_latency", figures) == [
        "| figure | value | budget |",
        "|---|---:|---|",
        "| trials | 100 |  |",
        "",
        "| | p50_ms | p99_ms | note |",
        "|---|---|---|---|",
        "| file | 1.6 | 4.5 (≤ 100 ms: PASS) |  |",
        "| haproxy |  | 130 (≤ 100 ms: FAIL) | a\\|b |",
        "",
    ]
