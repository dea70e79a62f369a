"""Typed configuration, read from TOML.

Unknown keys are rejected and every error names its key path
(``router.haproxy.socket: field required``). Nothing here points at a real BOOP host
by default: the environments must be named in the user's file, and
``boop-console init`` writes a commented template. The demo builds its config in code
against the embedded simulator (:func:`demo_config`).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from console.errors import ConfigError
from console.locations import default_state_dir

FORMAT_VERSION = 1


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_url(value: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"must be a URL starting with {' or '.join(schemes)}://")
    return value.rstrip("/")


class EnvironmentConfig(_Section):
    """One BOOP environment (dev or prod)."""

    base_url: str
    """REST base, e.g. https://dev.app.boop.it."""
    ws_url: str
    """Vendor WebSocket, e.g. wss://dev.app.boop.it/ws/vendor."""
    production: bool = False
    """True for production: live keys only, confirmation before the first call."""
    dialect: Literal["auto", "A", "B"] = "auto"
    """Vendor socket dialect: A (authenticate/...), B (vendor_hello/...), or auto."""
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 5.0
    """Total deadline for one REST call."""

    @field_validator("base_url")
    @classmethod
    def _base(cls, v: str) -> str:
        return _check_url(v, ("http", "https"))

    @field_validator("ws_url")
    @classmethod
    def _ws(cls, v: str) -> str:
        return _check_url(v, ("ws", "wss"))

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""


class FileRouterConfig(_Section):
    path: str | None = None
    """The routing document; default <state_dir>/routing.json."""


class HAProxyRouterConfig(_Section):
    socket: str
    """Admin socket: a unix path, or host:port for a TCP socket (level admin)."""
    backend: str = "boop_cutover"
    legacy_server: str = "legacy"
    boop_server: str = "boop"
    max_weight: Annotated[int, Field(ge=1, le=256)] = 100
    """Absolute weight the two servers share; boop = pct * max_weight / 100."""
    drain_on_rollback: bool = True
    """Put the boop server in drain on rollback so in-flight connections finish."""
    shutdown_sessions_after_s: Annotated[float, Field(ge=0)] | None = None
    """After a rollback's drain, cut sessions still open on boop after this long."""
    server_state_file: str | None = None
    """If set, save runtime state here after every write (load it from haproxy.cfg)."""
    timeout_s: Annotated[float, Field(gt=0, le=30)] = 2.0


class WebhookRouterConfig(_Section):
    url: str
    method: Literal["PUT", "POST", "PATCH"] = "PUT"
    body_template: str = '{"boop_percent": {percent}}'
    """JSON body; {percent} and {generation} are replaced."""
    read_url: str | None = None
    """GET for read-back; default: url."""
    read_field: str = "boop_percent"
    """Dotted path of the percentage in the read-back JSON."""
    auth_header: str = "Authorization"
    auth_secret: str | None = None
    """Credential name (console secret store) whose value goes in auth_header."""
    timeout_s: Annotated[float, Field(gt=0, le=30)] = 2.0


class RouterConfig(_Section):
    kind: Literal["file", "haproxy", "webhook"] = "file"
    file: FileRouterConfig = FileRouterConfig()
    haproxy: HAProxyRouterConfig | None = None
    webhook: WebhookRouterConfig | None = None


class PlanConfig(_Section):
    levels: list[Annotated[int, Field(gt=0, le=100)]] = [5, 10, 25, 50, 100]
    """Traffic levels in percent; BOOP's guide starts at 5%."""
    hold_s: Annotated[float, Field(ge=0)] = 24 * 3600
    """Hold at each level before promotion (the guide: 24 hours)."""
    warmup_s: Annotated[float, Field(ge=0)] = 60
    """After every level change, gates gather data but do not breach."""

    @field_validator("levels")
    @classmethod
    def _ascending(cls, v: list[int]) -> list[int]:
        if not v or v != sorted(set(v)):
            raise ValueError("must be a non-empty, strictly ascending list")
        return v


class GateConfig(_Section):
    metric: str
    """A metric id from console.metrics.catalog (e.g. auth_success_pct)."""
    op: Literal[">", ">=", "<", "<="]
    threshold: float
    window_s: Annotated[float, Field(gt=0)] = 60
    interval_s: Annotated[float, Field(gt=0)] = 10
    breaches: Annotated[int, Field(ge=1)] = 2
    """Consecutive breaching evaluations before the gate is BREACH."""
    min_samples: Annotated[int, Field(ge=0)] = 20
    on_insufficient: Literal["hold", "rollback"] = "hold"
    enabled: bool = True


