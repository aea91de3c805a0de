"""What a query will cost, estimated before it runs.

A field that selects nothing costs 1. A field that selects something costs 1
plus what it selects, times how many objects it can return:

- a field with a ``first`` argument (a connection): ``first``, or its default,
  or the default page size, at most the largest page size;
- a connection's ``edges`` and ``nodes``: 1, the page was counted above;
- ``nodes(ids:)``: the number of ids;
- any other list: the default page size;
- anything else: 1.

Fragments count where they are spread. Of the fragments on an abstract
type's object types only the dearest counts (an object has one type);
fragments on interfaces all count. Introspection fields cost 1: they are
bounded by the schema, not by the data. Variables are read from the request,
so one document can be cheap with ``first: 5`` and refused with ``first: 1000``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
)
from graphql.language import ValueNode


class CostModel:
    """The estimate for one schema and its page sizes."""

    def __init__(self, schema: GraphQLSchema, default_page_size: int, max_page_size: int) -> None:
        self.schema = schema
        self.default_page_size = default_page_size
        self.max_page_size = max_page_size

    def estimate(
        self,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any] | None,
    ) -> int:
        """The cost of ``operation`` (a valid one) with these variables."""
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return 0
        walk = _Walk(self, fragments, _variable_values(operation, variables or {}))
        return walk.selections(operation.selection_set, root)


class _Walk:
    def __init__(self, model: CostModel, fragments: Mapping[str, FragmentDefinitionNode], variables: dict[str, Any]) -> None:
        self.model = model
        self.fragments = fragments
        self.variables = variables
        #: A fragment costs the same wherever it is spread.
        self.spread_costs: dict[str, tuple[GraphQLNamedType, int]] = {}

    def selections(self, selection_set: SelectionSetNode, parent: GraphQLNamedType) -> int:
        total = 0
        branches: dict[str, int] = {}  # by concrete type: an object is of one type only
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent)
                continue
            if isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                known = self.spread_costs.get(name)
                if known is None:
                    fragment = self.fragments.get(name)
                    if fragment is None:
                        continue
                    condition = self._condition(fragment, parent)
                    known = self.spread_costs[name] = (condition, self.selections(fragment.selection_set, condition))
                condition, cost = known
            else:  # an inline fragment
                condition = self._condition(selection, parent)
                cost = self.selections(selection.selection_set, condition)
            if isinstance(condition, GraphQLObjectType) and condition is not parent:
                branches[condition.name] = branches.get(condition.name, 0) + cost
            else:
                total += cost
        return total + max(branches.values(), default=0)

    def field(self, node: FieldNode, parent: GraphQLNamedType) -> int:
        name = node.name.value
        if node.selection_set is None or name.startswith("__"):
            return 1
        definition = getattr(parent, "fields", {}).get(name)
        if definition is None:
            return 1
        return 1 + self.multiplier(node, definition, parent) * self.selections(
            node.selection_set, get_named_type(definition.type)
        )

    def multiplier(self, node: FieldNode, definition: GraphQLField, parent: GraphQLNamedType) -> int:
        model = self.model
        if "first" in definition.args:
            first = self.argument(node, "first")
            if first is None:
                default = definition.args["first"].default_value
                first = default if isinstance(default, int) else model.default_page_size
            return max(0, min(first, model.max_page_size)) if isinstance(first, int) else model.default_page_size
        if not isinstance(get_nullable_type(definition.type), GraphQLList):
            return 1
        if node.name.value in ("edges", "nodes") and "pageInfo" in getattr(parent, "fields", {}):
            return 1
        if "ids" in definition.args:
            ids = self.argument(node, "ids")
            return len(ids) if isinstance(ids, list) else model.default_page_size
        return model.default_page_size

    def argument(self, node: FieldNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                return self.value(argument.value)
        return None

    def value(self, value: ValueNode) -> Any:
        if isinstance(value, VariableNode):
            return self.variables.get(value.name.value)
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, ListValueNode):
            return list(value.values)
        return None

    def _condition(self, fragment: Any, parent: GraphQLNamedType) -> GraphQLNamedType:
        condition = fragment.type_condition
        found = self.model.schema.get_type(condition.name.value) if condition is not None else None
        return found or parent


def _variable_values(operation: OperationDefinitionNode, given: Mapping[str, Any]) -> dict[str, Any]:
    """The request's variables, with the operation's literal defaults for those it left out."""
    values: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name in given:
            values[name] = given[name]
        elif isinstance(definition.default_value, IntValueNode):
            values[name] = int(definition.default_value.value)
        elif isinstance(definition.default_value, ListValueNode):
            values[name] = list(definition.default_value.values)
    return values
