"""A caller's own platform credential, used instead of the gateway's for one request.

``MLGRAPH_AUTH__FORWARD__DOMINO=X-Domino-Api-Key`` names the request header
whose value goes to Domino in place of the configured key; without that
header the request uses the gateway's own credential. The backend clients of
that request get a view of the process's connection (same pool, same
settings) that carries the caller's credential:

- ZenML: the value is a bearer token (an API key works too, slowly). The
  view never logs in with the gateway's key after a 401, and looks the
  caller's own user up for ``createService`` instead of the gateway's.
- Domino: the value is an API key, sent as ``X-Domino-Api-Key``, or
  ``Bearer <token>``, sent as ``Authorization``.
- Abacus.AI: the value is an API key, sent in the ``apiKey`` header.

The views set the attributes the connections keep their credential in
(``token``, ``api_key``, ``user_id``; ``headers``); tests/test_security.py
checks each platform against its emulator, so a change there shows.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from typing import TypeVar

from starlette.requests import HTTPConnection

from mlgraph.backends.abacus import AbacusConnection
from mlgraph.backends.domino import DominoConnection
from mlgraph.backends.zenml import ZenMLConnection

C = TypeVar("C")

#: Longest credential taken from a header; anything longer is ignored.
MAX_CREDENTIAL = 8192


def forwarded_credentials(connection: HTTPConnection, headers: Mapping[str, str]) -> dict[str, str]:
    """Platform -> the credential its configured header carries in this request."""
    found: dict[str, str] = {}
    for platform, header in headers.items():
        value = connection.headers.get(header, "").strip()
        if value and len(value) <= MAX_CREDENTIAL:
            found[platform] = value
    return found


def zenml_as(connection: ZenMLConnection, credential: str) -> ZenMLConnection:
    view = copy.copy(connection)
    view.token = credential.removeprefix("Bearer ").strip()
    view.api_key = None
    view.user_id = None
    view.login_lock = asyncio.Lock()
    return view


def domino_as(connection: DominoConnection, credential: str) -> DominoConnection:
    view = copy.copy(connection)
    if credential.startswith("Bearer "):
        view.headers = {"Authorization": credential}
    else:
        view.headers = {"X-Domino-Api-Key": credential}
    return view


def abacus_as(connection: AbacusConnection, credential: str) -> AbacusConnection:
    view = copy.copy(connection)
    view.headers = {"apiKey": credential}
    return view


def with_credential(connection: C | None, credential: str | None) -> C | None:
    """``connection``, or its view carrying ``credential`` when one was forwarded."""
    if connection is None or credential is None:
        return connection
    if isinstance(connection, ZenMLConnection):
        return zenml_as(connection, credential)  # type: ignore[return-value]
    if isinstance(connection, DominoConnection):
        return domino_as(connection, credential)  # type: ignore[return-value]
    if isinstance(connection, AbacusConnection):
        return abacus_as(connection, credential)  # type: ignore[return-value]
    raise TypeError(f"no credential forwarding for {type(connection).__name__}")
