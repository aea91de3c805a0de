"""The process's connections to every configured backend, built from settings,
and the record cache the clients of every request share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from mlgraph.backends.abacus import AbacusConnection
from mlgraph.backends.cache import RecordCache
from mlgraph.backends.client import pool_size
from mlgraph.backends.domino import DominoConnection
from mlgraph.backends.zenml import ZenMLConnection
from mlgraph.settings import Settings


@dataclass
class Connections:
    zenml: ZenMLConnection | None = None
    domino: DominoConnection | None = None
    abacus: AbacusConnection | None = None
    #: None when ``cache.enabled`` is off.
    records: RecordCache | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        records: RecordCache | None = None,
    ) -> Connections:
        """One pooled connection per configured platform (its pool as large as
        its ``max_calls_in_flight``, at least 32), with its timeout, retries,
        circuit breaker and bound (``BackendConnection.configure``), and the
        record cache the settings describe.

        ``transports`` replaces the network for a platform, as the demo does to
        reach its in-process emulators; ``records`` replaces the cache (tests
        give one their own clock).
        """
        transports = transports or {}
        zenml = None
        if settings.zenml is not None:
            cfg = settings.zenml
            zenml = ZenMLConnection(
                cfg.url,
                timeout=cfg.timeout,
                token=cfg.token.get_secret_value() if cfg.token else None,
                api_key=cfg.api_key.get_secret_value() if cfg.api_key else None,
                project=cfg.project,
                transport=transports.get("zenml"),
                max_connections=pool_size(cfg),
            )
            zenml.configure(cfg)
        domino = None
        if settings.domino is not None:
            dcfg = settings.domino
            domino = DominoConnection(
                dcfg.url,
                timeout=dcfg.timeout,
                api_key=dcfg.api_key.get_secret_value() if dcfg.api_key else None,
                token=dcfg.token.get_secret_value() if dcfg.token else None,
                max_concurrency=dcfg.max_concurrency,
                transport=transports.get("domino"),
                max_connections=pool_size(dcfg),
            )
            domino.configure(dcfg)
        abacus = None
        if settings.abacus is not None:
            acfg = settings.abacus
            abacus = AbacusConnection(
                acfg.url,
                timeout=acfg.timeout,
                api_key=acfg.api_key.get_secret_value() if acfg.api_key else None,
                max_concurrency=acfg.max_concurrency,
                transport=transports.get("abacus"),
                max_connections=pool_size(acfg),
            )
            abacus.configure(acfg)
        records = records or RecordCache.from_settings(settings)
        return cls(zenml=zenml, domino=domino, abacus=abacus, records=records)

    async def aclose(self) -> None:
        for connection in (self.zenml, self.domino, self.abacus):
            if connection is not None:
                await connection.aclose()
        if self.records is not None:
            await self.records.aclose()
