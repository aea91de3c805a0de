"""What a query selects below a field, read before the field's children run.

The round trip is the unit of latency. A resolver that knows its children
will need a call whose inputs it already has (a run's steps, filtered by the
run id it was given) starts that call beside its own: the child's identical
call later finds it in flight or answered (``BackendClient.send``) instead of
making a round trip of its own.

Both executors give resolvers Strawberry's ``selected_fields`` (the
level-by-level one to resolvers marked ``wants_selection``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from typing import Any

from strawberry.types.nodes import SelectedField, Selection


def selected(info: Any, *names: str) -> SelectedField | None:
    """The field selected at ``names`` below the resolver's own field, through
    fragments and inline fragments; None when the query does not ask for it."""
    fields = list(_fields(info.selected_fields))  # the resolver's own field
    for name in names:
        fields = [child for field in fields for child in _fields(field.selections) if child.name == name]
        if not fields:
            return None
    return fields[0]


def selected_names(info: Any) -> set[str]:
    """The names of the fields selected directly below the resolver's own field."""
    return {child.name for field in _fields(info.selected_fields) for child in _fields(field.selections)}


def _fields(selections: Iterable[Selection]) -> Iterable[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:
            yield from _fields(selection.selections)


def argument(field: SelectedField, name: str) -> Any:
    """An argument's value as sent: literal numbers arrive as text."""
    value = field.arguments.get(name)
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value


def start(call: Coroutine[Any, Any, Any]) -> None:
    """Run ``call`` on its own; its outcome is read by whoever makes the same
    call, so a failure here is not reported twice."""
    task = asyncio.ensure_future(call)
    task.add_done_callback(_read)


def _read(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
