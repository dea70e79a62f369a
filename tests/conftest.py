"""Shared test helpers.

Tests that need a real service binary (haproxy, prometheus, gnome-keyring, tmux) call
:func:`require_binary`: it skips locally when the binary is missing and fails in CI
(CI=true), where `.ci/run` installs them.
"""

from __future__ import annotations

import os
import shutil

import pytest


def require_binary(name: str, package: str | None = None) -> str:
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} not found: apt-get install {package or name}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


MINIMAL_CONFIG = """
state_dir = "{state}"
[environments.dev]
base_url = "http://127.0.0.1:9"
ws_url = "ws://127.0.0.1:9"
[environments.prod]
base_url = "http://127.0.0.1:9"
ws_url = "ws://127.0.0.1:9"
production = true
"""
"""The smallest valid config (format with state=...): both environments point at a
closed port on 127.0.0.1, so nothing is ever reached."""
