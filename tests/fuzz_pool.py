"""The executor fuzz's query documents, with arguments that name real objects.

Random strings almost never name an object, so a fuzz drawing them would only
ever test "not found". The pool is harvested from the demo data through the
gateway itself: the global ids of objects of every node type of every
platform, real cursors of first pages (by connection type), names, emails and
times. hypothesis-graphql writes the documents; then each
ID argument is given an id of the type its field expects (or its native id),
and each `after` a cursor of its own connection, seven draws in eight. The
eighth is garbage: forged ids of every node type, ids that are not ids,
random text. Page sizes are small, and sometimes negative or huge.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import hypothesis_graphql
from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    IntValueNode,
    ListValueNode,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    ValueNode,
    Visitor,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
    is_required_argument,
    print_ast,
    visit,
)
from hypothesis import strategies as st

from mlgraph.demo import build_sandbox
from mlgraph.graph.errors import UserInputError
from mlgraph.graph.ids import GlobalId, global_id
from mlgraph.graph.schema import NODE_GETTERS, schema
from mlgraph.settings import LimitSettings
from tests.conftest import Gateway, open_gateway
from tests.executor_pair import isolated_settings

GQL: GraphQLSchema = schema._schema
#: The harvest's documents are far past the gateway's limits on purpose.
UNLIMITED = LimitSettings(max_depth=64, max_aliases=1_000_000, max_tokens=10_000_000, max_cost=1_000_000_000)
#: Fields nested below the root, then below each `nodes(ids:)` round.
ROOT_DEPTH, NODES_DEPTH = 3, 2
#: `nodes(ids:)` rounds on the ids found so far: three reach every node type.
ROUNDS = 3
CURSOR_KEYS = frozenset({"cursor", "startCursor", "endCursor"})
WORD_KEYS = frozenset({"name", "email", "fullName", "title", "ownerUsername", "modelName", "stepName", "tags"})
TIME_KEYS = frozenset({"createdAt", "startedAt", "endedAt"})
MISSING = "00000000-0000-4000-8000-000000000000"
#: Root fields a document selects, drawn one by one (hypothesis-graphql itself
#: selects one root field in nearly every document): every root field is drawn
#: as often as the next, and root fields, the same one too, meet in one document.
ROOTS_PER_DOCUMENT = 3


@dataclass(frozen=True)
class Pool:
    ids: dict[str, tuple[str, ...]]  # global ids by node type
    cursors: dict[str, tuple[str, ...]]  # by connection type
    words: tuple[str, ...]
    times: tuple[str, ...]


# ------------------------------------------------------------------ harvest


def selection(type_: GraphQLNamedType, depth: int) -> str:
    """Every field of `type_` that needs no argument, `depth` levels down, lists
    cut to 3; on an abstract type each concrete type's fields too, aliased by
    type so that fields of one name and different types do not conflict; and
    every object's `__typename`, to file cursors by connection type. Never
    an empty selection set: graphql-core parses one, and the gateway refuses
    it (before 795d32b, with INTERNAL_SERVER_ERROR: tests/test_fuzz_regressions.py)."""
    if not is_abstract_type(type_):
        return "__typename " + _fields(type_, depth)  # type: ignore[arg-type]
    shared = ["__typename"] + ([] if isinstance(type_, GraphQLUnionType) else [_fields(type_, depth)])  # type: ignore[arg-type]
    concrete = [(each.name, _fields(each, depth, each.name + "_")) for each in GQL.get_possible_types(type_)]  # type: ignore[arg-type]
    return " ".join(shared + [f"... on {name} {{ {fields} }}" for name, fields in concrete if fields])


def _fields(type_: GraphQLObjectType, depth: int, alias: str = "") -> str:
    parts = []
    for name, field in type_.fields.items():
        if any(is_required_argument(argument) for argument in field.args.values()):
            continue
        target = get_named_type(field.type)
        head = f"{alias}{name}: {name}" if alias else name
        if "first" in field.args:
            head += "(first: 3)"
        if is_leaf_type(target):
            parts.append(head)
        elif depth > 0 and (inner := selection(target, depth - 1)):
            parts.append(f"{head} {{ {inner} }}")
    return " ".join(parts)


def _strings(value: Any, key: str = "", owners: tuple[str, ...] = ()) -> Iterator[tuple[str, tuple[str, ...], str]]:
    """(field name, types of the objects holding it, string) for every string in
    an answer; the harvest's aliases are `Type_field`, its objects say their type."""
    if isinstance(value, dict):
        owners = (*owners, value.get("__typename", ""))
        for child_key, child in value.items():
            yield from _strings(child, child_key.rpartition("_")[2], owners)
    elif isinstance(value, list):
        for child in value:
            yield from _strings(child, key, owners)
    elif isinstance(value, str):
        yield key, owners, value


