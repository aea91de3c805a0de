"""``mlgraph query``: run one persisted operation and show its answer.

Built for cron and CI: the operation comes by name from ``queries/`` (or as
a file), variables as ``key=value`` (JSON when the value parses as JSON,
else a string), and the request carries the document *and* its APQ hash, so
a gateway registers it on the first run and a trusted-documents gateway
recognises it. Without a URL the gateway runs in this process, through
``httpx.ASGITransport``, over the platforms the settings configure — the
same app ``mlgraph serve`` runs, lifespan included.

With ``--demo`` it runs over the demo's emulated platforms and seeded
data instead (``mlgraph demo`` without a server).

Errors a caller made (an unknown name, a malformed ``--var``, a required
variable left out, no platform configured) raise ``UsageError``; a gateway
that cannot be reached or answers no GraphQL raises ``RunError``. A missing
variable's message says which ``--var`` to pass and, when an operation of
``queries/`` lists the ids it takes, names that operation (``require_variables``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from mlgraph.persisted.manifest import ManifestError, Operation, discover_folder, load_manifest, operation_from_text
from mlgraph.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from graphql import GraphQLNamedType, GraphQLSchema

#: Cells of a table are cut to this many characters.
MAX_CELL = 60


class UsageError(Exception):
    """The command line asks for something that cannot be: exit 2."""


class RunError(Exception):
    """No GraphQL answer came back: exit 1."""


def find_operation(name_or_file: str, manifest_dir: Path | None) -> Operation:
    """A ``.graphql`` file, or an operation of the manifest by name (or file stem)."""
    path = Path(name_or_file)
    try:
        if path.suffix in (".graphql", ".gql") or path.is_file():
            if not path.is_file():
                raise UsageError(f"{path} does not exist")
            return operation_from_text(path.read_text(encoding="utf-8"), path)
        folder = discover_folder(manifest_dir)
        manifest = load_manifest(folder)
    except ManifestError as exc:
        raise UsageError(str(exc)) from None
    found = manifest.by_name.get(name_or_file) or next(
        (o for o in manifest if o.path is not None and o.path.stem == name_or_file), None
    )
    if found is None:
        where = f"in {folder}" if folder else "(no queries/ folder found; set MLGRAPH_PERSISTED__MANIFEST_DIR)"
        known = ", ".join(manifest.by_name) or "none"
        raise UsageError(f"no operation named {name_or_file!r} {where}; known: {known}")
    return found


def parse_vars(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; a value is JSON when it parses (5, true, null,
    [..], {..}, "quoted"), else the text as given."""
    variables: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--var {pair!r} is not key=value")
        try:
            variables[key.strip()] = json.loads(raw)
        except ValueError:
            variables[key.strip()] = raw
    return variables


def request_body(operation: Operation, variables: dict[str, Any]) -> dict[str, Any]:
    return {
        "query": operation.body,
        "operationName": operation.name,
        "variables": variables,
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": operation.id}},
    }


# ---------------------------------------------------------------- missing variables


@dataclass(frozen=True)
class Listing:
    """An operation that lists objects of ``type_name`` with their ids:
    ``platform`` is the platform whose types enclose the list (None for a
    cross-platform list such as ``executions``)."""

    operation: Operation
    type_name: str
    platform: str | None
    required: tuple[str, ...]


def require_variables(
    operation: Operation,
    variables: dict[str, Any],
    manifest_dir: Path | None = None,
    flags: str = "",
    schema: GraphQLSchema | None = None,
) -> None:
    """Raise ``UsageError`` naming each required variable the command line
    leaves out: ``missing --var run=<id>: `mlgraph query RecentPipelineRuns`
    lists them``. ``flags`` (``--demo``, ``--url …``) go into the commands
    named, so they run as they are."""
    from graphql import parse

    document = parse(operation.body, no_location=True)
    definition = _operation_node(document)
    missing = [
        var for var in definition.variable_definitions or ()
        if var.type.kind == "non_null_type" and var.default_value is None and var.variable.name.value not in variables
    ]
    if not missing:
        return
    if schema is None:
        from mlgraph.graph.schema import schema as graph_schema

        schema = graph_schema._schema
    try:
        listings = [
            listing
            for other in load_manifest(discover_folder(manifest_dir))
            if other.type == "query" and other.name != operation.name
            for listing in _listings(schema, other)
        ]
    except ManifestError:
        listings = []
    targets = _targets(schema, document)
    lines = [
        _missing_line(schema, var.variable.name.value, var.type, targets.get(var.variable.name.value), listings, flags)
        for var in missing
    ]
    raise UsageError("\n".join(lines))


