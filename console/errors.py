"""The console's exception tree.

Every error a person can meet derives from :class:`ConsoleError`, which carries a
short ``title`` for the UI and a message that says what happened and what to do::

    ConsoleError
    ├── ConfigError              malformed or missing configuration (names the key path)
    ├── BoopError                console.boop: anything talking to BOOP
    ├── RouterError              console.routing: a router write or read-back failed
    ├── MetricsError             console.metrics: a source failed or answered nonsense
    ├── CredentialError          console.credentials: store missing, locked, mismatch
    ├── StateError               console.engine: state, lease or journal problems
    └── SimulatorError           console.sim: the embedded simulator failed to start

Each package defines its subclasses next to its code and translates library errors
(httpx, websockets, keyring, OSError) at one boundary, chained with ``from``.
Messages never contain a secret in full: use ``console.credentials.masking.mask``.
"""

from __future__ import annotations


class ConsoleError(Exception):
    """Root of every error the console raises on purpose."""

    title = "Error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        # A multi-line message (a list of config errors) gets its hint on a line
        # of its own, where it cannot be mistaken for the last item.
        separator = "\n" if "\n" in message else " "
        super().__init__(message if hint is None else f"{message}{separator}{hint}")


class ConfigError(ConsoleError):
    title = "Configuration error"


class BoopError(ConsoleError):
    title = "BOOP error"


class RouterError(ConsoleError):
    title = "Router error"


class MetricsError(ConsoleError):
    title = "Metrics error"


class CredentialError(ConsoleError):
    title = "Credentials error"


class StateError(ConsoleError):
    title = "State error"


class SimulatorError(ConsoleError):
    title = "Simulator error"