def _node_type(value: str) -> str | None:
    try:
        type_name = GlobalId.decode(value).type_name
    except UserInputError:
        return None
    return type_name if type_name in NODE_GETTERS else None


class Harvest:
    """Strings of the answers, sorted into the pool's parts."""

    def __init__(self) -> None:
        self.ids: dict[str, set[str]] = {}
        self.cursors: dict[str, set[str]] = {}
        self.words: set[str] = set()
        self.times: set[str] = set()

    def add(self, data: Any) -> None:
        for key, owners, value in _strings(data):
            if key == "id" and (type_name := _node_type(value)):
                self.ids.setdefault(type_name, set()).add(value)
            elif key in CURSOR_KEYS and len(owners) >= 2:  # Connection { edges { cursor } pageInfo { endCursor } }
                self.cursors.setdefault(owners[-2], set()).add(value)
            elif key in WORD_KEYS:
                self.words.add(value)
            elif key in TIME_KEYS:
                self.times.add(value)

    def pool(self) -> Pool:
        return Pool(
            ids={name: tuple(sorted(ids)) for name, ids in sorted(self.ids.items())},
            cursors={name: tuple(sorted(cursors)) for name, cursors in sorted(self.cursors.items())},
            words=tuple(sorted(self.words)),
            times=tuple(sorted(self.times)),
        )


def harvest_from(gateway: Gateway) -> Pool:
    """Every root field 3 levels down, then the objects found, 2 levels down, three times."""
    found = Harvest()
    found.add(gateway("{ " + selection(GQL.query_type, ROOT_DEPTH) + " }").data)  # type: ignore[arg-type]
    by_id = "query($ids: [ID!]!) { nodes(ids: $ids) { " + selection(GQL.get_type("Node"), NODES_DEPTH) + " } }"  # type: ignore[arg-type]
    asked: set[str] = set()
    for _ in range(ROUNDS):
        new = sorted(set().union(*found.ids.values()) - asked)
        asked.update(new)
        found.add(gateway(by_id, {"ids": new}).data)
    return found.pool()


def harvest() -> Pool:
    """The pool, read from a gateway over the same seeded demo data as the pair's."""
    sandbox = build_sandbox(settings=isolated_settings(compiled=False, limits=UNLIMITED))
    for gateway in open_gateway(sandbox):
        return harvest_from(gateway)
    raise AssertionError("unreachable")


# ------------------------------------------------------------------ documents


