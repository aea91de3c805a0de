"""Trusted documents: the operations in ``queries/``, by id.

One ``*.graphql`` file holds one named operation (and the fragments it
uses). Its id is what Apollo's ``generate-persisted-query-manifest`` gives
it with ``addTypename: false``: the SHA-256, in lowercase hex, of the UTF-8
bytes of ``print(sortTopLevelDefinitions(parse(file)))`` — the document
re-printed the way graphql-js prints it (comments and insignificant
whitespace gone, two-space indents, no trailing newline), operations before
fragments, each kind by name. That printed text is the manifest's ``body``,
the text a client sends beside the hash, so the APQ check (hash of the exact
text sent) and the manifest agree. Reformatting a file keeps its id;
changing what it selects changes it.

Why the printed form rather than the file's bytes: a body matching a
manifest operation up to whitespace, comments and definition order is the
same operation, which is how Apollo's router matches freeform documents
against its safelist; the printed form makes that one dictionary lookup.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    print_ast,
    specified_rules,
    validate,
)

#: Where a source checkout keeps its operations: ``<repo>/queries`` beside ``src/``.
CHECKOUT_QUERIES = Path(__file__).resolve().parents[3] / "queries"
INTROSPECTION_FIELDS = frozenset({"__schema", "__type", "__typename"})


class ManifestError(ValueError):
    """A file in the operations folder is not one named, parseable operation."""


@dataclass(frozen=True)
class Operation:
    """One trusted operation: its id, name, type and normalized body."""

    id: str
    name: str
    type: str  # query | mutation | subscription
    body: str
    path: Path | None = None


def sha256_hex(text: str) -> str:
    """What APQ and the manifest call a document's hash."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sort_key(definition: Any) -> tuple[int, str]:
    name = getattr(definition, "name", None)
    return (0 if isinstance(definition, OperationDefinitionNode) else 1, name.value if name else "")


def normalize(document: DocumentNode) -> str:
    """``print(sortTopLevelDefinitions(document))`` as Apollo computes it."""
    definitions = sorted(document.definitions, key=_sort_key)
    return print_ast(DocumentNode(definitions=tuple(definitions)))


@lru_cache(maxsize=1024)
def normalized_id(query: str) -> str | None:
    """The manifest id a freeform document would have; None when it does not parse."""
    try:
        return sha256_hex(normalize(parse(query, no_location=True)))
    except GraphQLError:
        return None


@lru_cache(maxsize=1024)
def is_introspection(query: str) -> bool:
    """Whether every operation selects only ``__schema``/``__type``/``__typename``
    at its root: GraphiQL's schema requests, allowed whatever the mode."""
    try:
        document = parse(query, no_location=True)
    except GraphQLError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return bool(operations) and all(
        isinstance(selection, FieldNode) and selection.name.value in INTROSPECTION_FIELDS
        for operation in operations
        for selection in operation.selection_set.selections
    )


def operation_from_text(text: str, path: Path | None = None) -> Operation:
    """The one named operation a file's text holds, normalized and hashed."""
    where = str(path) if path else "document"
    try:
        document = parse(text, no_location=True)
    except GraphQLError as exc:
        raise ManifestError(f"{where}: {exc.message}") from None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        raise ManifestError(f"{where}: holds {len(operations)} operations; put exactly one in each file")
    (operation,) = operations
    if operation.name is None:
        raise ManifestError(f"{where}: the operation has no name; name it (query RunOverview(...) {{ ... }})")
    body = normalize(document)
    return Operation(sha256_hex(body), operation.name.value, operation.operation.value, body, path)


class Manifest:
    """Operations by id and by name; empty when there is no folder."""

    def __init__(self, operations: Iterable[Operation] = (), source: Path | None = None) -> None:
        self.source = source
        self.by_id: dict[str, Operation] = {}
        self.by_name: dict[str, Operation] = {}
        for operation in sorted(operations, key=lambda o: o.name):
            for index, key in ((self.by_name, operation.name), (self.by_id, operation.id)):
                if key in index:
                    raise ManifestError(
                        f"{operation.path}: operation {operation.name} repeats {index[key].path} ({key})"
                    )
                index[key] = operation

    def __len__(self) -> int:
        return len(self.by_id)

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.by_name.values())

    def get(self, operation_id: str) -> Operation | None:
        return self.by_id.get(operation_id)

    def contains_document(self, query: str) -> bool:
        """Whether a freeform document is a manifest operation, up to formatting."""
        normalized = normalized_id(query)
        return normalized is not None and normalized in self.by_id

    def apollo(self) -> dict[str, Any]:
        """The format Apollo's clients and router consume."""
        return {
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{"id": o.id, "name": o.name, "type": o.type, "body": o.body} for o in self],
        }

    def relay(self) -> dict[str, str]:
        """Relay's persisted-query map: id -> document."""
        return {o.id: o.body for o in self}


def graphql_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.graphql") if p.is_file())


def load_manifest(folder: Path | None) -> Manifest:
    """Every ``*.graphql`` file of ``folder``; ManifestError names the first bad one."""
    if folder is None:
        return Manifest()
    if not folder.is_dir():
        raise ManifestError(f"the operations folder {folder} does not exist")
    return Manifest((operation_from_text(p.read_text(encoding="utf-8"), p) for p in graphql_files(folder)), folder)


def discover_folder(configured: Path | None, cwd: Path | None = None) -> Path | None:
    """The operations folder: the configured one, else ``./queries``, else the
    ``queries/`` of the source checkout mlgraph runs from, else none."""
    if configured is not None:
        return configured
    for candidate in (Path(cwd) / "queries" if cwd else Path("queries"), CHECKOUT_QUERIES):
        if candidate.is_dir():
            return candidate
    return None


def check_folder(folder: Path, schema: GraphQLSchema, rules: Iterable[Any] = ()) -> list[tuple[Path, str | None]]:
    """Each file and why it is invalid (None when it is fine): one named
    operation, a unique name, valid against ``schema`` under ``rules``."""
    results: list[tuple[Path, str | None]] = []
    names: dict[str, Path] = {}
    all_rules = [*specified_rules, *rules]
    for path in graphql_files(folder):
        try:
            operation = operation_from_text(path.read_text(encoding="utf-8"), path)
        except ManifestError as exc:
            results.append((path, str(exc).removeprefix(f"{path}: ")))
            continue
        if operation.name in names:
            results.append((path, f"operation {operation.name} is also in {names[operation.name].name}"))
            continue
        names[operation.name] = path
        errors = validate(schema, parse(operation.body), all_rules)
        results.append((path, "; ".join(error.message for error in errors) or None))
    return results
