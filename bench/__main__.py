"""`python -m bench`: measure the console against its performance budget.

Runs every benchmark, prints progress to stderr and writes bench/RESULTS.md: the
machine, the date, the exact commands, each figure with its spread and, where the
design sets a budget, PASS or FAIL next to the figure (nothing is asserted).

    python -m bench                    # everything (about 10 minutes)
    python -m bench --quick            # fewer and shorter runs (about 4 minutes)
    python -m bench --only terminal --only first_frame
    python -m bench --console "boop-console demo" --console-marker "ROLL BACK"

A run with --only writes bench/out/RESULTS-<names>.md unless --output is given, so a
partial run never replaces the committed full report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import first_frame, terminal
from bench.terminal import Program, TerminalCost, spread

REPO = Path(__file__).resolve().parent.parent
SIZES = ((80, 24), (200, 50))

# The design's budget (docs: /work/shared/design.md, "Performance budget").
# KB = 1000 bytes, the stricter reading.
BUDGET_BYTES_PER_S = 2000.0
BUDGET_LOW_BANDWIDTH_BYTES_PER_S = 500.0
BUDGET_CPU_PCT = 2.0
BUDGET_FIRST_FRAME_RATIO = 2.5

# Benchmarks other parts write: bench/<name>.py with run() -> dict.
MODULES = {
    "sim_throughput": "Simulator throughput",
    "rollback_latency": "Rollback key to router at 0% and read back",
    "metrics_memory": "24 hours of 1-second metrics: memory",
    "auto_rollback": (
        "Fault start to completed automatic rollback, per shipped scenario"
    ),
}
SECTIONS = ("terminal", "first_frame", *MODULES)
# Budgets on module figures: (module, a part of the figure's dotted name, limit, unit).
MODULE_BUDGETS = (
    ("rollback_latency", "p99_ms", 100.0, "ms"),
    ("metrics_memory", "rss_mb", 150.0, "MB"),
)
_RESULT_PREFIX = "BENCH-RESULT "


@dataclass
class Settings:
    """What one run measures and how long, from the command line."""

    quick: bool
    settle_s: float
    duration_s: float
    runs: int
    console: list[str]
    console_marker: str
    low_bandwidth_flag: str
    module_timeout_s: float
    only: Sequence[str] = field(default_factory=tuple)
    duration_given: bool = False
    """--duration was on the command line: modules get it too."""

    def wants(self, section: str) -> bool:
        return not self.only or section in self.only


def _python() -> str:
    """The interpreter running this, as a path relative to the repo when inside it."""
    exe = Path(sys.executable)
    try:
        return str(exe.relative_to(REPO))
    except ValueError:
        return str(exe)


def reference_programs() -> list[Program]:
    """The programs the console is compared with."""
    return [
        Program("hello-world Textual app", [_python(), "bench/ref/hello.py"]),
        Program("Textual + 1 Hz plotext chart", [_python(), "bench/ref/one_chart.py"]),
        Program("top -d 1", ["top", "-d", "1"]),
        Program("htop -d 10", ["htop", "-d", "10"]),
    ]


def console_programs(settings: Settings) -> list[Program]:
    """The console in its default and low-bandwidth modes."""
    return [
        Program("console demo", settings.console),
        Program(
            "console demo, low bandwidth",
            [*settings.console, settings.low_bandwidth_flag],
        ),
    ]


# --- formatting -------------------------------------------------------------------


def _num(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _spread(values: Sequence[float], digits: int = 0) -> str:
    if not values:
        return "-"
    med, lo, hi = spread(values)
    return f"{_num(med, digits)} ({_num(lo, digits)}-{_num(hi, digits)})"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _budget(cost: TerminalCost) -> str:
    """PASS/FAIL against the design's budget; only the console at 80x24 has one."""
    if not cost.name.startswith("console") or (cost.cols, cost.rows) != (80, 24):
        return ""
    if not cost.measured:
        return "not measured"
    low = "low bandwidth" in cost.name
    limit = BUDGET_LOW_BANDWIDTH_BYTES_PER_S if low else BUDGET_BYTES_PER_S
    return (
        f"bytes ≤ {limit:.0f} B/s: {_verdict(cost.bytes_per_s <= limit)}; "
        f"CPU ≤ {BUDGET_CPU_PCT:.0f}%: "
        f"{_verdict(cost.main_cpu_pct <= BUDGET_CPU_PCT)}"
    )


