"""Credentials: the OS keyring and its fallbacks, masking, and the environment guard.

Public API (see docs/credentials.md)::

    store = CredentialStore(config.credentials, passphrase=ask)
    creds = store.resolve("prod")          # ResolvedCredentials, masked repr
    guard = make_guard(env_cfg, config.safety, ProductionConfirmation(ask_host))
    mask("sk_live_...9f3a") -> "sk_live_…9f3a"

Nothing here imports the engine or the UI.
"""

from console.credentials.formats import KeyKind, format_problems, key_kind
from console.credentials.guard import (
    EnvironmentMismatch,
    Guard,
    ProductionConfirmation,
    ProductionNotConfirmed,
    check_credentials_for_env,
    credential_problems,
    is_production,
    make_guard,
)
from console.credentials.keyring_store import KeyringUnavailable
from console.credentials.masking import (
    RedactingFilter,
    Secret,
    install_log_redaction,
    mask,
    redact,
    register_secret,
)
from console.credentials.store import (
    ROTATION_PERIOD_S,
    CredentialStore,
    CredentialSummaryData,
    ResolvedCredentials,
    env_var_names,
)

__all__ = [
    "ROTATION_PERIOD_S",
    "CredentialStore",
    "CredentialSummaryData",
    "EnvironmentMismatch",
    "Guard",
    "KeyKind",
    "KeyringUnavailable",
    "ProductionConfirmation",
    "ProductionNotConfirmed",
    "RedactingFilter",
    "ResolvedCredentials",
    "Secret",
    "check_credentials_for_env",
    "credential_problems",
    "env_var_names",
    "format_problems",
    "install_log_redaction",
    "is_production",
    "key_kind",
    "make_guard",
    "mask",
    "redact",
    "register_secret",
]
