"""The process's connections to every configured backend, built from settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from mlgraph.backends.zenml import ZenMLConnection
from mlgraph.settings import Settings


@dataclass
class Connections:
    zenml: ZenMLConnection | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None
    ) -> Connections:
        """One pooled connection per configured platform.

        ``transports`` replaces the network for a platform, as the demo does to
        reach its in-process emulators.
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
            )
        return cls(zenml=zenml)

    async def aclose(self) -> None:
        if self.zenml is not None:
            await self.zenml.aclose()
