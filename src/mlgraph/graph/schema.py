"""The schema: root fields, mutations and the extensions every operation runs with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from graphql.error import GraphQLError
from strawberry.extensions import AddValidationRules, SchemaExtension
from strawberry.extensions.query_depth_limiter import create_validator
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult, Info

from mlgraph.graph.context import context_of
from mlgraph.graph.errors import ErrorCodes, UserInputError, coded
from mlgraph.graph.ids import GlobalId
from mlgraph.graph.interfaces import Node
from mlgraph.graph.plan import PlanCache, UnsupportedDocument
from mlgraph.graph.abacus.mutations import AbacusMutation
from mlgraph.graph.abacus.query import NODE_GETTERS as ABACUS_NODE_GETTERS
from mlgraph.graph.abacus.query import AbacusQuery
from mlgraph.graph.domino.mutations import DominoMutation
from mlgraph.graph.domino.query import NODE_GETTERS as DOMINO_NODE_GETTERS
from mlgraph.graph.domino.query import DominoQuery
from mlgraph.graph.unified import UnifiedQuery
from mlgraph.graph.zenml.mutations import ZenMLMutation
from mlgraph.graph.zenml.query import NODE_GETTERS as ZENML_NODE_GETTERS
from mlgraph.graph.zenml.query import ZenMLQuery

#: Every type a global id can name, and how to fetch one.
NODE_GETTERS: dict[str, Callable[[Info, str], Awaitable[Node]]] = {
    **ZENML_NODE_GETTERS,
    **DOMINO_NODE_GETTERS,
    **ABACUS_NODE_GETTERS,
}


async def resolve_node(info: Info, id: str) -> Node:
    decoded = GlobalId.decode(id)
    fetch = NODE_GETTERS.get(decoded.type_name)
    if fetch is None:
        raise UserInputError(f"'{id[:80]}' is not an mlgraph id")
    return await fetch(info, decoded.native_id)


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

    @strawberry.field(description="Domino Data Lab: jobs, hardware tiers, datasets, registered models, projects, users.")
    def domino(self, info: Info) -> DominoQuery | None:
        context_of(info).domino  # raises PLATFORM_NOT_CONFIGURED when absent
        return DominoQuery()

    @strawberry.field(description="Abacus.AI: pipelines, their versions and steps, and what the steps made.")
    def abacus(self, info: Info) -> AbacusQuery | None:
        context_of(info).abacus  # raises PLATFORM_NOT_CONFIGURED when absent
        return AbacusQuery()


Query = merge_types("Query", (Query, UnifiedQuery))
Mutation = merge_types("Mutation", (ZenMLMutation, DominoMutation, AbacusMutation))


def debug_extensions(context: Any) -> dict[str, Any]:
    """The request's backend calls under ``extensions.ledger``, when asked for."""
    if not getattr(context, "debug", False):
        return {}
    return {"ledger": context.ledger.summary()}


#: Deeper documents are refused at validation: a client cannot make the gateway
#: walk an unbounded chain of relations (step -> outputs -> producer -> ...).
MAX_QUERY_DEPTH = 15
DEPTH_RULE = create_validator(MAX_QUERY_DEPTH, None)


class DebugLedger(SchemaExtension):
    def get_results(self) -> dict[str, Any]:
        return debug_extensions(self.execution_context.context)


class GatewaySchema(strawberry.Schema):
    """Strawberry's schema, running queries through the level-by-level executor."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plans = PlanCache(self, rules=[DEPTH_RULE])

    async def execute(  # type: ignore[override]
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any = None,
        root_value: Any = None,
        operation_name: str | None = None,
        **kwargs: Any,
    ) -> ExecutionResult:
        compiled = self.plans.get(query, operation_name) if query and _compiled_execution(context_value) else None
        if compiled is not None:
            try:
                data, errors = await compiled.execute(context_value, variable_values, root_value)
            except UnsupportedDocument:
                compiled = None  # something only known while running, e.g. a null @skip condition
                _reported(context_value).clear()
        if compiled is None:
            result = await super().execute(
                query, variable_values, context_value, root_value, operation_name, **kwargs
            )
            if _reported(context_value):
                result.errors = [*(result.errors or []), *_reported(context_value)]
            return result
        return ExecutionResult(
            data=data,
            errors=[*(coded(error) for error in errors), *_reported(context_value)] or None,
            extensions=debug_extensions(context_value),
        )

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Errors are classified and logged by ``coded``; expected ones
        (a 404, a bad id) must not fill the log with tracebacks."""


def _reported(context: Any) -> list[GraphQLError]:
    """Errors resolvers reported beside their data (see ``GraphContext.report``)."""
    return getattr(context, "reported", [])


def _compiled_execution(context: Any) -> bool:
    settings = getattr(context, "settings", None)
    return settings is None or settings.compiled_execution


schema = GatewaySchema(
    query=Query, mutation=Mutation, extensions=[ErrorCodes, DebugLedger, lambda: AddValidationRules([DEPTH_RULE])]
)