def _module_budget(module: str, key: str, value: object) -> str:
    """PASS/FAIL for a module's figure that the design budgets, else ''."""
    parts = key.replace("[", ".").split(".")
    for name, part, limit, unit in MODULE_BUDGETS:
        if name == module and part in parts and isinstance(value, int | float):
            return f"≤ {limit:g} {unit}: {_verdict(value <= limit)}"
    return ""


def _flatten(value: object, prefix: str = "") -> Iterator[tuple[str, object]]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _flatten(inner, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list | tuple) and any(
        isinstance(v, Mapping | list | tuple) for v in value
    ):
        for i, inner in enumerate(value):
            yield from _flatten(inner, f"{prefix}[{i}]")
    else:
        yield prefix, value


def _show(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


# --- sections ---------------------------------------------------------------------


def run_terminal(settings: Settings, out: list[str]) -> None:
    """Bytes/s and CPU of every program at both sizes, side by side."""
    programs = [*reference_programs(), *console_programs(settings)]
    costs: list[TerminalCost] = []
    for cols, rows in SIZES:
        for program in programs:
            _progress(f"terminal: {program.name} at {cols}x{rows}")
            costs.append(
                terminal.measure(
                    program,
                    cols=cols,
                    rows=rows,
                    settle_s=settings.settle_s,
                    duration_s=settings.duration_s,
                )
            )
    top = {(c.cols, c.rows): c for c in costs if c.name == "top -d 1" and c.measured}
    out += [
        "## Terminal cost at 1 Hz",
        "",
        f"Each program ran in a pty (TERM=xterm-256color, no COLORTERM: 256 colours) "
        f"for {settings.settle_s:g} s of start-up, not counted, then "
        f"{settings.duration_s:g} s measured. Bytes are everything written to the "
        "terminal. CPU is utime+stime from /proc as % of one core, of the program's "
        "own process (the budget's figure: the demo runs its simulator, i.e. BOOP, "
        "the legacy system and the load generator, in a child process) and of the "
        "whole tree. Mean over the window, then median (min-max) of the one-second "
        "buckets. Budget (console at 80x24): ≤ 2,000 B/s and ≤ 2% CPU; low "
        "bandwidth ≤ 500 B/s. x top: bytes/s relative to `top -d 1` at that size.",
        "",
        "| program | size | B/s | B/s per 1 s: median (min-max) | x top | "
        "CPU % own | CPU % own per 1 s: median (min-max) | CPU % tree | budget |",
        "|---|---|---:|---|---:|---:|---|---:|---|",
    ]
    for cost in costs:
        size = f"{cost.cols}x{cost.rows}"
        if not cost.measured:
            out.append(
                f"| {cost.name} | {size} | not measured: {_show(cost.error)} "
                f"| | | | | | {_budget(cost)} |"
            )
            continue
        ref = top.get((cost.cols, cost.rows))
        ratio = (
            f"{cost.bytes_per_s / ref.bytes_per_s:.2f}"
            if ref and ref.bytes_per_s > 0
            else "-"
        )
        out.append(
            f"| {cost.name} | {size} | {_num(cost.bytes_per_s)} "
            f"| {_spread(cost.bytes_per_second)} | {ratio} "
            f"| {cost.main_cpu_pct:.2f} | {_spread(cost.main_cpu_per_second, 1)} "
            f"| {cost.cpu_pct:.2f} | {_budget(cost)} |"
        )
    out += ["", "Commands:", ""]
    out += [f"- {p.name}: `{p.command}`" for p in programs]
    out.append("")


def run_first_frame(settings: Settings, out: list[str]) -> None:
    """Process start to first full frame at 80x24: hello-world app and console."""
    hello = Program("hello-world Textual app", [_python(), "bench/ref/hello.py"])
    results = []
    for program, marker in (
        (hello, "Hello"),
        (Program("console demo", settings.console), settings.console_marker),
    ):
        _progress(f"first frame: {program.name} ({settings.runs} runs)")
        results.append(first_frame.measure(program, marker, runs=settings.runs))
    base = results[0]
    out += [
        "## First full frame at 80x24",
        "",
        "Seconds from just before the fork until the marker text is on screen "
        "(output after the switch to the alternate screen, escape codes removed). "
        f"Median (min-max) of {settings.runs} runs. The alternate-screen column is "
        "when the UI took over the screen: what comes before it is start-up outside "
        "the UI (imports; for the demo, starting its simulator). Budget: console ≤ "
        f"{BUDGET_FIRST_FRAME_RATIO:g}x the hello-world app.",
        "",
        "| program | marker | median s | min-max s | runs | x hello "
        "| alternate screen at, median s | budget |",
        "|---|---|---:|---|---:|---:|---:|---|",
    ]
    for result in results:
        if not result.measured:
            out.append(
                f"| {result.name} | `{result.marker}` | not measured: "
                f"{_show(result.error)} | | | | | "
                f"{'' if result is base else 'not measured'} |"
            )
            continue
        ratio, verdict = "1.00", ""
        alt = (
            f"{spread(result.alt_screen_seconds)[0]:.3f}"
            if result.alt_screen_seconds
            else "-"
        )
        if result is not base and base.measured:
            value = result.median / base.median
            ratio = f"{value:.2f}"
            verdict = (
                f"≤ {BUDGET_FIRST_FRAME_RATIO:g}x: "
                f"{_verdict(value <= BUDGET_FIRST_FRAME_RATIO)}"
            )
        out.append(
            f"| {result.name} | `{result.marker}` | {result.median:.3f} "
            f"| {min(result.seconds):.3f}-{max(result.seconds):.3f} "
            f"| {len(result.seconds)} | {ratio} | {alt} | {verdict} |"
        )
    out += ["", "Commands:", ""]
    out += [f"- {r.name}: `{r.command}`" for r in results]
    out.append("")


_CHILD = """
import importlib, inspect, json, sys
name, options = sys.argv[1], json.loads(sys.argv[2])
module = importlib.import_module("bench." + name)
accepted = inspect.signature(module.run).parameters
result = module.run(**{k: v for k, v in options.items() if k in accepted})
print("\\n" + sys.argv[3] + json.dumps(result, default=str))
"""


def run_module(name: str, settings: Settings) -> tuple[dict[str, object] | None, str]:
    """Call bench/<name>.py's run() in a child process (so its memory, event loop
    and any hang stay its own). Returns (figures, note); figures None when skipped."""
    if not (REPO / "bench" / f"{name}.py").exists():
        return None, f"not measured: bench/{name}.py does not exist yet"
    # Passed only if run() names them; a duration only when one was asked for, since
    # each module knows its own sensible default.
    options: dict[str, object] = {"quick": settings.quick}
    if settings.duration_given:
        options.update(duration_s=settings.duration_s, seconds=settings.duration_s)
    argv = [sys.executable, "-c", _CHILD, name, json.dumps(options), _RESULT_PREFIX]
    started = time.monotonic()
    try:
        done = subprocess.run(
            argv,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=settings.module_timeout_s,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return (
            None,
            f"not measured: run() did not finish in {settings.module_timeout_s:g} s",
        )
    took = time.monotonic() - started
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(_RESULT_PREFIX):
            figures = json.loads(line[len(_RESULT_PREFIX) :])
            if not isinstance(figures, dict):
                return None, f"not measured: run() returned {type(figures).__name__}"
            return figures, f"`{name}.run()` took {took:.1f} s"
    lines = (done.stderr or done.stdout).strip().splitlines()
    why = lines[-1] if lines else f"exit status {done.returncode}"
    return None, f"not measured: run() failed: {why[:200]}"


def render_figures(module: str, figures: Mapping[str, object]) -> list[str]:
    """A module's figures as Markdown: plain figures as name/value rows, then each
    nested dict (a router, a scenario) as one row of a table, budgets beside."""
    plain = {k: v for k, v in figures.items() if not isinstance(v, Mapping)}
    groups = {
        k: dict(_flatten(v)) for k, v in figures.items() if isinstance(v, Mapping)
    }
    lines: list[str] = []
    if plain:
        lines += ["| figure | value | budget |", "|---|---:|---|"]
        lines += [
            f"| {key} | {_show(v)} | {_module_budget(module, key, v)} |"
            for key, v in _flatten(plain)
        ]
        lines.append("")
    if groups:
        columns = list(dict.fromkeys(c for g in groups.values() for c in g))
        lines += [
            "| | " + " | ".join(columns) + " |",
            "|---|" + "---|" * len(columns),
        ]
        for group, values in groups.items():
            cells = []
            for column in columns:
                value = values.get(column, "")
                verdict = _module_budget(module, f"{group}.{column}", value)
                cells.append(_show(value) + (f" ({verdict})" if verdict else ""))
            lines.append(f"| {group} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def run_modules(settings: Settings, out: list[str]) -> None:
    """The other parts' benchmarks, each a table of its own figures."""
    for name, title in MODULES.items():
        if not settings.wants(name):
            continue
        _progress(f"{name}: run()")
        figures, note = run_module(name, settings)
        out += [f"## {title}", "", f"From bench/{name}.py; {note}.", ""]
        if figures:
            out += render_figures(name, figures)


# --- the report -------------------------------------------------------------------


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _revision() -> str:
    """The commit measured, and whether the work tree differed from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "console"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "an unknown revision (git did not answer)"
    return f"commit {head}" + (" with uncommitted changes in console/" if dirty else "")


def machine_lines(argv: Sequence[str]) -> list[str]:
    """The header: machine, versions, date and the command that wrote the file."""
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [
        "# boop-console benchmarks",
        "",
        f"Written by `{shlex.join(['python', '-m', 'bench', *argv])}` on {now}, "
        f"measuring {_revision()}.",
        "",
        f"- CPU: {_cpu_model()}, {os.cpu_count()} cores; load average at start "
        f"{load} (other work on the machine skews CPU and timing figures)",
        f"- {platform.system()} {platform.release()}, Python "
        f"{platform.python_version()}",
        f"- textual {_version('textual')}, textual-plotext "
        f"{_version('textual-plotext')}, plotext {_version('plotext')}",
        "",
    ]


def _progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str]) -> tuple[Settings, Path]:
    """Read the command line into Settings and the output path."""
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Measure boop-console's budget."
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        metavar="NAME",
        help=f"run only this section (repeatable): {', '.join(SECTIONS)}",
    )
    parser.add_argument("--quick", action="store_true", help="fewer, shorter runs")
    parser.add_argument(
        "--duration", type=float, metavar="S", help="measured seconds per program"
    )
    parser.add_argument(
        "--settle", type=float, metavar="S", help="start-up not counted"
    )
    parser.add_argument("--runs", type=int, help="first-frame runs per program")
    parser.add_argument(
        "--console",
        default=f"{_python()} -m console demo",
        help="the console's command line (default: %(default)s)",
    )
    parser.add_argument(
        "--console-marker",
        default="PROD (production)",
        help="text on the console's first full frame: the start of its status line "
        "once the engine's first snapshot is drawn (default: %(default)s)",
    )
    parser.add_argument("--low-bandwidth-flag", default="--low-bandwidth")
    parser.add_argument("--module-timeout", type=float, metavar="S")
    parser.add_argument("--output", type=Path, help="default bench/RESULTS.md")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    settings = Settings(
        quick=quick,
        settle_s=args.settle if args.settle is not None else (3.0 if quick else 5.0),
        duration_s=args.duration or (10.0 if quick else 30.0),
        runs=args.runs or (3 if quick else 10),
        console=shlex.split(args.console),
        console_marker=args.console_marker,
        low_bandwidth_flag=args.low_bandwidth_flag,
        module_timeout_s=args.module_timeout or (300.0 if quick else 900.0),
        only=tuple(args.only or ()),
        duration_given=args.duration is not None,
    )
    output = args.output
    if output is None:
        output = (
            REPO / "bench" / "out" / f"RESULTS-{'-'.join(settings.only)}.md"
            if settings.only
            else REPO / "bench" / "RESULTS.md"
        )
    return settings, output


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected benchmarks and write the report."""
    argv = list(sys.argv[1:] if argv is None else argv)
    settings, output = parse_args(argv)
    # Programs and reference scripts are named relative to the repository.
    os.chdir(REPO)
    out = machine_lines(argv)
    steps: list[tuple[str, Callable[[Settings, list[str]], None]]] = [
        ("terminal", run_terminal),
        ("first_frame", run_first_frame),
    ]
    for name, step in steps:
        if settings.wants(name):
            step(settings, out)
    run_modules(settings, out)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(out).rstrip() + "\n", encoding="utf-8")
    _progress(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
