"""The OS keyring, bounded in time and never prompting.

Every call runs in a daemon thread and is abandoned after ``timeout_s``: a Secret
Service waiting on an unlock prompt that nobody sees must not freeze the console.
After one timeout the keyring is marked unusable for the rest of the run, so hung
threads do not pile up. Backends that would ask for a passphrase on the terminal
(keyrings.alt's EncryptedKeyring, keyrings.cryptfile) or write plaintext files are
skipped and the reason is reported. Every keyring exception becomes a
:class:`~console.errors.CredentialError` that says what to do instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from console.errors import CredentialError

log = logging.getLogger("console.credentials")

T = TypeVar("T")

FALLBACK_HINT = (
    "Use environment variables (BOOP_PROD_VENDOR_ID / BOOP_PROD_API_KEY), "
    "credentials.commands or credentials.encrypted_file; see docs/credentials.md."
)

# (module prefix or class name fragment, why it is skipped)
_REFUSED = (
    ("keyrings.cryptfile", "encrypts a file and prompts for its passphrase"),
    ("EncryptedKeyring", "encrypts a file and prompts for its passphrase"),
    ("PlaintextKeyring", "stores secrets in a plaintext file"),
    ("keyring.backends.null", "stores nothing (the null backend)"),
    ("keyring.backends.fail", "no keyring backend is available on this host"),
)


class KeyringUnavailable(CredentialError):
    """The OS keyring cannot be used on this host (missing, locked, prompting, hung)."""

    title = "Keyring unavailable"


def backend_label(backend: object) -> str:
    """A short name: 'SecretService', 'macOS', 'Windows', 'kwallet', ..."""
    module = type(backend).__module__
    last = module.rpartition(".")[2]
    return last if module.startswith("keyring.backends.") else type(backend).__name__


def refusal_reason(backend: object) -> str | None:
    """Why ``backend`` must not be used, or None when it is acceptable."""
    cls = type(backend)
    qualified = f"{cls.__module__}.{cls.__qualname__}"
    for fragment, why in _REFUSED:
        if fragment in qualified:
            return why
    return None


def _choose(backend: Any) -> tuple[Any | None, str]:
    """The usable backend (descending into the chainer) and a reason if none."""
    children = getattr(backend, "backends", None)
    if children is not None:
        reasons = []
        for child in children:
            why = refusal_reason(child)
            if why is None:
                return child, ""
            reasons.append(f"{why} ({backend_label(child)})")
        return None, "; ".join(reasons) or "no keyring backend is available"
    why = refusal_reason(backend)
    if why is not None:
        return None, f"{why} ({backend_label(backend)})"
    return backend, ""


def run_with_deadline(fn: Callable[[], T], timeout_s: float, what: str) -> T:
    """Run ``fn`` in a daemon thread; raise TimeoutError after ``timeout_s``.

    The thread is abandoned, not killed (Python cannot): it is a daemon, so it never
    holds up interpreter exit.
    """
    box: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=target, name=f"keyring {what}", daemon=True)
    thread.start()
    if not done.wait(timeout_s):
        raise TimeoutError(f"{what} did not answer within {timeout_s:g} s")
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def _translate(exc: BaseException, what: str) -> KeyringUnavailable:
    import keyring.errors as kerr

    name = type(exc).__name__
    if isinstance(exc, TimeoutError):
        return KeyringUnavailable(
            f"The OS keyring did not answer ({exc}); an unlock prompt may be "
            "waiting where nobody can see it.",
            hint="Unlock the keyring, or: " + FALLBACK_HINT,
        )
    if isinstance(exc, kerr.NoKeyringError):
        return KeyringUnavailable(
            "No OS keyring on this host (no Secret Service / D-Bus session).",
            hint=FALLBACK_HINT,
        )
    if isinstance(exc, kerr.KeyringLocked):
        return KeyringUnavailable(
            f"The OS keyring is locked ({what}).",
            hint="Unlock it (e.g. log in to the desktop session) or " + FALLBACK_HINT,
        )
    if isinstance(exc, kerr.InitError):
        return KeyringUnavailable(
            f"The OS keyring could not be opened ({name}: {exc}).",
            hint="An unlock prompt was dismissed or cannot be shown here. "
            + FALLBACK_HINT,
        )
    return KeyringUnavailable(
        f"The OS keyring failed during {what} ({name}: {exc}).", hint=FALLBACK_HINT
    )


class KeyringStore:
    """get/set/delete on the OS keyring under one service, each call time-bounded.

    ``backend`` overrides ``keyring.get_keyring()`` (tests, or a host that chose one).
    """

    def __init__(
        self, service: str, timeout_s: float = 3.0, backend: Any | None = None
    ) -> None:
        self.service = service
        self.timeout_s = timeout_s
        self._backend = backend
        self._resolved = backend is not None
        self._broken: str | None = None
        self._lock = threading.Lock()

    def _get_backend(self) -> Any:
        with self._lock:
            if self._broken is not None:
                raise KeyringUnavailable(self._broken, hint=FALLBACK_HINT)
            if not self._resolved:
                import keyring

                try:
                    found = run_with_deadline(
                        keyring.get_keyring, self.timeout_s, "keyring start-up"
                    )
                except Exception as exc:
                    error = _translate(exc, "start-up")
                    self._broken = error.message
                    raise error from exc
                self._backend = found
                self._resolved = True
            chosen, why = _choose(self._backend)
            if chosen is None:
                message = f"The OS keyring is not used: {why}."
                log.info("keyring skipped: %s", why)
                raise KeyringUnavailable(message, hint=FALLBACK_HINT)
            return chosen

    def name(self) -> str:
        """'SecretService', or a sentence saying why no keyring is used."""
        try:
            return backend_label(self._get_backend())
        except CredentialError as exc:
            return f"none ({exc.message})"

    def usable(self) -> bool:
        """True when a non-prompting backend is present (does not unlock it)."""
        try:
            self._get_backend()
        except CredentialError:
            return False
        return True

    def _call(self, what: str, fn: Callable[[Any], T]) -> T:
        backend = self._get_backend()
        try:
            return run_with_deadline(lambda: fn(backend), self.timeout_s, what)
        except Exception as exc:
            error = _translate(exc, what)
            if isinstance(exc, TimeoutError):
                # A hung backend stays hung: do not start another thread on it.
                self._broken = error.message
            log.warning("keyring %s failed: %s", what, error.message)
            raise error from exc

    def get(self, username: str) -> str | None:
        """The stored value, or None when there is none."""
        result: str | None = self._call(
            f"read {username}", lambda b: b.get_password(self.service, username)
        )
        return result

    def set(self, username: str, value: str) -> None:
        """Store ``value`` under ``username``."""
        self._call(
            f"write {username}", lambda b: b.set_password(self.service, username, value)
        )

    def delete(self, username: str) -> bool:
        """Delete ``username``; False when nothing was stored."""
        import keyring.errors as kerr

        def do(backend: Any) -> bool:
            try:
                backend.delete_password(self.service, username)
            except kerr.PasswordDeleteError:
                return False
            return True

        return self._call(f"delete {username}", do)
