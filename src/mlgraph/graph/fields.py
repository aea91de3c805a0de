"""Fields read straight off the wire record a graph object wraps."""

from __future__ import annotations

from operator import attrgetter
from typing import Any

import strawberry


def record_attr(path: str, returns: object, *, description: str | None = None) -> Any:
    """A field whose value is ``self.record.<path>`` as the wire model holds it.

    Most fields of a platform's types are exactly this; spelling each as a
    method would bury the few that do work under dozens that do not.
    """
    read = attrgetter(path)

    def resolve(self: Any) -> Any:
        return read(self.record)

    # Real types, not the strings a module's postponed annotations would give.
    resolve.__annotations__ = {"return": returns}
    return strawberry.field(resolver=resolve, description=description)
