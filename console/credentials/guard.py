"""The environment guard: the right key for the right host, checked before sending.

BOOP's migration guide asks integrations to detect their environment and refuse
accidental production calls. The console checks every request before it leaves:

* a live credential (``sk_live_``, ``ven_live_``) never goes to a non-production host;
* a dev or test credential never goes to a production host, and production takes
  only a ``sk_live_`` key;
* the first production call of a run is confirmed by a person, naming the host
  (:class:`ProductionConfirmation`; the TUI asks in a dialog, the CLI takes --yes or
  prompts).

A host is production when its environment has ``production = true`` or its host name
is in ``safety.production_hosts``. The client (console.boop) receives the callable
from :func:`make_guard` and calls it as ``guard(url, vendor_id, api_key)``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from console.config import EnvironmentConfig, SafetyConfig
from console.credentials.formats import KeyKind, key_kind
from console.credentials.masking import mask
from console.errors import CredentialError

log = logging.getLogger("console.credentials")

Guard = Callable[[str, str, str], None]
"""guard(url, vendor_id, api_key): returns, or raises EnvironmentMismatch."""


class EnvironmentMismatch(CredentialError):
    """A credential was about to reach the wrong kind of environment."""

    title = "Wrong credentials for this environment"


class ProductionNotConfirmed(CredentialError):
    """A person declined (or could not be asked) to call production."""

    title = "Production call not confirmed"


def is_production(url: str, env_cfg: EnvironmentConfig, safety: SafetyConfig) -> bool:
    """True when ``url`` (or its environment) is production."""
    host = (urlsplit(url).hostname or "").lower()
    hosts = {h.lower() for h in safety.production_hosts}
    return env_cfg.production or host in hosts or env_cfg.host.lower() in hosts


def credential_problems(
    url: str,
    vendor_id: str,
    api_key: str,
    env_cfg: EnvironmentConfig,
    safety: SafetyConfig,
) -> list[str]:
    """Why this pair must not be sent to ``url``; empty when it may."""
    host = urlsplit(url).hostname or url
    production = is_production(url, env_cfg, safety)
    problems = []
    for label, value in (("vendor id", vendor_id), ("API key", api_key)):
        if not value:
            continue  # an unauthenticated call (GET /health) sends no credential
        kind = key_kind(value)
        if production and kind in (KeyKind.DEV, KeyKind.TEST):
            problems.append(
                f"{label} {mask(value)} is a {kind} credential and {host} is production"
            )
        elif not production and kind is KeyKind.LIVE:
            problems.append(
                f"{label} {mask(value)} is a live credential "
                f"and {host} is not production"
            )
    if production and api_key and key_kind(api_key) is KeyKind.UNKNOWN:
        problems.append(
            f"API key {mask(api_key)} is not a sk_live_ key and {host} is production"
        )
    return problems


def check_credentials_for_env(
    url: str,
    vendor_id: str,
    api_key: str,
    env_cfg: EnvironmentConfig,
    safety: SafetyConfig,
) -> None:
    """Raise :class:`EnvironmentMismatch` when the pair must not reach ``url``."""
    problems = credential_problems(url, vendor_id, api_key, env_cfg, safety)
    if problems:
        log.warning("refused a request to %s: %s", urlsplit(url).hostname, problems)
        raise EnvironmentMismatch(
            "Refused before sending: " + "; ".join(problems) + ".",
            hint="Use the credentials issued for this environment "
            "(`boop-console creds show`), or fix environments.*.production / "
            "safety.production_hosts.",
        )


class ProductionConfirmation:
    """Asks once per run and host before the first production call.

    ``ask(host) -> bool`` is supplied by the host: a dialog, a terminal prompt, or
    ``lambda host: True`` after ``--yes``. ``None`` means nobody can be asked, and
    production calls are refused until :meth:`confirm` is called.
    """

    def __init__(self, ask: Callable[[str], bool] | None = None) -> None:
        self._ask = ask
        self._confirmed: set[str] = set()
        self._lock = threading.Lock()

    def confirm(self, host: str) -> None:
        """Record that a person confirmed ``host`` (e.g. in an async dialog)."""
        with self._lock:
            self._confirmed.add(host.lower())
        log.info("production host %s confirmed", host)

    def is_confirmed(self, host: str) -> bool:
        with self._lock:
            return host.lower() in self._confirmed

    def ensure(self, host: str) -> None:
        """Return when ``host`` is confirmed, asking now if needed; else raise."""
        if self.is_confirmed(host):
            return
        if self._ask is None:
            raise ProductionNotConfirmed(
                f"The first call to production host {host} needs a confirmation "
                "and nobody was asked.",
                hint="Confirm it in the console, or pass --yes on the command line.",
            )
        if not self._ask(host):
            raise ProductionNotConfirmed(
                f"Call to production host {host} not confirmed; nothing was sent."
            )
        self.confirm(host)


def make_guard(
    env_cfg: EnvironmentConfig,
    safety_cfg: SafetyConfig,
    confirmation: ProductionConfirmation | None = None,
) -> Guard:
    """The callable the BOOP client runs before every request.

    With ``confirmation``, the first production call of the run also needs a
    person's yes (see :class:`ProductionConfirmation`).
    """

    def guard(url: str, vendor_id: str, api_key: str) -> None:
        check_credentials_for_env(url, vendor_id, api_key, env_cfg, safety_cfg)
        if confirmation is not None and is_production(url, env_cfg, safety_cfg):
            confirmation.ensure(urlsplit(url).hostname or url)

    return guard
