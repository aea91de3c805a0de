"""The schema: root fields, mutations and the extensions every operation runs with."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import strawberry
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, Info

from mlgraph.graph.context import context_of
from mlgraph.graph.errors import ErrorCodes, UserInputError
from mlgraph.graph.ids import GlobalId
from mlgraph.graph.interfaces import Node
from mlgraph.graph.zenml.mutations import ZenMLMutation
from mlgraph.graph.zenml.query import ZenMLQuery, get
from mlgraph.graph.zenml.types import NODE_TYPES


async def resolve_node(info: Info, id: str) -> Node:
    decoded = GlobalId.decode(id)
    wrap = NODE_TYPES.get(decoded.type_name)
    if wrap is None:
        raise UserInputError(f"'{id[:80]}' is not an mlgraph id")
    return await get(info, wrap, decoded.native_id)


@strawberry.type
class Query:
    @strawberry.field(description="Any object by its global id.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, id)

    @strawberry.field(description="Objects by global id, in order; an unknown one is null with an error.")
    def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        limit = context_of(info).settings.max_page_size
        if len(ids) > limit:
            raise UserInputError(f"at most {limit} ids at once")
        pending: list[Awaitable[Any]] = [resolve_node(info, node_id) for node_id in ids]
        return pending  # graphql-core awaits each item, so one failure nulls only its slot

    @strawberry.field(description="ZenML: step runs, pipelines, artifacts, models, services.")
    def zenml(self, info: Info) -> ZenMLQuery | None:
        context_of(info).zenml  # raises PLATFORM_NOT_CONFIGURED when absent
        return ZenMLQuery()


Mutation = merge_types("Mutation", (ZenMLMutation,))


class DebugLedger(SchemaExtension):
    """Returns the request's backend calls under ``extensions.ledger`` when asked."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        if not getattr(context, "debug", False):
            return {}
        return {"ledger": context.ledger.summary()}


class GatewaySchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Errors are classified and logged by ``ErrorCodes``; expected ones
        (a 404, a bad id) must not fill the log with tracebacks."""


schema = GatewaySchema(query=Query, mutation=Mutation, extensions=[ErrorCodes, DebugLedger])
