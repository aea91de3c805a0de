"""Persisted operations: the trusted manifest from ``queries/``, automatic
persisted queries (memory, or Redis shared by replicas), and running a
named operation from the command line.

- ``manifest``: files -> ids (Apollo's hashing) -> Apollo/Relay manifests;
- ``store``: where APQ registrations live;
- ``apq``: which document a request runs, or which Apollo error it gets;
- ``client``: ``mlgraph query``, over HTTP or in-process.
"""

from __future__ import annotations

from mlgraph.persisted.apq import NO_CACHE, PersistedOperations, PersistedQueryError
from mlgraph.persisted.manifest import Manifest, ManifestError, discover_folder, load_manifest
from mlgraph.persisted.store import MemoryStore, RedisStore, Store
from mlgraph.settings import Settings

__all__ = [
    "NO_CACHE",
    "Manifest",
    "ManifestError",
    "PersistedOperations",
    "PersistedQueryError",
    "manifest_for",
    "persisted_operations",
]


def manifest_for(settings: Settings) -> Manifest:
    """The manifest the settings name or the working directory offers."""
    return load_manifest(discover_folder(settings.persisted.manifest_dir))


def store_for(settings: Settings) -> Store:
    config = settings.persisted
    if settings.redis_url is not None:
        return RedisStore(settings.redis_url.get_secret_value(), config.redis_prefix, config.apq_ttl_seconds, config.redis_timeout)
    return MemoryStore(config.apq_cache_bytes, config.apq_ttl_seconds)


def persisted_operations(settings: Settings) -> PersistedOperations:
    """Start-up: load the manifest (a bad file stops the gateway) and pick the store."""
    config = settings.persisted
    return PersistedOperations(manifest_for(settings), store_for(settings), config.mode, config.require_id, config.apq)
