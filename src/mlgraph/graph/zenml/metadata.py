"""Which fields of a ZenML type live in a record's ``metadata``.

A list asked for such a field hydrates its records in the list call itself:
one call, as a client reading ``?hydrate=true`` makes, where a thin list and
then a hydrated batch of the same records would make two.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from strawberry.utils.str_converters import to_camel_case

from mlgraph.graph.lookahead import selected

F = TypeVar("F", bound=Callable[..., Any])

_MARK = "__reads_metadata__"
#: Where a connection's objects are selected.
_NODE_PATHS = (("nodes",), ("edges", "node"))


def reads_metadata(resolver: F) -> F:
    """Mark a field resolver that reads a hydrated record (``metadata``)."""
    setattr(resolver, _MARK, True)
    return resolver


@cache
def metadata_fields(wrap: type) -> frozenset[str]:
    """The GraphQL names of ``wrap``'s fields whose resolver is marked."""
    return frozenset(
        field.graphql_name or to_camel_case(field.python_name)
        for field in wrap.__strawberry_definition__.fields  # type: ignore[attr-defined]
        if field.base_resolver is not None and getattr(field.base_resolver.wrapped_func, _MARK, False)
    )


def asks_metadata(info: Any, wrap: type) -> bool:
    """Whether the connection resolved with ``info`` selects, on its objects,
    a field of ``wrap`` that reads a hydrated record."""
    return any(selected(info, *path, name) is not None for path in _NODE_PATHS for name in metadata_fields(wrap))
