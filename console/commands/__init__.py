"""Subcommands of `boop-console`, one module per group (see console/cli.py).

Modules import their heavy dependencies inside the handler, so `--help` stays fast.
"""
