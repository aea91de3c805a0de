"""What the platforms' classifiers share: reading an answer they judge."""

from __future__ import annotations

from typing import Any

import pydantic_core


def read_json(body: bytes) -> Any:
    """The answer's JSON, or None if it is not JSON (the client then fails it anyway)."""
    try:
        return pydantic_core.from_json(body)
    except ValueError:
        return None


def records_of(value: Any, key: str) -> list[dict[str, Any]] | None:
    """``value[key]`` when it is a list of objects, else None (not what was expected)."""
    items = value.get(key) if isinstance(value, dict) else None
    if isinstance(items, list) and all(isinstance(item, dict) for item in items):
        return items
    return None
