"""The per-request context: the ledger and a fresh set of loaders."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graphql import GraphQLError
from strawberry.types import Info

from mlgraph.backends.ledger import Ledger
from mlgraph.graph.abacus.loaders import AbacusLoaders
from mlgraph.graph.domino.loaders import DominoLoaders
from mlgraph.graph.errors import GatewayError, NotConfigured
from mlgraph.graph.zenml.loaders import ZenMLLoaders
from mlgraph.settings import Settings


class GraphContext:
    def __init__(
        self,
        settings: Settings,
        ledger: Ledger,
        zenml: ZenMLLoaders | None,
        domino: DominoLoaders | None = None,
        abacus: AbacusLoaders | None = None,
        *,
        debug: bool = False,
    ) -> None:
        self.settings = settings
        self.ledger = ledger
        self.debug = debug
        self._zenml = zenml
        self._domino = domino
        self._abacus = abacus
        #: Errors reported beside data (a merged list's failed platforms).
        self.reported: list[GraphQLError] = []

    def configured(self, platform: str) -> bool:
        return {"zenml": self._zenml, "domino": self._domino, "abacus": self._abacus}.get(platform) is not None

    def report(self, errors: Iterable[GatewayError], path: list[Any]) -> None:
        """Errors that do not null a field: the field's data holds what did answer."""
        for error in errors:
            self.reported.append(
                GraphQLError(error.message, path=path, extensions={**error.extensions, "code": error.code})
            )

    @property
    def zenml(self) -> ZenMLLoaders:
        if self._zenml is None:
            raise NotConfigured("ZenML is not configured on this gateway", platform="zenml")
        return self._zenml

    @property
    def domino(self) -> DominoLoaders:
        if self._domino is None:
            raise NotConfigured("Domino Data Lab is not configured on this gateway", platform="domino")
        return self._domino

    @property
    def abacus(self) -> AbacusLoaders:
        if self._abacus is None:
            raise NotConfigured("Abacus.AI is not configured on this gateway", platform="abacus")
        return self._abacus


def context_of(info: Info) -> GraphContext:
    return info.context


def response_path(info: Info) -> list[Any]:
    """Where the field being resolved lands in the response (aliases and list
    indices included), from either executor's ``info``."""
    path = info.path
    return path.as_list() if hasattr(path, "as_list") else list(path or [])
