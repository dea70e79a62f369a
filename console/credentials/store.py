"""Where an environment's vendor id and API key come from, in a fixed order.

1. the OS keyring (service ``credentials.service``, usernames ``<env>/vendor_id``,
   ``<env>/api_key`` and ``<env>/stored_at``);
2. environment variables as BOOP names them: ``BOOP_<ENV>_VENDOR_ID`` /
   ``BOOP_<ENV>_API_KEY``, or ``BOOP_VENDOR_ID`` / ``BOOP_API_KEY`` when ``BOOP_ENV``
   names this environment (development -> dev, production -> prod);
3. ``credentials.commands[env]``: a command (no shell) printing ``vendor_id api_key``;
4. the opt-in encrypted file ``credentials.encrypted_file``.

The first source holding both values wins, and the result says which one it was
(``keyring (SecretService)``, ``environment BOOP_PROD_API_KEY``, ...). A source that
fails is reported with the others when nothing is found.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from console.config import CredentialsConfig
from console.credentials.encrypted_file import EncryptedFile
from console.credentials.keyring_store import KeyringStore, KeyringUnavailable
from console.credentials.masking import Secret, redact
from console.errors import CredentialError

log = logging.getLogger("console.credentials")

ROTATION_PERIOD_S = 365 * 24 * 3600.0
"""The migration guide's ongoing checklist: annual credential rotation."""

BOOP_ENV_NAMES = {"development": "dev", "production": "prod"}
"""BOOP_ENV values (migration guide) and the environment names they mean here."""

Where = Literal["auto", "keyring", "file"]


@dataclass(frozen=True)
class ResolvedCredentials:
    """One environment's credentials and where they came from; repr is masked."""

    env: str
    vendor_id: Secret
    api_key: Secret
    source: str
    stored_at: float | None = None
    """When they were stored (keyring, encrypted file); None when unknown."""

    def age_s(self, now: float | None = None) -> float | None:
        if self.stored_at is None:
            return None
        return (time.time() if now is None else now) - self.stored_at

    @property
    def rotation_due_at(self) -> float | None:
        """Annual rotation: stored_at + 365 days."""
        return None if self.stored_at is None else self.stored_at + ROTATION_PERIOD_S


@dataclass(frozen=True)
class CredentialSummaryData:
    """Same fields as ``console.engine.model.CredentialSummary`` (which may not be
    imported from here); the engine converts with ``CredentialSummary(**asdict(x))``."""

    env: str
    vendor_id_masked: str | None
    api_key_masked: str | None
    source: str
    stored_at: float | None = None
    problem: str | None = None


def env_var_names(env: str) -> tuple[str, str]:
    """``('BOOP_PROD_VENDOR_ID', 'BOOP_PROD_API_KEY')`` for env 'prod'."""
    stem = re.sub(r"[^A-Za-z0-9]", "_", env).upper()
    return f"BOOP_{stem}_VENDOR_ID", f"BOOP_{stem}_API_KEY"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _parse_iso(text: str | None) -> float | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


PASSPHRASE_ENV = "BOOP_CONSOLE_PASSPHRASE"
"""Environment variable with the encrypted file's passphrase, for hosts with no
terminal to ask on (scripts, `creds set --stdin` in a pipeline)."""


