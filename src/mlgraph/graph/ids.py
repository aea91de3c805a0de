"""Opaque global ids: a GraphQL type name and the platform's own id.

Clients must treat them as opaque; they are base64url so they survive URLs.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from mlgraph.graph.errors import UserInputError


@dataclass(frozen=True, slots=True)
class GlobalId:
    type_name: str
    native_id: str

    def encode(self) -> str:
        raw = f"{self.type_name}:{self.native_id}".encode()
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, value: str) -> GlobalId:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise UserInputError(f"'{value[:80]}' is not an mlgraph id") from None
        type_name, sep, native_id = raw.partition(":")
        if not sep or not type_name.isidentifier() or not native_id:
            raise UserInputError(f"'{value[:80]}' is not an mlgraph id")
        return cls(type_name, native_id)


def global_id(type_name: str, native_id: str) -> str:
    return GlobalId(type_name, native_id).encode()


def native_id(value: str, type_name: str) -> str:
    """The platform id inside a global id of ``type_name``.

    A bare platform id is accepted as well, so scripts can pass the ids they
    already know from the platform's own UI or CLI.
    """
    try:
        decoded = GlobalId.decode(value)
    except UserInputError:
        return value
    if decoded.type_name != type_name:
        raise UserInputError(f"id is a {decoded.type_name}, expected a {type_name}")
    return decoded.native_id
