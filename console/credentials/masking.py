"""Keep secrets out of every screen, log line, journal entry and error message.

* :func:`mask` turns ``sk_live_4c1d...9f3a`` into ``sk_live_…9f3a``: the public kind
  prefix plus the last four characters; short secrets are hidden completely.
* :class:`Secret` wraps a value so that ``str``, ``repr`` and f-strings show only the
  mask; :meth:`Secret.reveal` is the one, greppable way to the real value.
* :func:`register_secret` remembers every value the console has loaded, and
  :func:`redact` replaces those values (and anything shaped like a BOOP key) in text.
* :class:`RedactingFilter` applies :func:`redact` to every log record that passes
  through a handler; :func:`install_log_redaction` adds it to the root handlers.
"""

from __future__ import annotations

import hmac
import logging
import re
import threading

KNOWN_PREFIXES = (
    "sk_live_",
    "sk_test_",
    "sk_dev_",
    "ven_live_",
    "ven_test_",
    "ven_dev_",
    "sk_",
    "ven_",
)
"""Public prefixes of BOOP credentials; the kind of a key is not a secret."""

_SHOWN_TAIL = 4
_MIN_REST_TO_SHOW_TAIL = 12
"""Below this many characters after the prefix, showing 4 would reveal too much."""

# Anything that looks like a BOOP key or vendor id, registered or not.
_KEY_SHAPE = re.compile(r"\b(?:sk|ven)_(?:live|test|dev)_[A-Za-z0-9_\-]{4,}")

_registry: set[str] = set()
_registry_lock = threading.Lock()


def _prefix_of(secret: str) -> str:
    for prefix in KNOWN_PREFIXES:
        if secret.startswith(prefix):
            return prefix
    return ""


def mask(secret: str | None) -> str:
    """Return a display form of ``secret``: ``'sk_live_…9f3a'``.

    The known kind prefix stays, then ``…``, then the last four characters when at
    least twelve characters follow the prefix; otherwise only ``prefix…``.
    ``None`` and ``''`` give ``'(none)'``.
    """
    if not secret:
        return "(none)"
    prefix = _prefix_of(secret)
    rest = secret[len(prefix) :]
    if len(rest) < _MIN_REST_TO_SHOW_TAIL:
        return f"{prefix}…"
    return f"{prefix}…{rest[-_SHOWN_TAIL:]}"


class Secret:
    """A secret string whose every printable form is masked.

    Not a ``str`` subclass on purpose: ``json.dumps`` and string concatenation fail
    loudly instead of leaking the value. Equality is constant-time.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register_secret(value)

    def reveal(self) -> str:
        """The real value, for the one place that must send it (a request header)."""
        return self._value

    @property
    def masked(self) -> str:
        return mask(self._value)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"Secret({self.masked!r})"

    def __format__(self, spec: str) -> str:
        return format(self.masked, spec)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return hmac.compare_digest(self._value.encode(), other._value.encode())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


def register_secret(value: str | None) -> None:
    """Remember ``value`` so that :func:`redact` and the log filter hide it."""
    # Very short values would redact ordinary words; they are masked where shown.
    if value and len(value) >= 6:
        with _registry_lock:
            _registry.add(value)


def forget_secrets() -> None:
    """Clear the registry (tests)."""
    with _registry_lock:
        _registry.clear()


def redact(text: str) -> str:
    """Replace every registered secret and every BOOP-key-shaped token by its mask."""
    with _registry_lock:
        known = sorted(_registry, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, mask(value))
    return _KEY_SHAPE.sub(lambda m: mask(m.group(0)), text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts secrets in the message and the traceback.

    Attach it to handlers (a logger's own filters do not see records propagated from
    child loggers). The record is rewritten in place, so every later formatter and
    handler sees only the redacted text.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact(self._formatter.formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> RedactingFilter:
    """Add one :class:`RedactingFilter` to every handler of ``logger`` (default root).

    Hosts call this after configuring their handlers; calling it again is harmless.
    """
    target = logger or logging.getLogger()
    existing = [
        f
        for handler in target.handlers
        for f in handler.filters
        if isinstance(f, RedactingFilter)
    ]
    flt = existing[0] if existing else RedactingFilter()
    for handler in target.handlers:
        if flt not in handler.filters:
            handler.addFilter(flt)
    return flt
