"""What BOOP credentials look like (boop-api.md section 1.3).

Vendor ids start with ``ven_`` and API keys with ``sk_``, then ``live_`` (production),
``dev_`` or ``test_`` (development only). Generic ``ven_<id>`` ids appear in BOOP's
quick-start, so an id without a kind is accepted; a key without one is not.
"""

from __future__ import annotations

import re
from enum import StrEnum


class KeyKind(StrEnum):
    """Which environment a credential was issued for."""

    LIVE = "live"
    DEV = "dev"
    TEST = "test"
    UNKNOWN = "unknown"

    @property
    def production(self) -> bool:
        return self is KeyKind.LIVE


_KIND = re.compile(r"^(?:sk|ven)_(live|dev|test)_")
_API_KEY = re.compile(r"^sk_(?:live|dev|test)_[A-Za-z0-9_\-]{4,}$")
_VENDOR_ID = re.compile(r"^ven_[A-Za-z0-9_\-]{3,}$")


def key_kind(value: str) -> KeyKind:
    """The kind of a vendor id or API key, from its prefix."""
    match = _KIND.match(value)
    return KeyKind(match.group(1)) if match else KeyKind.UNKNOWN


def format_problems(vendor_id: str, api_key: str) -> list[str]:
    """Format problems of a credential pair, in words; empty when it looks right.

    Never includes the values themselves, only their kinds.
    """
    problems: list[str] = []
    if not _VENDOR_ID.match(vendor_id):
        problems.append("vendor id does not look like ven_<kind>_<id>")
    if not _API_KEY.match(api_key):
        problems.append("API key does not look like sk_live_/sk_dev_/sk_test_<key>")
    if any(ch.isspace() for ch in vendor_id + api_key):
        problems.append("a value contains whitespace (a pasted newline?)")
    id_kind, key_kind_ = key_kind(vendor_id), key_kind(api_key)
    if KeyKind.UNKNOWN not in (id_kind, key_kind_) and id_kind is not key_kind_:
        problems.append(
            f"vendor id is a {id_kind} id but the API key is a {key_kind_} key"
        )
    return problems
