"""The embedded BOOP stand-in: dev and prod BOOP, a legacy payment system, a vendor
load generator with Prometheus metrics, and fault injection. See docs/simulator.md.

Standalone: it may import console.boop, config and errors, never engine or ui.
The public names are imported lazily so that `boop-console --help` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from console.sim.faults import FaultKind, Faults
    from console.sim.simulator import SimProcess, Simulator, start_simulator_process

__all__ = ["FaultKind", "Faults", "SimProcess", "Simulator", "start_simulator_process"]


def __getattr__(name: str) -> Any:
    if name in ("FaultKind", "Faults"):
        from console.sim import faults

        return getattr(faults, name)
    if name in ("SimProcess", "Simulator", "start_simulator_process"):
        from console.sim import simulator

        return getattr(simulator, name)
    raise AttributeError(name)
