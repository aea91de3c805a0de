"""Executing query documents one nesting level at a time.

graphql-core completes each field of each object on its own and wraps every
awaitable in a task: a run of 1000 steps costs thousands of tasks, 7–10 µs a
field. This executor walks the operation breadth first. At each level it
calls a field's resolver for every object at that level, runs the coroutines
eagerly (most finish without suspending: the data is embedded or the loader
has it), and awaits only the distinct futures the rest wait on — one loader
batch serves them all — so the awaits grow with the depth of the query, not
with the number of objects. A field whose resolver has a ``batch_resolver``
twin is resolved for all objects of its level in one call.

Parsing and validation are cached per document, and so are the field plans
of documents whose selections do not depend on variables. Mutations,
introspection and anything else this executor does not know go to the
generic executor. Results and errors are the same either way; the tests run
every query both ways.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import math
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from types import CoroutineType
from typing import TYPE_CHECKING, Any

from graphql import (
    ASTValidationRule,
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLString,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    is_abstract_type,
    is_leaf_type,
    located_error,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField
from strawberry.types.nodes import Selection, convert_selections

if TYPE_CHECKING:
    from strawberry.schema import Schema as StrawberrySchema

#: Documents kept parsed, validated and planned.
PLAN_CACHE_SIZE = 512

_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF
_FAST_SCALARS = {GraphQLString: str, GraphQLID: str, GraphQLBoolean: bool, GraphQLInt: int, GraphQLFloat: float}


class ResolverInfo:
    """What resolvers are given as ``info`` here: the request context, and
    for resolvers marked ``wants_path`` or ``wants_selection`` the response
    path of their field and what is selected below it.

    The gateway's resolvers read ``info.context``, ``info.path`` and
    ``info.selected_fields`` and nothing else.
    """

    __slots__ = ("context", "path", "field_nodes", "fragments", "variable_values", "_selected")

    def __init__(
        self,
        context: Any,
        path: list[Any] | None = None,
        field_nodes: list[FieldNode] | None = None,
        fragments: dict[str, FragmentDefinitionNode] | None = None,
        variable_values: dict[str, Any] | None = None,
    ) -> None:
        self.context = context
        self.path = path
        self.field_nodes = field_nodes or []
        self.fragments = fragments or {}
        self.variable_values = variable_values or {}
        self._selected: list[Selection] | None = None

    @property
    def selected_fields(self) -> list[Selection]:
        """The field's selection as Strawberry's ``Info.selected_fields`` has it,
        converted once however often a resolver reads it."""
        if self._selected is None:
            self._selected = convert_selections(self, self.field_nodes)  # type: ignore[arg-type]
        return self._selected


@dataclass(slots=True)
class Position:
    """Where a value lands, and whether null may land there; the root
    position (the result's ``data``) has no parent and is not in paths."""

    container: Any
    key: Any
    nullable: bool
    parent: Position | None
    nulled: bool = False

    def path(self) -> list[Any]:
        keys, node = [], self
        while node.parent is not None:
            keys.append(node.key)
            node = node.parent
        return keys[::-1]


@dataclass(slots=True)
class FieldPlan:
    key: str
    nodes: list[FieldNode]
    definition: GraphQLField | None
    strawberry: StrawberryField | None
    parent_name: str
    typename: bool = False
    shape: Shape | None = None
    #: How to call the resolver, worked out once: Strawberry's own wrapper
    #: re-inspects the resolver on every call.
    func: Callable[..., Any] | None = None
    attribute: str = ""
    takes_self: bool = False
    info_name: str | None = None
    #: Arguments are converted once per request for this node and this type's
    #: field: implementations of one interface field may declare other defaults.
    argument_key: tuple[int, int] = (0, 0)
    batch: Callable[..., Any] | None = None
    wants_path: bool = False
    is_async: bool = False

    def __post_init__(self) -> None:
        if self.strawberry is None:
            return
        resolver = self.strawberry.base_resolver
        self.attribute = self.strawberry.python_name
        self.argument_key = (id(self.nodes[0]), id(self.strawberry))
        if resolver is not None:
            self.func = resolver.wrapped_func
            self.takes_self = resolver.self_parameter is not None
            self.info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None
            self.batch = getattr(self.func, "__batch__", None)
            self.is_async = inspect.iscoroutinefunction(self.func)
            self.wants_path = getattr(self.func, "__wants_path__", False)

    @property
    def label(self) -> str:
        return f"{self.parent_name}.{self.nodes[0].name.value}"


@dataclass(slots=True)
class Work:
    """An object whose selection still has to be resolved."""

    value: Any
    runtime_type: GraphQLObjectType
    nodes: list[FieldNode]
    result: dict[str, Any]
    position: Position


LEAF, OBJECT, LIST, ABSTRACT = "leaf", "object", "list", "abstract"


@dataclass(slots=True)
class Shape:
    """How to complete values of one GraphQL output type, worked out once."""

    graphql_type: Any
    non_null: bool
    kind: str
    named: Any
    item: Shape | None = None
    fast: type | None = None
    enum: bool = False


@lru_cache(maxsize=None)
def shape_of(graphql_type: Any) -> Shape:
    non_null = isinstance(graphql_type, GraphQLNonNull)
    inner = graphql_type.of_type if non_null else graphql_type
    if isinstance(inner, GraphQLList):
        return Shape(graphql_type, non_null, LIST, None, item=shape_of(inner.of_type))
    if is_leaf_type(inner):
        return Shape(graphql_type, non_null, LEAF, inner, fast=_FAST_SCALARS.get(inner), enum=isinstance(inner, GraphQLEnumType))
    return Shape(graphql_type, non_null, ABSTRACT if is_abstract_type(inner) else OBJECT, inner)


_NOT_STARTED = object()


async def _awaited(future: asyncio.Future[Any]) -> Any:
    return await future


@dataclass(slots=True)
class _Failed:
    error: BaseException


def wants_path(resolver: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a resolver that needs its field's response path in ``info.path``
    (to report errors beside its data); only these pay for building one."""
    resolver.__wants_path__ = True  # type: ignore[attr-defined]
    return resolver


def wants_selection(resolver: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a resolver that reads ``info.selected_fields`` (to start the calls
    its children will need in its own round trip); the generic executor's
    ``Info`` has them anyway."""
    return wants_path(resolver)


def batch_resolver(many: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a field resolver a twin that resolves the field for every object at
    one level of a query in one call: ``many(sources, **same_arguments)``
    returns their values in order (an exception in place of a value fails
    that object's field only). The generic executor calls the resolver itself."""

    def mark(resolver: Callable[..., Any]) -> Callable[..., Any]:
        resolver.__batch__ = many  # type: ignore[attr-defined]
        return resolver

    return mark


class _Run:
    """A resolver coroutine stepped by hand until it finishes."""

    __slots__ = ("coro", "waiting_on", "value", "error", "done")

    def __init__(self, coro: Coroutine[Any, Any, Any], yielded: Any = _NOT_STARTED) -> None:
        self.coro = coro
        self.waiting_on: Any = None
        self.value: Any = None
        self.error: BaseException | None = None
        self.done = False
        if yielded is _NOT_STARTED:
            self.step()
        else:
            self._wait_on(yielded)

    def step(self) -> None:
        try:
            yielded = self.coro.send(None)
        except StopIteration as stop:
            self.value, self.done = stop.value, True
        except (Exception, asyncio.CancelledError) as exc:  # a field error, as graphql-core has it
            self.error, self.done = exc, True
        else:
            self._wait_on(yielded)

    def _wait_on(self, yielded: Any) -> None:
        if getattr(yielded, "_asyncio_future_blocking", False):
            yielded._asyncio_future_blocking = False
        self.waiting_on = yielded

    @property
    def ready(self) -> bool:
        future = self.waiting_on
        return future is None or future.done()


async def settle(runs: list[_Run]) -> None:
    """Finish the suspended runs, awaiting each distinct future once."""
    waiting = [run for run in runs if not run.done]
    try:
        while waiting:
            futures = {id(run.waiting_on): run.waiting_on for run in waiting if run.waiting_on is not None}
            if futures and not any(run.ready for run in waiting):
                await asyncio.wait(futures.values(), return_when=asyncio.FIRST_COMPLETED)
            elif not futures:
                await asyncio.sleep(0)
            still = []
            for run in waiting:
                if run.ready:
                    run.step()
                if not run.done:
                    still.append(run)
            waiting = still
    finally:
        for run in waiting:
            with contextlib.suppress(BaseException):
                run.coro.close()


def _abandon(runs: list[_Run]) -> list[Work]:
    """Stop the runs of a level whose answer is discarded: what they wait on
    alone (a gather, a task) is cancelled, so its backend calls stop too; a
    loader's future, which other fields may share, is left to finish."""
    for run in runs:
        if run.done:
            continue
        future = run.waiting_on
        if isinstance(future, asyncio.Future) and type(future) is not asyncio.Future and not future.done():
            future.cancel()
            future.add_done_callback(_retrieved)
        with contextlib.suppress(BaseException):
            run.coro.close()
    return []


def _retrieved(future: asyncio.Future[Any]) -> None:
    """Take a cancelled gather's outcome, which nobody else will read."""
    if not future.cancelled():
        future.exception()


#: What ``_resolve_works`` says when the answer is already ``data: null``.
_ABANDONED = object()


class UnsupportedDocument(Exception):
    """The document uses something only the generic executor handles."""


def _skipped(node: Any, variables: dict[str, Any]) -> bool:
    for directive in node.directives or ():
        name = directive.name.value
        if name not in ("skip", "include"):
            continue
        (argument,) = directive.arguments
        value = argument.value
        flag = variables.get(value.name.value) if isinstance(value, VariableNode) else (
            value.value if isinstance(value, BooleanValueNode) else None
        )
        if flag is None:
            raise UnsupportedDocument("null @skip/@include condition")  # graphql-core reports it as an error
        if (name == "skip" and flag is True) or (name == "include" and flag is not True):
            return True
    return False


class CompiledOperation:
    """A validated query operation with its plans, ready to run many times."""

    def __init__(self, schema: StrawberrySchema, document: DocumentNode, operation: OperationDefinitionNode) -> None:
        self.schema = schema._schema
        self.operation = operation
        registry, config = schema.schema_converter.scalar_registry, schema.config
        self.convert_arguments = lambda raw, arguments: convert_arguments(
            raw, arguments, scalar_registry=registry, config=config
        )
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.static = not _has_conditions(document)
        self.root_nodes: list[Any] = [operation]
        self.plans: dict[tuple[str, int], tuple[list[FieldPlan], dict[str, None]]] = {}
        for selection in _selections(self.root_nodes, self.fragments):
            if isinstance(selection, FieldNode) and selection.name.value in ("__schema", "__type"):
                raise UnsupportedDocument("introspection")

    def field_plans(
        self, runtime_type: GraphQLObjectType, nodes: list[Any], variables: dict[str, Any], cache: dict[tuple[str, int], Any]
    ) -> tuple[list[FieldPlan], dict[str, None]]:
        """The fields to resolve on ``runtime_type`` for these selections, merged by
        response key; ``nodes`` is one list object per place in the document."""
        key = (runtime_type.name, id(nodes))
        cached = cache.get(key)
        if cached is not None:
            return cached
        grouped: dict[str, list[FieldNode]] = {}
        self._collect(runtime_type, nodes, variables, grouped, set())
        plans = []
        for response_key, field_nodes in grouped.items():
            name = field_nodes[0].name.value
            if name == "__typename":
                plans.append(FieldPlan(response_key, field_nodes, None, None, runtime_type.name, typename=True))
                continue
            definition = runtime_type.fields.get(name)
            if definition is None:
                raise UnsupportedDocument(name)
            strawberry_field = (definition.extensions or {}).get(_BACKREF)
            if not isinstance(strawberry_field, StrawberryField) or strawberry_field.extensions or strawberry_field.permission_classes:
                raise UnsupportedDocument(name)
            plans.append(
                FieldPlan(response_key, field_nodes, definition, strawberry_field, runtime_type.name, shape=shape_of(definition.type))
            )
        planned = (plans, dict.fromkeys(grouped))
        cache[key] = planned
        return planned

    def _collect(
        self,
        runtime_type: GraphQLObjectType,
        nodes: list[Any],
        variables: dict[str, Any],
        grouped: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for node in nodes:
            for selection in node.selection_set.selections:
                if _skipped(selection, variables):
                    continue
                if isinstance(selection, FieldNode):
                    key = selection.alias.value if selection.alias else selection.name.value
                    grouped.setdefault(key, []).append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    if self._applies(selection.type_condition, runtime_type):
                        self._collect(runtime_type, [selection], variables, grouped, visited)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.fragments.get(name)
                    if name in visited or fragment is None or not self._applies(fragment.type_condition, runtime_type):
                        continue
                    visited.add(name)
                    self._collect(runtime_type, [fragment], variables, grouped, visited)

    def _applies(self, condition: Any, runtime_type: GraphQLObjectType) -> bool:
        if condition is None:
            return True
        condition_type = self.schema.get_type(condition.name.value)
        if condition_type is runtime_type:
            return True
        return is_abstract_type(condition_type) and self.schema.is_sub_type(condition_type, runtime_type)

    async def execute(self, context: Any, variable_values: dict[str, Any] | None, root_value: Any) -> tuple[Any, list[GraphQLError]]:
        """The result's data and errors, as graphql-core would give them."""
        coerced = get_variable_values(self.schema, self.operation.variable_definitions or (), variable_values or {})
        if isinstance(coerced, list):
            return None, coerced
        return await Execution(self, context, coerced).run(root_value)


def _has_conditions(document: DocumentNode) -> bool:
    """Whether any selection has @skip or @include: then plans depend on variables."""
    stack: list[Any] = list(document.definitions)
    while stack:
        node = stack.pop()
        if any(d.name.value in ("skip", "include") for d in getattr(node, "directives", None) or ()):
            return True
        selection_set: SelectionSetNode | None = getattr(node, "selection_set", None)
        if selection_set is not None:
            stack.extend(selection_set.selections)
    return False


def _selections(nodes: list[Any], fragments: dict[str, FragmentDefinitionNode]) -> Iterable[Any]:
    for node in nodes:
        for selection in node.selection_set.selections:
            if isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    yield from _selections([fragment], fragments)
            elif isinstance(selection, InlineFragmentNode):
                yield from _selections([selection], fragments)
            else:
                yield selection


class Execution:
    """One run of a compiled operation."""

    def __init__(self, compiled: CompiledOperation, context: Any, variables: Any) -> None:
        self.compiled = compiled
        self.schema = compiled.schema
        self.context = context
        self.info = ResolverInfo(context)
        self.variables = variables
        self.errors: list[GraphQLError] = []
        self.any_nulled = False
        self.arguments: dict[tuple[int, int], dict[str, Any]] = {}
        self.plans = compiled.plans if compiled.static else {}
        #: Awaitable values found inside lists, completed once they settle.
        self.deferred: list[tuple[_Run, GraphQLOutputType, FieldPlan, Position]] = []
        self.types: dict[type, GraphQLObjectType] = {}
        self.enum_names: dict[tuple[str, Any], Any] = {}

    async def run(self, root_value: Any) -> tuple[Any, list[GraphQLError]]:
        data: dict[str, Any] = {}
        holder = {"data": data}
        self.root = root = Position(holder, "data", True, None)
        level = [Work(root_value, self.schema.query_type, self.compiled.root_nodes, data, root)]
        while level and not root.nulled:
            level = await self._level(level)
        return holder["data"], self.errors

    async def _level(self, level: list[Work]) -> list[Work]:
        """One round: every field that can be resolved without waiting is
        resolved, objects that are already known included (their fields join
        this round, as graphql-core's depth-first walk has them start before
        any loader dispatches); then the round waits, once, for what it started."""
        if self.any_nulled:
            level = [work for work in level if self._alive(work.position)]
        pending: list[tuple[Work, FieldPlan, Any]] = []
        runs: list[_Run] = []
        batched: dict[int, tuple[FieldPlan, list[Work]]] = {}
        works = level
        doomed: tuple[BaseException, FieldPlan, Work] | None = None
        while works:
            doomed = self._resolve_works(works, pending, runs, batched, doomed)
            if doomed is _ABANDONED:
                return _abandon(runs)  # the answer is data: null, nothing else counts
            works = [] if doomed is not None else self._descend(pending, batched)
        if doomed is not None:
            self._fail(*doomed)
            return _abandon(runs)
        batches = [(plan, works, self._start_batch(plan, works)) for plan, works in batched.values()]
        runs += [value for _, _, value in batches if type(value) is _Run and not value.done]
        if runs:
            await settle(runs)
        for plan, works, value in batches:
            self._finish_batch(plan, works, value, pending)
        next_level: list[Work] = []
        for work, plan, value in pending:
            if self.root.nulled:
                return []
            if type(value) is _Run:
                if value.error is not None:
                    self._fail(value.error, plan, work)
                    continue
                value = value.value
            position = Position(work.result, plan.key, not plan.shape.non_null, work.position)
            self._complete(value, plan.definition.type, plan, position, next_level)
        while self.deferred:
            deferred, self.deferred = self.deferred, []
            if self.root.nulled:
                return _abandon([run for run, *_ in deferred])
            await settle([run for run, *_ in deferred if not run.done])
            for run, return_type, plan, position in deferred:
                self._complete(run, return_type, plan, position, next_level)
        return next_level

    def _resolve_works(
        self,
        works: list[Work],
        pending: list[tuple[Work, FieldPlan, Any]],
        runs: list[_Run],
        batched: dict[int, tuple[FieldPlan, list[Work]]],
        doomed: Any,
    ) -> Any:
        """Call the resolvers of these objects' fields: values, started runs and
        batched fields go to ``pending``, ``runs`` and ``batched``. Returns the
        failure that will null the answer once the round is called, if any,
        or ``_ABANDONED`` when the answer is already null."""
        variables, cache = self.variables.coerced, self.plans
        if self.any_nulled:
            works = [work for work in works if self._alive(work.position)]
        for work in works:
            plans, template = self.compiled.field_plans(work.runtime_type, work.nodes, variables, cache)
            result = work.result
            result.update(template)  # response keys in selection order
            source = work.value
            for plan in plans:
                if plan.typename:
                    result[plan.key] = work.runtime_type.name
                    continue
                if doomed is not None and plan.is_async:
                    continue  # graphql-core would not have started it (see below)
                if plan.batch is not None:
                    batched.setdefault(id(plan), (plan, []))[1].append(work)
                    continue
                try:
                    value = self._resolve_at(plan, source, work) if plan.wants_path else self._resolve(plan, source)
                except Exception as exc:
                    self._fail(exc, plan, work)
                    if self.root.nulled:
                        return _ABANDONED
                    continue
                if isinstance(value, asyncio.Future):
                    value = _awaited(value)
                if type(value) is CoroutineType:
                    try:
                        yielded = value.send(None)
                    except StopIteration as stop:
                        value = stop.value  # finished without suspending: the common case
                    except Exception as exc:
                        # graphql-core runs a coroutine only after every field of
                        # the level has been called, so a synchronous failure later
                        # in the level is the one that nulls the answer, and a
                        # coroutine later in the level never starts.
                        if doomed is None and self._nulls_root(plan, work):
                            doomed = (exc, plan, work)
                        else:
                            self._fail(exc, plan, work)
                        continue
                    else:
                        value = _Run(value, yielded)
                        runs.append(value)
                        pending.append((work, plan, value))
                        continue
                fast = plan.shape.fast
                if fast is not None and type(value) is fast and (fast is str or fast is bool):
                    result[plan.key] = value
                    continue
                if type(value) is list and value and type(value[0]) is CoroutineType and doomed is None:
                    # Items still to run (``nodes``): started now, so their loads
                    # join this round's batches instead of making a round of their own.
                    value = [_Run(item) if type(item) is CoroutineType else item for item in value]
                    runs += [item for item in value if type(item) is _Run and not item.done]
                pending.append((work, plan, value))
        return doomed

    def _descend(self, pending: list[tuple[Work, FieldPlan, Any]], batched: dict[int, tuple[FieldPlan, list[Work]]]) -> list[Work]:
        """Complete the values already known, into the objects whose fields
        join this round. A field some of whose values still wait (a run, a
        batch) is left whole for the next round, so its objects' fields stay
        in one batch."""
        waiting = {id(plan) for _, plan, value in pending if type(value) is _Run}
        waiting.update(batched)
        if not pending:
            return []
        works: list[Work] = []
        still: list[tuple[Work, FieldPlan, Any]] = []
        for item in pending:
            work, plan, value = item
            if type(value) is _Run or id(plan) in waiting:
                still.append(item)
                continue
            position = Position(work.result, plan.key, not plan.shape.non_null, work.position)
            self._complete(value, plan.definition.type, plan, position, works)
        pending[:] = still
        return works

    def _resolve(self, plan: FieldPlan, source: Any) -> Any:
        func = plan.func
        if func is None:
            return getattr(source, plan.attribute)
        kwargs = self.arguments.get(plan.argument_key)
        if kwargs is None:
            kwargs = self._arguments(plan)
        return func(source, **kwargs) if plan.takes_self else func(**kwargs)

    def _resolve_at(self, plan: FieldPlan, source: Any, work: Work) -> Any:
        """``_resolve`` with an ``info`` that knows where the field lands."""
        kwargs = dict(self._arguments(plan))
        kwargs[plan.info_name] = ResolverInfo(
            self.info.context,
            [*work.position.path(), plan.key],
            plan.nodes,
            self.compiled.fragments,
            self.variables.coerced,
        )
        return plan.func(source, **kwargs) if plan.takes_self else plan.func(**kwargs)

    def _start_batch(self, plan: FieldPlan, works: list[Work]) -> Any:
        """Call a field's many-objects resolver once for every object of the level."""
        try:
            value = plan.batch([work.value for work in works], **self._arguments(plan))
        except Exception as exc:
            return _Failed(exc)
        return _Run(value) if type(value) is CoroutineType else value

    def _finish_batch(self, plan: FieldPlan, works: list[Work], value: Any, pending: list[tuple[Work, FieldPlan, Any]]) -> None:
        if type(value) is _Run:
            value = _Failed(value.error) if value.error is not None else value.value
        if type(value) is _Failed:
            for work in works:
                self._fail(value.error, plan, work)
            return
        for work, item in zip(works, value, strict=True):
            if isinstance(item, Exception):
                self._fail(item, plan, work)
            else:
                pending.append((work, plan, item))

    def _arguments(self, plan: FieldPlan) -> dict[str, Any]:
        """The resolver's keyword arguments, converted once per field per request
        (``_resolve`` looks in the cache itself first: it is the hot path)."""
        cached = self.arguments.get(plan.argument_key)
        if cached is not None:
            return cached
        kwargs: dict[str, Any] = {}
        if plan.strawberry.arguments:
            raw = get_argument_values(plan.definition, plan.nodes[0], self.variables)
            kwargs = self.compiled.convert_arguments(raw, plan.strawberry.arguments)
        if plan.info_name is not None:
            kwargs[plan.info_name] = self.info
        self.arguments[plan.argument_key] = kwargs
        return kwargs

    def _fail(self, exc: BaseException, plan: FieldPlan, work: Work) -> None:
        position = Position(work.result, plan.key, not isinstance(plan.definition.type, GraphQLNonNull), work.position)
        self.errors.append(located_error(exc, plan.nodes, position.path()))
        self._null(position)

    def _nulls_root(self, plan: FieldPlan, work: Work) -> bool:
        """Whether an error of this field would null the whole answer."""
        node: Position | None = work.position if plan.shape.non_null else None
        while node is not None and not node.nullable:
            node = node.parent
        return node is self.root

    def _null(self, position: Position) -> None:
        """Null a position, or the nearest nullable one above it; nothing
        below it is resolved any further."""
        node: Position | None = position
        while node is not None and not node.nullable:
            node = node.parent
        if node is not None:
            node.container[node.key] = None
            node.nulled = True
            self.any_nulled = True

    @staticmethod
    def _alive(position: Position) -> bool:
        node: Position | None = position
        while node is not None:
            if node.nulled:
                return False
            node = node.parent
        return True

    def _complete(self, value: Any, return_type: GraphQLOutputType, plan: FieldPlan, position: Position, next_level: list[Work]) -> None:
        if type(value) is CoroutineType:
            value = _Run(value)
        if type(value) is _Run:
            if not value.done:
                self.deferred.append((value, return_type, plan, position))
                return
            if value.error is not None:
                self.errors.append(located_error(value.error, plan.nodes, position.path()))
                self._null(position)
                return
            value = value.value
        shape = shape_of(return_type)
        if value is None:
            if shape.non_null:
                message = f"Cannot return null for non-nullable field {plan.label}."
                self.errors.append(GraphQLError(message, plan.nodes, path=position.path()))
                self._null(position)
            else:
                position.container[position.key] = None
            return
        kind = shape.kind
        if kind is LEAF:
            self._complete_leaf(value, shape, plan, position)
        elif kind is OBJECT:
            result: dict[str, Any] = {}
            position.container[position.key] = result
            next_level.append(Work(value, shape.named, plan.nodes, result, position))
        elif kind is LIST:
            self._complete_list(value, shape, plan, position, next_level)
        else:
            self._complete_abstract(value, shape, plan, position, next_level)

    def _complete_list(self, value: Any, shape: Shape, plan: FieldPlan, position: Position, next_level: list[Work]) -> None:
        if type(value) is not list:
            if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
                message = f"Expected Iterable, but did not find one for field '{plan.label}'."
                self.errors.append(GraphQLError(message, plan.nodes, path=position.path()))
                self._null(position)
                return
            value = list(value)
        completed: list[Any] = [None] * len(value)
        position.container[position.key] = completed
        item_type, item = shape.item.graphql_type, shape.item
        if item.kind is OBJECT and item.non_null:
            named, nodes = item.named, plan.nodes
            for index, element in enumerate(value):
                if element is None or type(element) is CoroutineType or type(element) is _Run:
                    self._complete(element, item_type, plan, Position(completed, index, False, position), next_level)
                    continue
                result: dict[str, Any] = {}
                completed[index] = result
                next_level.append(Work(element, named, nodes, result, Position(completed, index, False, position)))
            return
        nullable = not item.non_null
        for index, element in enumerate(value):
            self._complete(element, item_type, plan, Position(completed, index, nullable, position), next_level)

    def _complete_leaf(self, value: Any, shape: Shape, plan: FieldPlan, position: Position) -> None:
        fast = shape.fast
        if fast is not None and type(value) is fast and (
            fast is str or fast is bool or (fast is int and -(2**31) <= value < 2**31) or (fast is float and math.isfinite(value))
        ):
            position.container[position.key] = value
            return
        leaf_type = shape.named
        try:
            if shape.enum and isinstance(value, Enum):
                cache_key = (leaf_type.name, value)
                serialized = self.enum_names.get(cache_key)
                if serialized is None:
                    serialized = self.enum_names[cache_key] = leaf_type.serialize(value)
            else:
                serialized = leaf_type.serialize(value)
        except Exception as exc:
            self.errors.append(located_error(exc, plan.nodes, position.path()))
            self._null(position)
            return
        position.container[position.key] = serialized

    def _complete_abstract(self, value: Any, shape: Shape, plan: FieldPlan, position: Position, next_level: list[Work]) -> None:
        runtime_type = self._runtime_type(value)
        if runtime_type is None or not self.schema.is_sub_type(shape.named, runtime_type):
            error = TypeError(f"Abstract type '{shape.named.name}' could not resolve a type for {type(value).__name__}.")
            self.errors.append(located_error(error, plan.nodes, position.path()))
            self._null(position)
            return
        result: dict[str, Any] = {}
        position.container[position.key] = result
        next_level.append(Work(value, runtime_type, plan.nodes, result, position))

    def _runtime_type(self, value: Any) -> GraphQLObjectType | None:
        cls = type(value)
        found = self.types.get(cls)
        if found is None:
            definition = getattr(cls, "__strawberry_definition__", None)
            named = self.schema.get_type(definition.name) if definition is not None else None
            found = named if isinstance(named, GraphQLObjectType) else None
            if found is not None:
                self.types[cls] = found
        return found



class PlanCache:
    """Parsed, validated and compiled query operations by document text."""

    def __init__(
        self,
        schema: StrawberrySchema,
        rules: Iterable[type[ASTValidationRule]] = (),
        size: int = PLAN_CACHE_SIZE,
        max_tokens: int | None = None,
    ) -> None:
        self.schema = schema
        self.rules = [*specified_rules, *rules]
        self.max_tokens = max_tokens
        self._compile = lru_cache(maxsize=size)(self._build)

    def get(self, query: str, operation_name: str | None) -> CompiledOperation | None:
        return self._compile(query, operation_name)

    def _build(self, query: str, operation_name: str | None) -> CompiledOperation | None:
        """A compiled query operation, or None for the generic executor to answer
        (syntax and validation errors included, so they read the same)."""
        try:
            document = parse(query, max_tokens=self.max_tokens)
        except GraphQLError:
            return None
        if validate(self.schema._schema, document, self.rules):
            return None
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name is not None:
            operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
        if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
            return None
        try:
            return CompiledOperation(self.schema, document, operations[0])
        except UnsupportedDocument:
            return None
