"""Benchmarks of boop-console against its performance budget (design.md).

`python -m bench` (or `make bench`) runs them and writes bench/RESULTS.md; see
bench/README.md. bench/terminal.py and bench/first_frame.py run programs in a pty;
the other modules each offer ``run() -> dict`` with their own figures.
"""
