"""Which errors an answer with ``data: null`` reports.

A non-null field that fails nulls its parent, and so on up to the nearest
nullable position; when that is the root, the whole answer is ``data: null``.
Both executors then stop: the generic one cancels its pending siblings, the
level-by-level one abandons its level. What the siblings had reported before
that moment depends on each executor's timing (one steps coroutines eagerly,
the other schedules them), so the rule, the same on both, is that of
graphql-js 17: an error beneath a nulled position is not reported. Beneath a
null ``data`` that leaves exactly the errors that nulled it, the ones whose
every position from the root down is non-null.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    get_named_type,
    is_abstract_type,
)


def errors_of_null_data(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    errors: Iterable[GraphQLError],
) -> list[GraphQLError]:
    """The errors of ``errors`` that nulled the root; errors without a path
    (the request's own) all stand."""
    return [
        error for error in errors if not error.path or _nulls_root(schema, operation, fragments, error.path)
    ]


def _nulls_root(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    path: Sequence[str | int],
) -> bool:
    """Whether every position on ``path``, from the root field down, is non-null."""
    current: Any = schema.get_root_type(operation.operation)
    nodes: list[Any] = [operation]
    for key in path:
        if isinstance(key, int):
            if not isinstance(current, GraphQLList) or not isinstance(current.of_type, GraphQLNonNull):
                return False
            current = current.of_type.of_type
            continue
        parent = get_named_type(current)
        selected = [node for node in _fields(nodes, fragments) if (node.alias or node.name).value == key]
        if not selected:
            return False
        field = _field(schema, parent, selected[0].name.value)
        if field is None or not isinstance(field.type, GraphQLNonNull):
            return False
        current, nodes = field.type.of_type, selected
    return True


def _fields(nodes: list[Any], fragments: Mapping[str, FragmentDefinitionNode]) -> Iterator[FieldNode]:
    """The field nodes under these selections, through every fragment."""
    stack, seen = list(nodes), set()
    while stack:
        node = stack.pop()
        if node.selection_set is None:
            continue
        for selection in node.selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                stack.append(selection)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                seen.add(selection.name.value)
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    stack.append(fragment)


def _field(schema: GraphQLSchema, parent: Any, name: str) -> Any:
    """The field ``name`` of an object or interface type, or of any member of a union."""
    fields = getattr(parent, "fields", None)
    if fields is not None and name in fields:
        return fields[name]
    if is_abstract_type(parent):
        for member in schema.get_possible_types(parent):
            if name in member.fields:
                return member.fields[name]
    return None
