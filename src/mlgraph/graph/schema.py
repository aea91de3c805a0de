"""The schema: root fields, mutations and the extensions every operation runs with."""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import FragmentDefinitionNode, OperationDefinitionNode, get_operation_ast, parse
from graphql.error import GraphQLError
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult, Info

from mlgraph.graph.context import context_of
from mlgraph.graph.cost import CostModel
from mlgraph.graph.errors import ErrorCodes, UserInputError, coded
from mlgraph.graph.ids import GlobalId
from mlgraph.graph.interfaces import Node
from mlgraph.graph.limits import COST_LIMIT_EXCEEDED, limit_error, validation_rules
from mlgraph.graph.plan import CompiledOperation, PlanCache, UnsupportedDocument
from mlgraph.graph.propagation import errors_of_null_data
from mlgraph.settings import LimitSettings, Settings
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
    """The request's backend calls under ``extensions.ledger`` and its estimated
    cost under ``extensions.cost``, when asked for."""
    if not getattr(context, "debug", False):
        return {}
    extensions: dict[str, Any] = {"ledger": context.ledger.summary()}
    cost = getattr(context, "cost", None)
    if cost is not None:
        extensions["cost"] = cost
    return extensions


#: Deeper documents are refused at validation: a client cannot make the gateway
#: walk an unbounded chain of relations (step -> outputs -> producer -> ...).
#: ``MLGRAPH_LIMITS__MAX_DEPTH`` changes it; these are the defaults' rules.
DEFAULT_LIMITS = LimitSettings()
MAX_QUERY_DEPTH = DEFAULT_LIMITS.max_depth
DEFAULT_RULES = validation_rules(DEFAULT_LIMITS)
#: The default limits' document rule (depth, aliases, fragment expansion), for
#: checking documents against the schema outside a request.
DEPTH_RULE = DEFAULT_RULES[0]


def _settings(context: Any) -> Settings | None:
    return getattr(context, "settings", None)


def _limits(context: Any) -> LimitSettings:
    settings = _settings(context)
    return settings.limits if settings is not None else DEFAULT_LIMITS


def _page_settings(context: Any) -> tuple[tuple[int, int], int]:
    """(default page size, largest page size) and the cost limit of the request."""
    settings = _settings(context)
    if settings is None:
        fields = Settings.model_fields
        sizes = (fields["default_page_size"].default, fields["max_page_size"].default)
        return sizes, DEFAULT_LIMITS.max_cost
    return (settings.default_page_size, settings.max_page_size), settings.limits.max_cost


def rules_for(context: Any) -> tuple[Any, ...]:
    """The validation rules of the request's settings (the defaults without any)."""
    settings = _settings(context)
    if settings is None:
        return DEFAULT_RULES
    return validation_rules(settings.limits, settings.introspection)


class DebugLedger(SchemaExtension):
    def get_results(self) -> dict[str, Any]:
        return debug_extensions(self.execution_context.context)


class RequestLimits(AddValidationRules):
    """Strawberry's ``AddValidationRules`` with the rules of the request's settings."""

    def __init__(self) -> None:
        super().__init__([])

    def on_operation(self) -> Iterator[None]:
        self.validation_rules = list(rules_for(self.execution_context.context))
        yield from super().on_operation()


class RequestTokens(MaxTokensLimiter):
    """Strawberry's ``MaxTokensLimiter`` with the request's token limit."""

    def __init__(self) -> None:
        super().__init__(DEFAULT_LIMITS.max_tokens)

    def on_operation(self) -> Iterator[None]:
        self.max_token_count = _limits(self.execution_context.context).max_tokens
        yield from super().on_operation()


