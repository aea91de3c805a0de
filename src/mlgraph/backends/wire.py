"""Wire-model machinery the platforms' models share: converting on read.

pydantic-core validates a response from its bytes in Rust when a model has
no Python validators; a ``mode="before"`` validator would make it build the
whole record as Python objects first. So values that need a touch (a naive
timestamp made UTC, an explicit ``null`` read as an empty list) are stored
as validated and converted when the graph reads the attribute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel


@dataclass(frozen=True)
class ReadAs:
    """Field marker: the attribute reads the validated value through ``convert``.

    pydantic-core stores what it validated in the instance ``__dict__`` with no
    Python call; a data descriptor of the same name (installed by
    ``ReadThroughModel``) converts on attribute access, so only values the
    graph reads pay. ``model_copy(update=...)`` writes ``__dict__`` and keeps
    working; ``model_dump`` shows the stored form.
    """

    convert: Callable[[Any], Any]


def or_default(factory: Callable[[], Any]) -> ReadAs:
    """Read ``None`` (absent or an explicit ``null``) as ``factory()``."""
    return ReadAs(lambda value: factory() if value is None else value)


class _ReadThrough:
    def __init__(self, name: str, convert: Callable[[Any], Any]) -> None:
        self.name = name
        self.convert = convert

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            # No class attribute, so pydantic never takes it for a default and
            # subclasses inherit the field itself.
            raise AttributeError(self.name)
        return self.convert(obj.__dict__.get(self.name))

    def __set__(self, obj: Any, value: Any) -> None:
        raise AttributeError(f"{self.name} is read-only")


def install_read_through(cls: type[BaseModel]) -> None:
    for name, field in cls.model_fields.items():
        marker = next((m for m in field.metadata if isinstance(m, ReadAs)), None)
        if marker is not None:
            setattr(cls, name, _ReadThrough(name, marker.convert))


class ReadThroughModel(BaseModel):
    """A model whose ``ReadAs`` fields convert on read."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        install_read_through(cls)


T = TypeVar("T")
#: A list that may arrive as ``null``: read as empty.
NullableList = Annotated[list[T] | None, or_default(list)]
#: A mapping that may arrive as ``null``: read as empty.
NullableDict = Annotated[dict[str, str] | None, or_default(dict)]