def _operation_node(document: Any) -> Any:
    from graphql import OperationDefinitionNode

    return next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))


def _missing_line(
    schema: GraphQLSchema, name: str, type_node: Any, target: str | None, listings: list[Listing], flags: str
) -> str:
    line = f"missing --var {name}={_placeholder(schema, type_node)}"
    found = _best_listing(schema, target, listings) if target else None
    if found is None:
        return line
    line += f": `{_command(found, flags)}` lists them"
    # One step further back: where the listing's own ids come from.
    targets = _targets(schema, _parse(found.operation.body))
    for required in found.required:
        before = _best_listing(schema, targets.get(required), [x for x in listings if x.operation != found.operation])
        if before is not None:
            line += f", and `{_command(before, flags)}` lists the {required} ids"
    return line


def _parse(body: str) -> Any:
    from graphql import parse

    return parse(body, no_location=True)


def _command(listing: Listing, flags: str) -> str:
    parts = ["mlgraph query", listing.operation.name, *(f"--var {name}=<id>" for name in listing.required)]
    return " ".join(parts + ([flags] if flags else []))


def _placeholder(schema: GraphQLSchema, type_node: Any) -> str:
    """``<id>``, ``<String>``, ``<COMPLETED|FAILED|…>``, ``<JSON list>``."""
    from graphql import GraphQLEnumType, GraphQLInputObjectType, type_from_ast

    graphql_type = type_from_ast(schema, type_node)
    inner: Any = getattr(graphql_type, "of_type", graphql_type)
    if getattr(inner, "of_type", None) is not None:
        return "<JSON list>"
    if inner is None:
        return "<value>"
    if inner.name == "ID":
        return "<id>"
    if isinstance(inner, GraphQLEnumType):
        values = list(inner.values)
        return "<" + "|".join(values) + ">" if len(values) <= 8 else f"<{inner.name}>"
    if isinstance(inner, GraphQLInputObjectType):
        return f"<JSON {inner.name}>"
    return f"<{inner.name}>"


def _platforms(schema: GraphQLSchema) -> tuple[str, ...]:
    """Each platform's type-name prefix, read off the root: ``zenml: ZenMLQuery`` gives ``ZenML``."""
    from graphql import get_named_type

    query = schema.query_type
    names = [get_named_type(field.type).name for field in (query.fields.values() if query else [])]
    prefixes = {name.removesuffix("Query") for name in names if name.endswith("Query") and name != "Query"}
    return tuple(sorted(prefixes, key=len, reverse=True))


def _platform_of(type_name: str | None, platforms: Iterable[str]) -> str | None:
    return next((p for p in platforms if type_name and type_name.startswith(p)), None)


def _object_type(schema: GraphQLSchema, name: str) -> GraphQLNamedType | None:
    from graphql import GraphQLInterfaceType, GraphQLObjectType

    found = schema.get_type(name)
    return found if isinstance(found, (GraphQLObjectType, GraphQLInterfaceType)) else None