def default_gates() -> dict[str, GateConfig]:
    """The guide's targets (migration guide section 5)."""
    return {
        "auth_success": GateConfig(metric="auth_success_pct", op=">", threshold=99.5),
        "auth_latency": GateConfig(metric="auth_p95_s", op="<", threshold=2.0),
        "auth_errors": GateConfig(metric="auth_error_pct", op="<", threshold=0.5),
        "payment_success": GateConfig(
            metric="payment_success_pct", op=">", threshold=99.9
        ),
        "uptime": GateConfig(
            metric="uptime_pct", op=">=", threshold=99.9, window_s=600, min_samples=5
        ),
        # Reconnects are rare events: over a 60 s window one reconnect would read
        # as 60/h, so this gate looks at 15 minutes (3 reconnects breach).
        "ws_stability": GateConfig(
            metric="ws_reconnects_per_h",
            op="<",
            threshold=12,
            window_s=900,
            min_samples=0,
        ),
    }


class MetricsConfig(_Section):
    source: Literal["scrape", "prometheus"] = "scrape"
    url: str | None = None
    """Exposition endpoint (scrape) or Prometheus server base URL (prometheus)."""
    interval_s: Annotated[float, Field(gt=0)] = 1.0
    timeout_s: Annotated[float, Field(gt=0)] = 2.0
    stale_after_s: Annotated[float, Field(gt=0)] = 10.0
    """Data older than this is stale: INSUFFICIENT DATA."""
    names: dict[str, str] = {}
    """Map the documented metric names onto the vendor's own (scrape)."""
    queries: dict[str, str] = {}
    """PromQL per metric id (prometheus); {window} is replaced by e.g. 60s."""


class ProbesConfig(_Section):
    interval_s: Annotated[float, Field(gt=0)] = 10.0
    deadline_s: Annotated[float, Field(gt=0)] = 3.0
    stream: bool = True
    """Keep a vendor WebSocket open per environment and measure its round trip."""
    synthetic_auth: bool = False

    @model_validator(mode="after")
    def _deadline_inside_interval(self) -> ProbesConfig:
        # A probe must finish before the next one is due, or probes pile up.
        if self.deadline_s >= self.interval_s:
            raise ValueError(
                f"deadline_s ({self.deadline_s:g}) must be shorter than interval_s "
                f"({self.interval_s:g})"
            )
        return self


class CredentialsConfig(_Section):
    service: str = "boop-console"
    """keyring service name; items are <env>/vendor_id and <env>/api_key."""
    keyring_timeout_s: Annotated[float, Field(gt=0)] = 3.0
    commands: dict[str, str] = {}
    """Per environment, a command printing 'vendor_id api_key' (e.g. pass show ...)."""
    encrypted_file: str | None = None
    """Opt-in encrypted fallback file; its passphrase is asked once per run."""


class SafetyConfig(_Section):
    production_hosts: list[str] = ["app.boop.it"]
    """Hosts that are production: live keys only go here, dev keys never."""


class NotifyConfig(_Section):
    urls: list[str] = []
    """apprise URLs (slack://, msteams://, pagerduty://, mailto://, json://...)."""
    timeout_s: Annotated[float, Field(gt=0)] = 5.0


class RollbackConfig(_Section):
    inflight_grace_s: Annotated[float, Field(ge=0)] = 30.0
    """Let open contexts finish this long before cancelling the rest."""
    evidence_window_s: Annotated[float, Field(gt=0)] = 3600.0


class AccessRequestConfig(_Section):
    company: str = ""
    use_case: str = ""
    go_live: str = ""
    technical_contact: str = ""


class Config(_Section):
    format_version: int = FORMAT_VERSION
    environments: dict[str, EnvironmentConfig]
    """Usually 'dev' and 'prod'; the cutover moves traffic to 'prod'."""
    target: str = "prod"
    """The environment whose traffic share the cutover raises."""
    state_dir: str | None = None
    router: RouterConfig = RouterConfig()
    plan: PlanConfig = PlanConfig()
    guide_gates: bool = True
    """Start from the guide's six gates: a [gates.NAME] section overrides the fields
    it names or adds a gate. False: exactly the gates defined here."""
    gates: dict[str, GateConfig] = Field(default_factory=default_gates)
    metrics: MetricsConfig = MetricsConfig()
    probes: ProbesConfig = ProbesConfig()
    credentials: CredentialsConfig = CredentialsConfig()
    safety: SafetyConfig = SafetyConfig()
    notify: NotifyConfig = NotifyConfig()
    rollback: RollbackConfig = RollbackConfig()
    access_request: AccessRequestConfig = AccessRequestConfig()

    @model_validator(mode="before")
    @classmethod
    def _merge_gates(cls, data: Any) -> Any:
        # A [gates.NAME] section overrides fields of that default gate; the other
        # gates keep the guide's targets. Dropping one takes `enabled = false`.
        if not isinstance(data, dict) or not isinstance(data.get("gates"), dict):
            return data
        if data.get("guide_gates") is False:
            return data
        merged: dict[str, Any] = {n: g.model_dump() for n, g in default_gates().items()}
        for name, fields in data["gates"].items():
            if isinstance(fields, GateConfig):
                fields = fields.model_dump()
            if name in merged and isinstance(fields, dict):
                merged[name] = {**merged[name], **fields}
            else:
                merged[name] = fields
        return {**data, "gates": merged}

    @field_validator("format_version")
    @classmethod
    def _version(cls, v: int) -> int:
        if v != FORMAT_VERSION:
            raise ValueError(f"this console reads format_version {FORMAT_VERSION}")
        return v

    def state_path(self) -> Path:
        return (
            Path(self.state_dir).expanduser() if self.state_dir else default_state_dir()
        )

    def target_env(self) -> EnvironmentConfig:
        return self.environments[self.target]