def _mostly(real: st.SearchStrategy[Any], garbage: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Seven draws in eight from the data, one from the garbage: a document has
    many arguments, and one bad argument of a merged list nulls the whole answer."""
    return st.integers(min_value=0, max_value=7).flatmap(lambda roll: garbage if roll == 7 else real)


TEXT = st.text(max_size=24)
FORGED_IDS = st.one_of(
    st.sampled_from(sorted(NODE_GETTERS)).map(lambda type_name: global_id(type_name, MISSING)),
    st.sampled_from([global_id("NoSuchType", "1"), "garbage!", "", MISSING]),
    TEXT,
)
#: Page sizes, out of range one draw in eight.
SIZES = _mostly(st.integers(min_value=0, max_value=5), st.sampled_from([-1, -(2**31), 1001, 100_000, 2**31 - 1]))


def _string_nodes(values: st.SearchStrategy[str]) -> st.SearchStrategy[ValueNode]:
    return values.map(lambda value: StringValueNode(value=value))


def scalar_values(pool: Pool) -> dict[str, st.SearchStrategy[ValueNode]]:
    """Argument values by scalar name, for hypothesis-graphql's `custom_scalars`;
    ID and `after` values are replaced afterwards (`ArgumentFitter`)."""
    words = st.sampled_from(pool.words)
    return {
        "String": _string_nodes(_mostly(st.one_of(words, words.map(str.upper)), TEXT)),
        "Int": SIZES.map(lambda number: IntValueNode(value=str(number))),
        "DateTime": _string_nodes(_mostly(st.sampled_from(pool.times), st.sampled_from(["yesterday", "2024-13-45T00:00:00"]))),
    }


class ArgumentFitter(Visitor):
    """Gives each ID argument an id of the type its field expects and each
    `after` a cursor of its own connection (or garbage), drawn by `draw`."""

    def __init__(self, pool: Pool, type_info: TypeInfo, draw: Callable[[st.SearchStrategy[str]], str]) -> None:
        super().__init__()
        self.pool = pool
        self.type_info = type_info
        self.draw = draw

    def enter_argument(self, node: ArgumentNode, *_: Any) -> ArgumentNode | None:
        argument, field = self.type_info.get_argument(), self.type_info.get_field_def()
        if argument is None or field is None:
            return None
        if get_named_type(argument.type).name == "ID":
            values = self.ids(node.name.value, field)
        elif node.name.value == "after":
            cursors = self.pool.cursors.get(get_named_type(field.type).name, ())
            values = _mostly(st.sampled_from(cursors), TEXT) if cursors else TEXT
        else:
            return None
        return ArgumentNode(name=node.name, value=self.replace(node.value, values))

    def ids(self, name: str, field: GraphQLField) -> st.SearchStrategy[str]:
        """Ids of the field's own type for `id`/`ids`, else of the types the
        argument names (`pipelineRun: ID` -> *PipelineRun), else any; and
        their native ids, which the platform fields accept too."""
        target = get_named_type(field.type)
        if is_abstract_type(target) and name in ("id", "ids"):  # node(id:), nodes(ids:): global ids only
            known = [each for type_name in GQL.get_possible_types(target) for each in self.pool.ids.get(type_name.name, ())]  # type: ignore[arg-type]
            return _mostly(st.sampled_from(known), FORGED_IDS)
        types = [target.name] if name in ("id", "ids") else self.named_types(name)
        known = [each for type_name in types for each in self.pool.ids.get(type_name, ())] or [
            each for ids in self.pool.ids.values() for each in ids
        ]
        native = [GlobalId.decode(each).native_id for each in known]
        return _mostly(st.sampled_from(known + native), FORGED_IDS)

    def named_types(self, argument: str) -> list[str]:
        """The node types an argument names (`pipelineRun` -> ZenMLPipelineRun),
        those of the field's own platform first: the longest name in common
        with the parent type (ZenMLQuery, DominoProject)."""
        suffix = argument[0].upper() + argument[1:]
        named = [type_name for type_name in self.pool.ids if type_name.endswith(suffix)]
        parent = self.type_info.get_parent_type().name  # type: ignore[union-attr]
        shared = {type_name: len(os.path.commonprefix([type_name, parent])) for type_name in named}
        return [type_name for type_name in named if shared[type_name] == max(shared.values())]

    def replace(self, value: ValueNode, values: st.SearchStrategy[str]) -> ValueNode:
        if isinstance(value, ListValueNode):
            return ListValueNode(values=tuple(self.replace(each, values) for each in value.values))
        if isinstance(value, (StringValueNode, IntValueNode)):
            return StringValueNode(value=self.draw(values))
        return value  # null


def queries(pool: Pool) -> st.SearchStrategy[str]:
    """Query documents over the whole schema (no mutations), arguments fitted from the pool."""
    scalars = scalar_values(pool)
    shapes = {
        root: hypothesis_graphql.queries(GQL, fields=[root], custom_scalars=scalars, print_ast=lambda document: document)
        for root in sorted(GQL.query_type.fields)  # type: ignore[union-attr]
    }
    roots = st.lists(st.sampled_from(sorted(shapes)), min_size=1, max_size=ROOTS_PER_DOCUMENT)

    @st.composite
    def documents(draw: st.DrawFn) -> str:
        document = _one_operation([draw(shapes[root]) for root in draw(roots)])
        type_info = TypeInfo(GQL)
        return print_ast(visit(document, TypeInfoVisitor(type_info, ArgumentFitter(pool, type_info, draw))))

    return documents()


def _one_operation(documents: list[DocumentNode]) -> DocumentNode:
    """The root fields of several documents in one query, a repeated one aliased."""
    selections: list[FieldNode] = []
    for index, document in enumerate(documents):
        for field in document.definitions[0].selection_set.selections:  # type: ignore[attr-defined]
            key = (field.alias or field.name).value
            if any((each.alias or each.name).value == key for each in selections):
                field = FieldNode(
                    alias=NameNode(value=f"{key}{index}"), name=field.name, arguments=field.arguments,
                    directives=field.directives, selection_set=field.selection_set,
                )
            selections.append(field)
    operation = OperationDefinitionNode(
        operation=OperationType.QUERY, variable_definitions=(), selection_set=SelectionSetNode(selections=tuple(selections))
    )
    return DocumentNode(definitions=(operation,))
