"""What the UI asks of optional collaborators: the demo's fault menu and the
credential store. Small Protocols so that the UI never imports their packages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class FaultMenu(Protocol):
    """Live fault injection for demos and game days (provided by console.sim)."""

    def kinds(self) -> Sequence[tuple[str, str]]:
        """(key, label) pairs, e.g. ('prod_auth_errors', 'prod: 5% auth errors')."""
        ...

    async def inject(self, kind: str) -> None:
        """Start the fault named by ``kind``."""
        ...

    async def clear(self) -> None:
        """Stop every injected fault."""
        ...


class CredentialEditor(Protocol):
    """Set, replace or delete an environment's credentials; matches
    console.credentials.store.CredentialStore.

    The methods may block (keyring over D-Bus), so the UI calls them in a thread
    worker. They raise a console.errors.ConsoleError subclass on failure, whose
    message never contains the key in full.
    """

    def set(self, env: str, vendor_id: str, api_key: str) -> object:
        """Store (or replace) the vendor id and API key for ``env``."""
        ...

    def delete(self, env: str) -> object:
        """Remove the stored credentials of ``env``."""
        ...
