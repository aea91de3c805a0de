"""Gateway settings: environment variables over an optional TOML file.

Variables are prefixed ``MLGRAPH_`` and nest with ``__``
(``MLGRAPH_ZENML__URL``, ``MLGRAPH_DOMINO__API_KEY``). The TOML file, given by
``--config`` or ``MLGRAPH_CONFIG``, uses the same names in tables
(``[zenml] url = "…"``). A platform without a ``url`` is not configured.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class BackendSettings(BaseModel):
    """Where a backend is and how long to wait for it."""

    url: str
    timeout: float = Field(10.0, gt=0, description="Seconds before a call counts as failed.")


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
        0, ge=0, description="max-age of error-free GET query answers (Cache-Control: public); 0 sends no-cache."
    )

    @model_validator(mode="after")
    def _require_id_needs_a_mode(self) -> PersistedSettings:
        if self.require_id and self.mode == "off":
            raise ValueError("persisted.require_id needs persisted.mode log_unknown or enforce")
        return self


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
        None, description="redis://… : APQ registrations shared by every replica; unset keeps them in memory."
    )


def load_settings(config_file: Path | None = None) -> Settings:
    """Settings from the environment, then the TOML file, then defaults."""
    path = config_file or (Path(os.environ["MLGRAPH_CONFIG"]) if os.environ.get("MLGRAPH_CONFIG") else None)
    if path is None:
        return Settings()
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")

    class FileSettings(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=path)

    return Settings.model_validate(FileSettings().model_dump())
