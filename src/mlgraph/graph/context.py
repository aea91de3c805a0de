"""The per-request context: the ledger and a fresh set of loaders."""

from __future__ import annotations

from strawberry.types import Info

from mlgraph.backends.ledger import Ledger
from mlgraph.graph.errors import NotConfigured
from mlgraph.graph.zenml.loaders import ZenMLLoaders
from mlgraph.settings import Settings


class GraphContext:
    def __init__(
        self, settings: Settings, ledger: Ledger, zenml: ZenMLLoaders | None, *, debug: bool = False
    ) -> None:
        self.settings = settings
        self.ledger = ledger
        self.debug = debug
        self._zenml = zenml

    @property
    def zenml(self) -> ZenMLLoaders:
        if self._zenml is None:
            raise NotConfigured("ZenML is not configured on this gateway", platform="zenml")
        return self._zenml


def context_of(info: Info) -> GraphContext:
    return info.context