def _targets(schema: GraphQLSchema, document: Any) -> dict[str, str]:
    """For each variable, the type of object whose id it carries.

    ``pipelineRun(id: $run)``: the field's type (``ZenMLPipelineRun``). Any
    other argument or input field names the type (``jobs(project: $p)``,
    ``runAbacusPipeline(pipelineId: $p)``, ``input: {project: $p}``), which is
    looked up with the platform prefix of the field's parent or return type
    (``DominoProject``, ``AbacusPipeline``), else without one.
    """
    from graphql import TypeInfo, TypeInfoVisitor, Visitor, get_named_type, visit

    platforms = _platforms(schema)
    info = TypeInfo(schema)
    targets: dict[str, str] = {}

    def resolve(variable: str, name: str) -> None:
        if variable in targets:
            return
        field = info.get_field_def()
        returned = get_named_type(field.type).name if field is not None else None
        parent = info.get_parent_type()
        if name in ("id", "ids") and returned and _object_type(schema, returned) is not None:
            targets[variable] = returned
            return
        base = re.sub(r"_?[Ii]ds?$", "", name)
        if not base:
            return
        base = base[0].upper() + base[1:]
        for context in (parent.name if parent else None, returned):
            prefix = _platform_of(context, platforms)
            if prefix and _object_type(schema, prefix + base) is not None:
                targets[variable] = prefix + base
                return
        if _object_type(schema, base) is not None:
            targets[variable] = base

    class Find(Visitor):
        def enter_argument(self, node: Any, *_: Any) -> None:
            if node.value.kind == "variable":
                resolve(node.value.name.value, node.name.value)

        def enter_object_field(self, node: Any, *_: Any) -> None:
            if node.value.kind == "variable":
                resolve(node.value.name.value, node.name.value)

    visit(document, TypeInfoVisitor(info, Find()))
    return targets


def _listings(schema: GraphQLSchema, operation: Operation) -> list[Listing]:
    """The types whose ``id`` the operation selects inside a list."""
    from graphql import GraphQLList, TypeInfo, TypeInfoVisitor, Visitor, get_named_type, get_nullable_type, visit

    platforms = _platforms(schema)
    document = _parse(operation.body)
    definition = _operation_node(document)
    required = tuple(
        var.variable.name.value for var in definition.variable_definitions or ()
        if var.type.kind == "non_null_type" and var.default_value is None
    )
    info = TypeInfo(schema)
    stack: list[tuple[bool, str | None]] = []  # per enclosing field: a list?, its platform
    found: dict[str, Listing] = {}

    class Walk(Visitor):
        def enter_field(self, node: Any, *_: Any) -> None:
            field_type = info.get_type()
            parent = info.get_parent_type()
            if node.name.value == "id" and parent is not None and any(is_list for is_list, _ in stack):
                platform = next((p for _, p in reversed(stack) if p), None)
                found.setdefault(parent.name, Listing(operation, parent.name, platform, required))
            named = get_named_type(field_type).name if field_type is not None else None
            stack.append((isinstance(get_nullable_type(field_type), GraphQLList), _platform_of(named, platforms)))

        def leave_field(self, *_: Any) -> None:
            stack.pop()

    visit(document, TypeInfoVisitor(info, Walk()))
    return list(found.values())


def _best_listing(schema: GraphQLSchema, target: str | None, listings: list[Listing]) -> Listing | None:
    """The listing of exactly ``target`` that needs the fewest variables; else
    one of an interface it implements, inside the same platform's types, or
    across platforms."""
    from graphql import GraphQLObjectType

    if target is None:
        return None
    target_type = schema.get_type(target)
    # Every object is a Node: a list of Nodes says nothing of which.
    interfaces = (
        {i.name for i in target_type.interfaces} - {"Node"} if isinstance(target_type, GraphQLObjectType) else set()
    )
    platform = _platform_of(target, _platforms(schema))

    def rank(listing: Listing) -> tuple[int, int, str] | None:
        if listing.type_name == target:
            kind = 0
        elif listing.type_name in interfaces and listing.platform == platform:
            kind = 1
        elif listing.type_name in interfaces and listing.platform is None:
            kind = 2
        else:
            return None
        return (kind, len(listing.required), listing.operation.name)

    ranked = sorted((listing for listing in listings if rank(listing) is not None), key=rank)  # type: ignore[arg-type,return-value]
    return ranked[0] if ranked else None