class CredentialStore:
    """Resolve, store and delete per-environment credentials (see module docstring).

    ``passphrase`` is called at most once per run, only when the encrypted file is
    needed; hosts pass a function that asks (getpass, an in-app dialog).
    """

    def __init__(
        self,
        config: CredentialsConfig,
        *,
        environ: Mapping[str, str] | None = None,
        passphrase: Callable[[], str] | None = None,
        keyring_backend: Any | None = None,
        command_timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
        envs: Iterable[str] = (),
        source_label: str | None = None,
    ) -> None:
        self.config = config
        self.envs = tuple(envs)
        """Environments :meth:`summaries` covers when given none."""
        self.source_label = source_label
        """Shown as every result's source instead of the source's own name (the
        demo labels its run-only credentials 'demo (this run only)')."""
        self.keyring = KeyringStore(
            config.service, config.keyring_timeout_s, backend=keyring_backend
        )
        self._environ = environ
        self._passphrase_fn = passphrase
        self._passphrase: str | None = None
        self._pass_lock = threading.Lock()
        self.command_timeout_s = command_timeout_s
        self._clock = clock
        path = config.encrypted_file
        self.encrypted = EncryptedFile(Path(path).expanduser()) if path else None

    # -- sources -----------------------------------------------------------------

    def backend_name(self) -> str:
        """The keyring backend in use ('SecretService'), or why none is used."""
        return self.keyring.name()

    def _environ_now(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def _get_passphrase(self) -> str | None:
        """The encrypted file's passphrase: $BOOP_CONSOLE_PASSPHRASE, else asked
        from the host once. Raises CredentialError when the host cannot ask."""
        from_env = self._environ_now().get(PASSPHRASE_ENV)
        if from_env:
            return from_env
        with self._pass_lock:
            if self._passphrase is None and self._passphrase_fn is not None:
                self._passphrase = self._passphrase_fn()
            return self._passphrase

    def _from_keyring(self, env: str) -> ResolvedCredentials | str:
        try:
            vendor_id = self.keyring.get(f"{env}/vendor_id")
            api_key = self.keyring.get(f"{env}/api_key")
            stored_at = self.keyring.get(f"{env}/stored_at") if api_key else None
        except KeyringUnavailable as exc:
            return f"keyring: {exc.message}"
        if not vendor_id or not api_key:
            missing = "nothing" if not (vendor_id or api_key) else "only one of the two"
            return f"keyring ({self.keyring.name()}): {missing} stored for {env}"
        return ResolvedCredentials(
            env,
            Secret(vendor_id),
            Secret(api_key),
            f"keyring ({self.keyring.name()})",
            _parse_iso(stored_at),
        )

    def _from_environment(self, env: str) -> ResolvedCredentials | str:
        environ = self._environ_now()
        id_var, key_var = env_var_names(env)
        if environ.get(id_var) and environ.get(key_var):
            return ResolvedCredentials(
                env,
                Secret(environ[id_var]),
                Secret(environ[key_var]),
                f"environment {key_var}",
            )
        boop_env = environ.get("BOOP_ENV", "")
        generic_ok = BOOP_ENV_NAMES.get(boop_env, boop_env) == env
        if generic_ok and environ.get("BOOP_VENDOR_ID") and environ.get("BOOP_API_KEY"):
            return ResolvedCredentials(
                env,
                Secret(environ["BOOP_VENDOR_ID"]),
                Secret(environ["BOOP_API_KEY"]),
                f"environment BOOP_API_KEY (BOOP_ENV={boop_env})",
            )
        return f"environment: {id_var}/{key_var} not set"

    def _from_command(self, env: str) -> ResolvedCredentials | str:
        command = self.config.commands.get(env)
        if not command:
            return "command: none configured"
        argv = shlex.split(command)
        label = f"command `{command}`"
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=self.command_timeout_s,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except FileNotFoundError:
            return f"{label}: {argv[0]} not found"
        except subprocess.TimeoutExpired:
            return f"{label}: no answer within {self.command_timeout_s:g} s"
        except OSError as exc:
            return f"{label}: {exc.strerror}"
        if done.returncode != 0:
            first = (done.stderr.strip().splitlines() or [""])[0][:120]
            return f"{label}: exit status {done.returncode} {redact(first)}".rstrip()
        tokens = done.stdout.split()
        if len(tokens) != 2:
            return f"{label}: expected 'vendor_id api_key', got {len(tokens)} words"
        return ResolvedCredentials(env, Secret(tokens[0]), Secret(tokens[1]), label)

    def _from_file(self, env: str) -> ResolvedCredentials | str:
        if self.encrypted is None:
            return "encrypted file: not configured"
        label = f"encrypted file {self.encrypted.path}"
        if not self.encrypted.exists():
            return f"{label}: does not exist"
        try:
            passphrase = self._get_passphrase()
        except CredentialError as exc:
            return f"{label}: {exc.message}"
        if passphrase is None:
            return f"{label}: no passphrase (this host cannot ask for one)"
        try:
            entries = self.encrypted.load(passphrase)
        except CredentialError as exc:
            with self._pass_lock:
                self._passphrase = None  # let the host ask again
            return f"{label}: {exc.message}"
        entry = entries.get(env)
        if not entry or not entry.get("vendor_id") or not entry.get("api_key"):
            return f"{label}: nothing stored for {env}"
        stored_at = entry.get("stored_at")
        return ResolvedCredentials(
            env,
            Secret(str(entry["vendor_id"])),
            Secret(str(entry["api_key"])),
            label,
            float(stored_at) if isinstance(stored_at, int | float) else None,
        )

    # -- public API ----------------------------------------------------------------

    def resolve(self, env: str) -> ResolvedCredentials:
        """The first source holding both values; CredentialError listing every
        source's outcome when none does."""
        outcomes: list[str] = []
        for source in (
            self._from_keyring,
            self._from_environment,
            self._from_command,
            self._from_file,
        ):
            found = source(env)
            if isinstance(found, ResolvedCredentials):
                if self.source_label is not None:
                    found = replace(found, source=self.source_label)
                log.debug("credentials for %s from %s", env, found.source)
                return found
            outcomes.append(found.rstrip("."))
        raise CredentialError(
            f"No credentials for environment {env!r}. Tried: "
            + "; ".join(outcomes)
            + ".",
            hint=f"Store them with `boop-console creds set {env}` or set "
            f"{env_var_names(env)[1]}; see docs/credentials.md.",
        )

    def set(self, env: str, vendor_id: str, api_key: str, where: Where = "auto") -> str:
        """Store credentials; returns where ('keyring (SecretService)', ...).

        ``auto`` uses the keyring when it is usable, else the encrypted file when it
        is configured; never a plaintext file.
        """
        Secret(vendor_id), Secret(api_key)  # registers both for redaction
        now = self._clock()
        use_file = where == "file" or (
            where == "auto" and self.encrypted is not None and not self.keyring.usable()
        )
        if not use_file:
            self.keyring.set(f"{env}/vendor_id", vendor_id)
            self.keyring.set(f"{env}/api_key", api_key)
            self.keyring.set(f"{env}/stored_at", _iso(now))
            place = f"keyring ({self.keyring.name()})"
        else:
            if self.encrypted is None:
                raise CredentialError(
                    "No encrypted file is configured.",
                    hint="Set credentials.encrypted_file in the config first.",
                )
            passphrase = self._get_passphrase()
            if not passphrase:
                raise CredentialError(
                    "The encrypted file needs a passphrase and none was given."
                )
            entries = self.encrypted.load(passphrase)
            entries[env] = {
                "vendor_id": vendor_id,
                "api_key": api_key,
                "stored_at": now,
            }
            self.encrypted.save(passphrase, entries)
            place = f"encrypted file {self.encrypted.path}"
        log.info("credentials for %s stored in %s", env, place)
        return place

    def delete(self, env: str) -> list[str]:
        """Delete from the keyring and the encrypted file; returns where they were."""
        removed: list[str] = []
        if self.keyring.usable():
            found = [
                self.keyring.delete(f"{env}/{name}")
                for name in ("vendor_id", "api_key", "stored_at")
            ]
            if any(found):
                removed.append(f"keyring ({self.keyring.name()})")
        if self.encrypted is not None and self.encrypted.exists():
            passphrase = self._get_passphrase()
            if passphrase:
                entries = self.encrypted.load(passphrase)
                if entries.pop(env, None) is not None:
                    self.encrypted.save(passphrase, entries)
                    removed.append(f"encrypted file {self.encrypted.path}")
        log.info("credentials for %s deleted from %s", env, removed or "nowhere")
        return removed

    def summaries(
        self, envs: Iterable[str] | None = None
    ) -> list[CredentialSummaryData]:
        """One masked line per environment (default: the constructor's ``envs``),
        with its source or its problem. Blocking (keyring): call from a thread."""
        rows: list[CredentialSummaryData] = []
        for env in self.envs if envs is None else envs:
            try:
                found = self.resolve(env)
            except CredentialError as exc:
                rows.append(
                    CredentialSummaryData(env, None, None, "none", None, exc.message)
                )
                continue
            rows.append(
                CredentialSummaryData(
                    env,
                    found.vendor_id.masked,
                    found.api_key.masked,
                    found.source,
                    found.stored_at,
                )
            )
        return rows
