"""Gateway settings: environment variables over an optional TOML file.

Variables are prefixed ``MLGRAPH_`` and nest with ``__``
(``MLGRAPH_ZENML__URL``, ``MLGRAPH_DOMINO__API_KEY``). The TOML file, given by
``--config`` or ``MLGRAPH_CONFIG``, uses the same names in tables
(``[zenml] url = "…"``). A platform without a ``url`` is not configured.

Any setting can also come from a file in a secrets folder (``MLGRAPH_SECRETS_DIR``
or ``--secrets-dir``), named like the variable without its prefix:
``zenml__api_key`` holds the ZenML key. Environment variables win over the
files, the files over the TOML file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit
from typing import ClassVar, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class BackendSettings(BaseModel):
    """Where a backend is, how long to wait for it and how to treat its failures.

    Every platform inherits these (``MLGRAPH_ZENML__RETRIES``, …): a flaky
    platform gets its GETs retried within a time budget, and one that keeps
    failing is not asked at all for a cool-down, so it does not slow down the
    answers of the others.
    """

    url: str = Field(description="http:// or https:// and the host, e.g. https://zenml.example.com:8080.")
    timeout: float = Field(
        10.0, gt=0, description="Seconds before a call counts as failed (connect, read and the whole exchange)."
    )
    max_response_bytes: int = Field(
        64 * 2**20, ge=1024,
        description="The largest answer read (64 MiB); a larger one is BAD_BACKEND_RESPONSE, never read whole.",
    )
    retries: int = Field(
        2, ge=0, le=10,
        description="Further attempts of a GET after a timeout, a refused connection, 429, 502, 503 or 504; "
        "writes are never retried.",
    )
    retry_budget_seconds: float = Field(
        5.0, ge=0,
        description="Time from a GET's first attempt after which it is not retried (waits included); "
        "a Retry-After beyond it ends the call at once.",
    )
    retry_backoff_seconds: float = Field(
        0.2, ge=0, description="Base of the jittered exponential wait between attempts; Retry-After wins."
    )
    breaker_failures: int = Field(
        5, ge=0,
        description="Consecutive failed calls (timeout, refused connection, 5xx, 429) that open the circuit: "
        "calls then fail at once without reaching the platform; 0 never opens it.",
    )
    breaker_cooldown_seconds: float = Field(
        30.0, gt=0, description="How long an open circuit refuses calls before one probe call goes through."
    )
    max_calls_in_flight: int = Field(
        24, ge=0, le=1024,
        description="Calls to the platform in flight at once, across every request of the process; the next wait "
        "their turn, within the call's timeout (past it: BACKEND_UNAVAILABLE for this platform only); 0: no bound "
        "but the connection pool's 32. 24 is three requests' fan-out (max_concurrency 8) and stays under the pool "
        "of 32, so calls queue in the gateway, counted, not inside httpx; the pool grows to a larger value.",
    )


    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        """Refused at start, not found at the first query: a URL without a
        scheme (``zenml.example.com``) or of another one (``ftp://``) would only
        ever read as "unreachable"."""
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host, e.g. https://zenml.example.com")
        return value.strip()

    @property
    def address(self) -> str:
        """host:port, what a start-up line or a check may show: never the path or a credential."""
        parts = urlsplit(self.url)
        return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


#: The platforms, as settings, errors and the command line name them.
PLATFORMS = ("zenml", "domino", "abacus")


class ZenMLSettings(BackendSettings):
    token: SecretStr | None = Field(None, description="A bearer token (from /api/v1/login).")
    api_key: SecretStr | None = Field(
        None, description="A service account's API key, exchanged once for a token."
    )
    project: str = Field("default", description="Project name or id that new services go to.")


class DominoSettings(BackendSettings):
    api_key: SecretStr | None = Field(None, description="Sent as X-Domino-Api-Key.")
    token: SecretStr | None = Field(None, description="A bearer token, used when no API key is set.")
    max_concurrency: int = Field(
        8, ge=1, le=256, description="Single gets in flight at once per request (Domino has no many-ids call)."
    )


class AbacusSettings(BackendSettings):
    api_key: SecretStr | None = Field(None, description="Sent in the apiKey header.")
    max_concurrency: int = Field(
        8, ge=1, le=256, description="Describes in flight at once per request (Abacus.AI has no many-ids call)."
    )


class PersistedSettings(BaseModel):
    """Persisted operations: the trusted manifest, APQ and GET caching."""

    mode: Literal["off", "log_unknown", "enforce"] = Field(
        "off",
        description="Trusted documents: off runs any document; log_unknown runs any and logs those not in the "
        "manifest; enforce runs manifest operations only (and introspection), with APQ registration off.",
    )
    require_id: bool = Field(
        False, description="Refuse documents sent as text: operations must come by id (needs a mode other than off)."
    )
    manifest_dir: Path | None = Field(
        None, description="Folder of *.graphql operations; default ./queries, else the source checkout's queries/."
    )
    apq: bool = Field(True, description="Automatic persisted queries: register documents by hash.")
    apq_cache_bytes: int = Field(
        32 * 1024 * 1024, ge=0, description="Bound of the in-memory APQ store (LRU), in bytes of document text."
    )
    apq_ttl_seconds: int | None = Field(None, ge=1, description="How long a registration lives; none: until evicted.")
    redis_prefix: str = Field("mlgraph:apq:", min_length=1, description="Key prefix of registrations in Redis.")
    redis_timeout: float = Field(0.5, gt=0, description="Seconds before a Redis call counts as failed.")
    cache_max_age: int = Field(
        0, ge=0, description="max-age of error-free GET query answers (public, or private when keys or a forwarded credential make the answer per caller); 0 sends no-cache."
    )

    @model_validator(mode="after")
    def _require_id_needs_a_mode(self) -> PersistedSettings:
        if self.require_id and self.mode == "off":
            raise ValueError("persisted.require_id needs persisted.mode log_unknown or enforce")
        return self


class CacheSettings(BaseModel):
    """The record cache: backend answers that cannot change any more (a finished
    run, job or pipeline version, an artifact or dataset version), kept across
    requests, and slowly changing catalogues (users, projects, tiers,
    pipelines) for a short while. In memory, or in Redis with ``redis_url``
    (shared by replicas). Keys carry a hash of the credential that read the
    answer; a write through the gateway evicts the records it changed."""

    enabled: bool = Field(
        True,
        description="Keep answers across requests. Off sends every read to the platform: finished records then "
        "show changes made behind the gateway at once, at the cost of the calls.",
    )
    memory_bytes: int = Field(
        64 * 2**20, ge=0,
        description="Bound of the in-memory cache (LRU), in bytes of answers; also the fallback while Redis is away.",
    )
    terminal_ttl_seconds: int = Field(
        3600, ge=1,
        description="How long a record that can no longer change is kept: it bounds how long a credential revoked "
        "on the platform, or a change made there behind the gateway (a finished job's tags), goes unseen.",
    )
    listing_ttl_seconds: int = Field(
        5, ge=0,
        description="How long a list that can grow (runs, jobs, a pipeline's versions) is kept: a dashboard "
        "refreshing every few seconds reads it once; a write through the gateway evicts it at once. 0: not kept.",
    )
    catalogue_ttl_seconds: int = Field(
        60, ge=0,
        description="How long users, projects, hardware tiers, pipelines, models and the like are kept; 0: not kept.",
    )
    max_entry_bytes: int = Field(
        8 * 2**20, ge=0, description="Answers larger than this are not kept (one huge page must not flush the rest)."
    )
    redis_prefix: str = Field("mlgraph:records:", min_length=1, description="Key prefix of the cache in Redis.")
    redis_timeout: float = Field(0.25, gt=0, description="Seconds before a Redis call of the cache counts as failed.")
    redis_retry_seconds: float = Field(
        10.0, gt=0, description="After a Redis failure, how long the cache stays in memory before trying Redis again."
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MLGRAPH_", env_nested_delimiter="__", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    zenml: ZenMLSettings | None = None
    domino: DominoSettings | None = None
    abacus: AbacusSettings | None = None
    cors_origins: list[str] = Field(
        default_factory=list, description="Browser origins allowed to call /graphql."
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest POST body accepted (413 above).")
    default_page_size: int = Field(20, ge=1)
    merged_list_timeout: float = Field(
        10.0, gt=0, description="Seconds a platform may take for its part of a merged list before it is left out."
    )
    max_page_size: int = Field(1000, ge=1, le=10_000)
    compiled_execution: bool = Field(
        True, description="Run queries level by level (fast); off uses Strawberry's generic executor."
    )
    debug_header: bool = Field(
        True, description="Honour X-Mlgraph-Debug: 1 by returning the backend call ledger."
    )
    persisted: PersistedSettings = Field(default_factory=PersistedSettings)
    redis_url: SecretStr | None = Field(
        None,
        description="redis://… : APQ registrations, the record cache and the rate counts shared by every replica; "
        "unset keeps them in memory.",
    )
    cache: CacheSettings = Field(default_factory=CacheSettings)
    graphiql: bool = Field(True, description="Serve GraphiQL to browsers at GET /graphql.")
    introspection: bool = Field(
        True, description="Answer __schema and __type; off refuses them at validation (GraphiQL then has no schema)."
    )
    graceful_shutdown_seconds: float = Field(
        20.0, gt=0,
        description="On SIGTERM, how long requests in flight may take to finish before the server closes them.",
    )
    log_format: Literal["json", "text"] = Field(
        "json", description="Log lines as JSON objects (one access line a request) or plain text."
    )
    auth: AuthSettings = Field(default_factory=lambda: AuthSettings())
    limits: LimitSettings = Field(default_factory=lambda: LimitSettings())

    #: A TOML file read below the environment and the secret files (``load_settings``).
    toml_file: ClassVar[Path | None] = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = [init_settings, env_settings, dotenv_settings, secret_files(file_secret_settings)]
        if cls.toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls.toml_file))
        return tuple(sources)


#: A header name as HTTP defines a token.
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
KEY_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")


class ForwardSettings(BaseModel):
    """Per platform, the request header whose value the gateway sends to that
    platform instead of its own credential (when the header is present)."""

    zenml: str | None = Field(None, description="Header with the caller's ZenML bearer token.")
    domino: str | None = Field(None, description="Header with the caller's Domino API key (or `Bearer <token>`).")
    abacus: str | None = Field(None, description="Header with the caller's Abacus.AI API key.")

    @field_validator("zenml", "domino", "abacus")
    @classmethod
    def _header_name(cls, value: str | None) -> str | None:
        if value is not None and not HEADER_NAME.match(value):
            raise ValueError("must be an HTTP header name")
        return value.lower() if value is not None else None

    def headers(self) -> dict[str, str]:
        """Platform -> lower-case header name, for the platforms that forward."""
        return {platform: header for platform, header in self.model_dump().items() if header}


class AuthSettings(BaseModel):
    """Who may call the gateway: on as soon as one key hash is configured."""

    api_key_hashes: list[str] = Field(
        default_factory=list,
        description='SHA-256 hashes of the accepted API keys, "sha256:<hex>" (mlgraph auth hash-key prints one).',
    )
    protect_readyz: bool = Field(False, description="Ask for a key on /readyz too (it is open by default, for probes).")
    forward: ForwardSettings = Field(default_factory=ForwardSettings)

    @field_validator("api_key_hashes")
    @classmethod
    def _hashes(cls, hashes: list[str]) -> list[str]:
        normalized = [h.strip().lower() for h in hashes]
        for position, value in enumerate(normalized):
            if not KEY_HASH.match(value):
                raise ValueError(f'entry {position} is not "sha256:" and 64 hex digits (mlgraph auth hash-key prints one)')
        return normalized

    @model_validator(mode="after")
    def _forwarding_keeps_off_the_gateway_key(self) -> AuthSettings:
        if self.api_key_hashes:
            for platform, header in self.forward.headers().items():
                if header in ("authorization", "x-api-key"):
                    raise ValueError(f"auth.forward.{platform}: {header} carries the gateway's own key; pick another header")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.api_key_hashes)


class LimitSettings(BaseModel):
    """What one request may ask for; each refusal has its code (README, Security and limits)."""

    max_depth: int = Field(15, ge=1, le=64, description="Deepest field nesting of a document.")
    max_aliases: int = Field(30, ge=0, description="Aliases in a document, counted through every fragment spread.")
    max_tokens: int = Field(5000, ge=100, description="Lexical tokens of a document; parsing stops past it.")
    max_cost: int = Field(
        250_000,
        ge=1,
        description="Estimated cost before execution: a leaf costs 1, a list multiplies what it selects by its "
        "`first` (or the default page size).",
    )
    rate_per_minute: int = Field(
        600, ge=0, description="Requests a client (API key, else IP) may make a minute, in bursts up to that; 0: no limit."
    )
    max_concurrent_requests: int = Field(
        64, ge=0,
        description="GraphQL requests a worker executes at once; the next wait their turn; 0: no bound. A worker's "
        "CPU completes some 40-60 typical queries a second (15-28 ms each) while most of a request's time is spent "
        "waiting on platforms, so 64 keeps it busy through a few hundred ms of backend latency; more would only "
        "slow every request down together.",
    )
    admission_timeout_seconds: float = Field(
        2.0, ge=0,
        description="How long a request over max_concurrent_requests waits for a slot before 503 OVERLOADED (with "
        "Retry-After); 0: refused at once. A longer wait means the worker is overloaded, not bursting: a quick "
        "refusal lets the client or load balancer try elsewhere.",
    )
    rate_redis_prefix: str = Field(
        "mlgraph:ratelimit:", min_length=1,
        description="Key prefix of the rate counts in Redis (with redis_url): processes sharing it share the limit.",
    )
    rate_redis_timeout: float = Field(
        0.25, gt=0, description="Seconds before a Redis call of the rate limit counts as failed."
    )
    rate_redis_retry_seconds: float = Field(
        10.0, gt=0,
        description="After a Redis failure, how long each process counts in its own memory before trying Redis again.",
    )


Settings.model_rebuild()


def secrets_dir_from_environment() -> Path | None:
    raw = os.environ.get("MLGRAPH_SECRETS_DIR")
    return Path(raw) if raw else None


def secret_files(file_secret_settings: PydanticBaseSettingsSource) -> PydanticBaseSettingsSource:
    """Settings from the files of the secrets folder: ``zenml__api_key`` is ``zenml.api_key``.

    The folder is ``_secrets_dir`` given to ``Settings`` or ``MLGRAPH_SECRETS_DIR``;
    a folder that is named but missing stops start-up.
    """
    folder = getattr(file_secret_settings, "secrets_dir", None) or secrets_dir_from_environment()
    if folder is None:
        return file_secret_settings
    return NestedSecretsSettingsSource(
        file_secret_settings,
        secrets_dir=folder,
        secrets_dir_missing="error",
        secrets_prefix="",
        secrets_nested_delimiter="__",
    )


def settings_error(exc: ValidationError) -> ValueError:
    """A settings error that names each bad setting and why, never its value:
    pydantic's own message quotes the input, which may be a credential."""
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'settings'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False)
    )
    return ValueError(problems)


def load_settings(config_file: Path | None = None, secrets_dir: Path | None = None) -> Settings:
    """Settings from the environment, then the secrets folder, then the TOML file, then defaults."""
    path = config_file or (Path(os.environ["MLGRAPH_CONFIG"]) if os.environ.get("MLGRAPH_CONFIG") else None)
    if path is not None and not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    try:
        if path is None:
            return Settings(_secrets_dir=secrets_dir)  # type: ignore[call-arg]

        class FileSettings(Settings):
            toml_file = path

        return Settings.model_validate(FileSettings(_secrets_dir=secrets_dir).model_dump())  # type: ignore[call-arg]
    except ValidationError as exc:
        raise settings_error(exc) from None
