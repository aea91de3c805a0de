"""The validation rules that bound a document: depth, aliases, fragment
expansion and (when switched off) introspection.

Depth and aliases are Strawberry's own rules, the ones its ``QueryDepthLimiter``
and ``MaxAliasesLimiter`` extensions add (from 0.315.7 they follow fragment
spreads: a circular spread no longer crashes the depth rule, and aliases inside
spread fragments count once per spread). Both walk every expansion of every
spread, so a document of a few hundred tokens whose fragments each spread the
previous one twice would keep them busy for minutes. They run behind a guard
that first counts, in one pass with each fragment's count kept, how many fields
the document expands to and how deep it nests: past ``max_cost`` fields, or 150
levels, the document is refused without running them. Documents that spread
an unknown fragment or spread fragments in a cycle are left to graphql-core's
rules, which report those.

The same rules run on both executors (``GatewaySchema`` hands them to its
``PlanCache`` and to Strawberry's validation), so both refuse the same
documents with the same errors. Each error says which limit it enforces in
``extensions.limit``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import DisableIntrospection, MaxAliasesLimiter, QueryDepthLimiter

from mlgraph.settings import LimitSettings

#: Nesting (fields, inline fragments and spread fragments) past which a document
#: is refused before the depth and alias rules walk it: they recurse per level.
MAX_NESTING = 150

VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
COST_LIMIT_EXCEEDED = "COST_LIMIT_EXCEEDED"


def validation_rules(limits: LimitSettings, introspection: bool = True) -> tuple[type[ASTValidationRule], ...]:
    """The rules every document is validated with, beside graphql-core's."""
    return _rules(limits.max_depth, limits.max_aliases, limits.max_cost, introspection)


@lru_cache(maxsize=16)
def _rules(max_depth: int, max_aliases: int, max_fields: int, introspection: bool) -> tuple[type[ASTValidationRule], ...]:
    bounded = [
        *((rule, "depth") for rule in QueryDepthLimiter(max_depth=max_depth).validation_rules),
        *((rule, "aliases") for rule in MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules),
    ]
    rules: list[type[ASTValidationRule]] = [_guarded(bounded, max_fields)]
    if not introspection:
        rules.extend(_tagged(rule, "introspection") for rule in DisableIntrospection().validation_rules)
    return tuple(rules)


class _Tagging:
    """A validation context whose errors say which limit they enforce."""

    def __init__(self, context: ValidationContext, limit: str) -> None:
        self._context = context
        self._limit = limit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    def report_error(self, error: GraphQLError) -> None:
        self._context.report_error(limit_error(error.message, self._limit, nodes=error.nodes))


def limit_error(message: str, limit: str, *, code: str = VALIDATION_FAILED, nodes: Any = None, **extensions: Any) -> GraphQLError:
    return GraphQLError(message, nodes, extensions={"code": code, "limit": limit, **extensions})


def _tagged(rule: type[ASTValidationRule], limit: str) -> type[ASTValidationRule]:
    """``rule`` reporting its errors with ``extensions.limit``."""

    class Tagged(rule):  # type: ignore[valid-type,misc]
        def report_error(self, error: GraphQLError) -> None:
            self.context.report_error(limit_error(error.message, limit, nodes=error.nodes))

    Tagged.__name__ = f"Tagged{rule.__name__}"
    return Tagged


def _guarded(bounded: list[tuple[type[ASTValidationRule], str]], max_fields: int) -> type[ASTValidationRule]:
    class DocumentLimits(ValidationRule):
        """Counts the expanded document, then runs the bounded rules on it."""

        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            empty = _empty_selection(context.document)
            if empty is not None:
                # The spec's grammar wants a field in every selection set;
                # graphql-core 3.3 parses `{ }`, and the depth rule fails on it.
                context.report_error(GraphQLError("a selection set must select at least one field", empty))
                return
            size = expansion(context.document)
            if size is None:
                return  # an unknown fragment or a cycle: graphql-core's rules report it
            fields, nesting = size
            if nesting > MAX_NESTING:
                context.report_error(
                    limit_error(f"the document nests fields and fragments more than {MAX_NESTING} levels deep", "depth")
                )
            elif fields > max_fields:
                context.report_error(
                    limit_error(
                        f"the document expands to {fields} fields through its fragments; the limit is {max_fields}",
                        "cost",
                        code=COST_LIMIT_EXCEEDED,
                        cost={"estimated": fields, "limit": max_fields},
                    )
                )
            else:
                for rule, limit in bounded:
                    rule(_Tagging(context, limit))  # type: ignore[arg-type]  # they do their work when built

    return DocumentLimits


def _empty_selection(document: DocumentNode) -> SelectionSetNode | None:
    """The first selection set that selects nothing, if any."""
    stack: list[Any] = list(document.definitions)
    while stack:
        selection_set: SelectionSetNode | None = getattr(stack.pop(), "selection_set", None)
        if selection_set is None:
            continue
        if not selection_set.selections:
            return selection_set
        stack.extend(selection_set.selections)
    return None


def expansion(document: DocumentNode) -> tuple[int, int] | None:
    """How many fields the operations of ``document`` select once every spread
    is replaced by its fragment, and how deep they nest; None when a spread names
    an unknown fragment or fragments spread each other in a cycle.

    Each fragment is counted once, fragments before those that spread them, with
    explicit stacks: no recursion, however the fragments chain.
    """
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    own = {name: _own_size(fragment.selection_set) for name, fragment in fragments.items()}
    sizes: dict[str, tuple[int, int]] = {}
    for root in fragments:
        if root in sizes:
            continue
        path, on_path = [(root, iter(own[root][2]))], {root}
        while path:
            name, spreads = path[-1]
            for spread, _depth in spreads:
                if spread not in fragments:
                    return None
                if spread in on_path:
                    return None
                if spread not in sizes:
                    path.append((spread, iter(own[spread][2])))
                    on_path.add(spread)
                    break
            else:
                path.pop()
                on_path.discard(name)
                sizes[name] = _combine(own[name], sizes)
    fields, nesting = 0, 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            stats = _own_size(definition.selection_set)
            if any(spread not in fragments for spread, _ in stats[2]):
                return None
            operation_fields, operation_nesting = _combine(stats, sizes)
            fields += operation_fields
            nesting = max(nesting, operation_nesting)
    return fields, nesting


def _own_size(selection_set: SelectionSetNode) -> tuple[int, int, list[tuple[str, int]]]:
    """Fields, nesting and spreads (with the level each is at) of one selection set, spreads not followed."""
    fields, nesting, spreads = 0, 0, []
    stack = [(selection_set, 1)]
    while stack:
        current, level = stack.pop()
        nesting = max(nesting, level)
        for selection in current.selections:
            if isinstance(selection, FragmentSpreadNode):
                spreads.append((selection.name.value, level))
                continue
            if isinstance(selection, FieldNode):
                fields += 1
            if selection.selection_set is not None:  # type: ignore[attr-defined]
                stack.append((selection.selection_set, level + 1))  # type: ignore[attr-defined]
    return fields, nesting, spreads


def _combine(stats: tuple[int, int, list[tuple[str, int]]], sizes: dict[str, tuple[int, int]]) -> tuple[int, int]:
    fields, nesting, spreads = stats
    for spread, level in spreads:
        spread_fields, spread_nesting = sizes[spread]
        fields += spread_fields
        nesting = max(nesting, level + spread_nesting)
    return fields, nesting