class CostLimit(SchemaExtension):
    """Refuses a validated operation whose estimated cost is over the limit,
    before it runs (generic executor; ``GatewaySchema.execute`` does the same
    for the level-by-level one)."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        operation = get_operation_ast(document, context.operation_name) if document is not None else None
        if operation is not None:
            fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}  # type: ignore[union-attr]
            refusal = context.schema.check_cost(context.context, operation, fragments, context.variables)  # type: ignore[attr-defined]
            if refusal is not None:
                context.result = GraphQLExecutionResult(data=None, errors=[refusal])
        yield


class GatewaySchema(strawberry.Schema):
    """Strawberry's schema, running queries through the level-by-level executor."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[tuple[Any, ...], PlanCache] = {}
        self._costs: dict[tuple[int, int], CostModel] = {}
        self._compiled_costs: weakref.WeakKeyDictionary[CompiledOperation, dict[Any, int]] = weakref.WeakKeyDictionary()
        self.plans = self.plans_for(DEFAULT_RULES, DEFAULT_LIMITS.max_tokens)

    def plans_for(self, rules: tuple[Any, ...], max_tokens: int) -> PlanCache:
        """The plan cache validating with these rules: one per set of limits."""
        key = (rules, max_tokens)
        plans = self._plans.get(key)
        if plans is None:
            plans = self._plans[key] = PlanCache(self, rules=rules, max_tokens=max_tokens)
        return plans

    def check_cost(
        self,
        context: Any,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any] | None,
    ) -> GraphQLError | None:
        """Estimate the operation's cost (kept on the context for the debug
        extensions); the error refusing it when it is over the limit."""
        sizes, limit = _page_settings(context)
        return self._judge(context, self._cost_model(sizes).estimate(operation, fragments, variables), limit)

    def _cost_model(self, sizes: tuple[int, int]) -> CostModel:
        model = self._costs.get(sizes)
        if model is None:
            model = self._costs[sizes] = CostModel(self._schema, *sizes)
        return model

    @staticmethod
    def _judge(context: Any, estimated: int, limit: int) -> GraphQLError | None:
        cost = {"estimated": estimated, "limit": limit}
        if context is not None:
            try:
                context.cost = cost
            except AttributeError:
                pass
        if estimated <= limit:
            return None
        return limit_error(
            f"the query's estimated cost is {estimated}, over the limit of {limit}: ask for smaller pages "
            "(`first`) or fewer nested lists",
            "cost",
            code=COST_LIMIT_EXCEEDED,
            cost=cost,
        )

    async def execute(  # type: ignore[override]
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any = None,
        root_value: Any = None,
        operation_name: str | None = None,
        **kwargs: Any,
    ) -> ExecutionResult:
        compiled = None
        if query and _compiled_execution(context_value):
            plans = self.plans_for(rules_for(context_value), _limits(context_value).max_tokens)
            compiled = plans.get(query, operation_name)
        if compiled is not None:
            refusal = self._compiled_cost(compiled, context_value, variable_values)
            if refusal is not None:
                return ExecutionResult(data=None, errors=[refusal], extensions=debug_extensions(context_value))
            try:
                data, errors = await compiled.execute(context_value, variable_values, root_value)
            except UnsupportedDocument:
                compiled = None  # something only known while running, e.g. a null @skip condition
                _reported(context_value).clear()
            except Exception as exc:  # a bug in the executor: masked, logged with its id
                masked = coded(GraphQLError(str(exc), original_error=exc))
                return ExecutionResult(data=None, errors=[masked], extensions=debug_extensions(context_value))
        if compiled is None:
            result = await super().execute(
                query, variable_values, context_value, root_value, operation_name, **kwargs
            )
            # Errors that escaped the extensions (an exception in parsing or
            # validation) are coded here; coded ones pass as they are.
            errors = [*(result.errors or []), *_reported(context_value)]
            if result.data is None and any(error.path for error in errors):
                errors = _errors_of_null_data(self, query, operation_name, errors)
            result.errors = [coded(error) for error in errors] or None
            return result
        errors = [*(coded(error) for error in errors), *_reported(context_value)]
        if data is None:
            errors = errors_of_null_data(self._schema, compiled.operation, compiled.fragments, errors)
        return ExecutionResult(
            data=data,
            errors=errors or None,
            extensions=debug_extensions(context_value),
        )

    def _compiled_cost(self, compiled: CompiledOperation, context: Any, variables: Mapping[str, Any] | None) -> GraphQLError | None:
        """``check_cost`` for a compiled operation, remembered per page sizes and
        the variable values the estimate reads (numbers, and lists' lengths)."""
        sizes, limit = _page_settings(context)
        key = (sizes, _cost_key(variables))
        known = self._compiled_costs.get(compiled)
        if known is None:
            known = self._compiled_costs[compiled] = {}
        cost = known.get(key)
        if cost is None:
            if len(known) >= COSTS_PER_OPERATION:
                known.clear()
            cost = known[key] = self._cost_model(sizes).estimate(compiled.operation, compiled.fragments, variables)
        return self._judge(context, cost, limit)

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Errors are classified and logged by ``coded``; expected ones
        (a 404, a bad id) must not fill the log with tracebacks."""


#: Estimates remembered per compiled operation, one per set of variable values.
COSTS_PER_OPERATION = 64


def _cost_key(variables: Mapping[str, Any] | None) -> tuple[tuple[str, int | None], ...]:
    """What of the variables a cost estimate can depend on: numbers, and lists' lengths."""
    if not variables:
        return ()
    return tuple(
        (name, value if isinstance(value, int) else len(value) if isinstance(value, list) else None)
        for name, value in sorted(variables.items())
    )


def _errors_of_null_data(
    schema: GatewaySchema, query: str | None, operation_name: str | None, errors: list[GraphQLError]
) -> list[GraphQLError]:
    """``errors_of_null_data`` for a document the generic executor ran."""
    document = parse(query or "")
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return errors
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return errors_of_null_data(schema._schema, operation, fragments, errors)


def _reported(context: Any) -> list[GraphQLError]:
    """Errors resolvers reported beside their data (see ``GraphContext.report``)."""
    return getattr(context, "reported", [])


def _compiled_execution(context: Any) -> bool:
    settings = getattr(context, "settings", None)
    return settings is None or settings.compiled_execution


schema = GatewaySchema(
    query=Query, mutation=Mutation, extensions=[ErrorCodes, DebugLedger, RequestTokens, RequestLimits, CostLimit]
)
