"""A real simulator on 127.0.0.1 for the client tests (no vendor load)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from console.sim.simulator import Simulator


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(rate=0.0, seed=7) as simulator:
        yield simulator