def _explain(exc: ValidationError, source: str) -> ConfigError:
    lines = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check its spelling and section)"
        lines.append(f"  {path}: {msg}")
    return ConfigError(
        f"{source} is not a valid boop-console config:\n" + "\n".join(lines),
        hint="Fix the keys above; `boop-console init` writes a commented template.",
    )


def parse_config(data: dict[str, object], source: str = "config") -> Config:
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise _explain(exc, source) from None
    if config.target not in config.environments:
        raise ConfigError(
            f"{source}: target: no environment named {config.target!r}",
            hint=f"Define [environments.{config.target}] or change target.",
        )
    if config.router.kind == "haproxy" and config.router.haproxy is None:
        raise ConfigError(
            f"{source}: router.haproxy: section required for kind=haproxy"
        )
    if config.router.kind == "webhook" and config.router.webhook is None:
        raise ConfigError(
            f"{source}: router.webhook: section required for kind=webhook"
        )
    return config


def load_config(path: Path) -> Config:
    """Read and validate a TOML config file, or raise ConfigError saying what to fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"No config file at {path}.",
            hint="Create one with `boop-console init` (or try `boop-console demo`).",
        ) from None
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}.") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}.") from None
    return parse_config(data, str(path))


def demo_config(
    dev_base: str, prod_base: str, metrics_url: str, state_dir: Path
) -> Config:
    """The demo's config: the embedded simulator, short holds, quick gates."""
    quick = {"window_s": 20.0, "interval_s": 2.0, "breaches": 2, "min_samples": 10}
    gates = {
        name: gate.model_copy(update=quick) for name, gate in default_gates().items()
    }
    # Reconnects are events, not samples: none in the window is a pass.
    gates["ws_stability"] = gates["ws_stability"].model_copy(update={"min_samples": 0})
    # Probes run every 2 s: a minute of them judges uptime.
    gates["uptime"] = gates["uptime"].model_copy(
        update={"window_s": 60.0, "min_samples": 5}
    )
    return parse_config(
        {
            "environments": {
                "dev": {
                    "base_url": dev_base,
                    "ws_url": dev_base.replace("http", "ws", 1) + "/ws/vendor",
                },
                "prod": {
                    "base_url": prod_base,
                    "ws_url": prod_base.replace("http", "ws", 1) + "/ws/vendor",
                    "production": True,
                },
            },
            "state_dir": str(state_dir),
            "plan": {"levels": [5, 10, 25, 50, 100], "hold_s": 30, "warmup_s": 5},
            "gates": {name: gate.model_dump() for name, gate in gates.items()},
            "metrics": {"source": "scrape", "url": metrics_url, "interval_s": 1.0},
            "probes": {"interval_s": 2.0, "deadline_s": 1.5},
            # Both simulated environments listen on 127.0.0.1: production is told
            # apart by the environment's `production` flag, not by host.
            "safety": {"production_hosts": []},
            "rollback": {"inflight_grace_s": 2.0},
        },
        source="demo config",
    )


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid TOML basic strings
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _toml_table(data: dict[str, Any], path: list[str], out: list[str]) -> None:
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    if path and (scalars or not tables):
        out.append("[" + ".".join(_toml_key(p) for p in path) + "]")
    out.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in scalars.items())
    if scalars or (path and not tables):
        out.append("")
    for key, table in tables.items():
        _toml_table(table, [*path, key], out)


def dump_toml(config: Config) -> str:
    """The config as a TOML file that :func:`load_config` reads back unchanged."""
    data = config.model_dump(mode="json", exclude_none=True)
    out = [
        "# Written by boop-console; every key is documented in `boop-console init`.\n"
    ]
    _toml_table(data, [], out)
    return "\n".join(out)