def graphql_url(url: str) -> str:
    """The URL as given, or ``…/graphql`` when it names only the server."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--url {url!r} is not an http(s) URL")
    if parts.path in ("", "/"):
        parts = parts._replace(path="/graphql")
    return urlunsplit(parts)


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not ({"data", "errors"} & set(body)):
        raise RunError(f"the gateway answered HTTP {response.status_code} without a GraphQL response")
    return body


async def run_remote(url: str, body: dict[str, Any], timeout: float, api_key: str | None = None) -> dict[str, Any]:
    """POST to a running gateway, with its API key when it asks for one."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    async with httpx.AsyncClient(timeout=timeout, headers=headers) as client:
        try:
            response = await client.post(graphql_url(url), json=body)
        except httpx.HTTPError as exc:
            raise RunError(f"cannot reach {url}: {type(exc).__name__}: {exc}") from None
    return _answer(response)


async def run_in_process(settings: Settings, body: dict[str, Any]) -> dict[str, Any]:
    """The gateway app in this process, over the configured platforms."""
    if settings.zenml is None and settings.domino is None and settings.abacus is None:
        raise UsageError(
            "no platform configured: set MLGRAPH_ZENML__URL, MLGRAPH_DOMINO__URL or MLGRAPH_ABACUS__URL "
            "(or --config), pass --url of a running gateway, or --demo for the demo's emulated platforms"
        )
    from mlgraph.app import create_app

    try:
        app = create_app(settings)
    except ValueError as exc:  # a bad operations file, enforce without operations, a bad Redis URL
        raise UsageError(f"settings: {exc}") from None
    return await run_app(app, body)


async def run_demo(settings: Settings, body: dict[str, Any]) -> dict[str, Any]:
    """The gateway over the demo's emulated platforms and seeded data, as
    ``mlgraph demo`` serves it: the platforms the settings name are left out,
    everything else (the operations folder, limits) is kept."""
    from mlgraph.demo import build_sandbox

    try:
        sandbox = build_sandbox(settings=settings.model_copy(update={"zenml": None, "domino": None, "abacus": None}))
    except ValueError as exc:
        raise UsageError(f"settings: {exc}") from None
    return await run_app(sandbox.app, body)


async def run_app(app: FastAPI, body: dict[str, Any]) -> dict[str, Any]:
    """POST the body to ``app`` in this process, lifespan included."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mlgraph.local") as client:
            response = await client.post("/graphql", json=body)
    return _answer(response)


def first_list(value: Any) -> list[Any] | None:
    """The first list in document order, depth first."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        for item in value.values():
            found = first_list(item)
            if found is not None:
                return found
    return None


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}."))
        return flat
    if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        return {prefix[:-1]: ", ".join(_cell(v) for v in value)}
    if isinstance(value, list):
        return {prefix[:-1]: f"[{len(value)} items]"}
    return {prefix[:-1]: value}


def _cell(value: Any, column: str = "") -> str:
    """A cell's text, cut to ``MAX_CELL`` characters, except ids: a table is
    where a script's user copies the id to pass as ``--var``."""
    text = "" if value is None else json.dumps(value) if isinstance(value, (bool, dict, list)) else str(value)
    if len(text) <= MAX_CELL or _is_id_column(column):
        return text
    return text[: MAX_CELL - 1] + "…"


def _is_id_column(column: str) -> bool:
    last = column.rsplit(".", 1)[-1]
    return last == "id" or last.endswith("Id")


def _columns(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines)


def render_table(data: Any) -> str:
    """The first list of the answer as a table (objects flattened to dotted
    columns), or the answer's key/values when it holds no list."""
    if data is None:
        return "(no data)"
    rows = first_list(data)
    if rows is None:
        flat = _flatten(data)
        return _columns(["field", "value"], [[k, _cell(v, k)] for k, v in flat.items()])
    if not rows:
        return "(no rows)"
    flats = [_flatten(row) if isinstance(row, dict) else {"value": row} for row in rows]
    keys = list(dict.fromkeys(key for flat in flats for key in flat))
    headers = [k for k in keys if not any(other.startswith(k + ".") for other in keys)]  # null where others nest
    return _columns(headers, [[_cell(flat.get(h), h) for h in headers] for flat in flats])
