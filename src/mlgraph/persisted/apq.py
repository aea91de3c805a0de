"""Which document a request runs: APQ and trusted documents, before execution.

A request names a document by its text (``query``), by a hash
(``extensions.persistedQuery``, Apollo's automatic persisted queries), or by
GraphQL-over-HTTP's ``documentId`` (``sha256:<hex>``). This module turns any
of them into the text to run, or into the error Apollo's server or router
gives, so the clients written for them (Apollo Client's persisted-query
link, Apollo Kotlin/iOS) behave here as they do there:

- a hash alone runs the manifest's or the store's document, else
  ``PERSISTED_QUERY_NOT_FOUND`` ("PersistedQueryNotFound", HTTP 200, as Apollo
  Server answers so the client resends with the text);
- a hash with a text registers it once it has run, after checking the hash
  (``PERSISTED_QUERY_HASH_MISMATCH``, 400, "provided sha does not match
  query");
- ``mode = enforce`` is the router's safelist: only manifest operations (and
  introspection) run, APQ registration is off. Codes are the router's:
  ``PERSISTED_QUERY_NOT_IN_LIST`` (an id not in the list, 404),
  ``QUERY_NOT_IN_SAFELIST`` (a freeform text not in the list, 403),
  ``CANNOT_SEND_PQ_ID_AND_BODY`` (an unknown id with a text, 400),
  ``PERSISTED_QUERY_ID_REQUIRED`` (any text without an id when ``require_id``,
  400);
- ``mode = log_unknown`` runs everything and logs each operation that is not
  in the manifest, once per process.

Every such error is answered ``Cache-Control: private, no-cache,
must-revalidate``: a cache must not remember "not found" for a document the
next request registers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from mlgraph.observability import context as observe
from mlgraph.persisted.manifest import Manifest, is_introspection, normalized_id, sha256_hex
from mlgraph.persisted.store import Store

logger = logging.getLogger("mlgraph.persisted")

Mode = Literal["off", "log_unknown", "enforce"]
NO_CACHE = "private, no-cache, must-revalidate"
#: Unknown operations logged once each; past this many, the set starts over.
MAX_LOGGED = 10_000


class PersistedQueryError(Exception):
    """A persisted-query refusal: its code, HTTP status and message."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def payload(self) -> dict[str, Any]:
        return {"errors": [{"message": self.message, "extensions": {"code": self.code}}]}


def bad_request(message: str) -> PersistedQueryError:
    return PersistedQueryError("BAD_REQUEST", message, 400)


@dataclass(frozen=True, slots=True)
class Resolved:
    """The text to run (None: the request had none), and the hash to register
    under once it has run without a request error."""

    query: Any
    register: str | None = None


class PersistedOperations:
    """The manifest, the APQ store and the mode, applied to one request at a time."""

    def __init__(
        self, manifest: Manifest, store: Store, mode: Mode = "off", require_id: bool = False, apq: bool = True
    ) -> None:
        if mode == "enforce" and not len(manifest):
            raise ValueError("persisted mode `enforce` needs operations: no manifest folder was found or it is empty")
        self.manifest = manifest
        self.store = store
        self.mode = mode
        self.require_id = require_id and mode != "off"
        self.apq = apq and mode != "enforce"
        self._logged: set[str] = set()

    async def resolve(self, params: dict[str, Any]) -> Resolved:
        """The document a request's parameters name; PersistedQueryError when refused."""
        query = params.get("query")
        operation_id = _requested_id(params)
        if operation_id is None:
            return self._freeform(query)
        if isinstance(query, str):
            return self._registration(operation_id, query)
        return await self._lookup(operation_id)

    async def register(self, operation_id: str, query: str) -> None:
        await self.store.put(operation_id, query)

    async def aclose(self) -> None:
        await self.store.aclose()

    def _freeform(self, query: Any) -> Resolved:
        if self.mode == "off" or not isinstance(query, str):
            return Resolved(query)
        if self.require_id:
            self._log_unknown(query)
            raise PersistedQueryError(
                "PERSISTED_QUERY_ID_REQUIRED",
                "This endpoint does not allow freeform GraphQL requests; operations must be sent by ID in the "
                "persisted queries GraphQL extension.",
                400,
            )
        if is_introspection(query) or self.manifest.contains_document(query):
            return Resolved(query)
        self._log_unknown(query)
        if self.mode == "enforce":
            raise PersistedQueryError(
                "QUERY_NOT_IN_SAFELIST", "The operation body was not found in the persisted query safelist", 403
            )
        return Resolved(query)

    def _registration(self, operation_id: str, query: str) -> Resolved:
        if sha256_hex(query) != operation_id:
            raise PersistedQueryError("PERSISTED_QUERY_HASH_MISMATCH", "provided sha does not match query", 400)
        if self.manifest.get(operation_id) is not None:
            return Resolved(query)
        if self.mode == "enforce":
            raise PersistedQueryError(
                "CANNOT_SEND_PQ_ID_AND_BODY",
                f"Persisted query '{operation_id}' is not in the persisted query list, and registering "
                "operations is disabled",
                400,
            )
        if not self.apq:
            raise _not_supported()
        self._log_unknown(query)
        return Resolved(query, register=operation_id)

    async def _lookup(self, operation_id: str) -> Resolved:
        operation = self.manifest.get(operation_id)
        if operation is not None:
            observe.persisted_lookup(hit=True)
            return Resolved(operation.body)
        if self.apq:
            document = await self.store.get(operation_id)
            if document is not None:
                observe.persisted_lookup(hit=True)
                self._log_unknown(document)
                return Resolved(document)
        observe.persisted_lookup(hit=False)
        if self.mode == "enforce":
            raise PersistedQueryError(
                "PERSISTED_QUERY_NOT_IN_LIST", f"Persisted query '{operation_id}' not found in the persisted query list", 404
            )
        if not self.apq:
            raise _not_supported()
        raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound", 200)

    def _log_unknown(self, query: str) -> None:
        if self.mode == "off" or is_introspection(query) or self.manifest.contains_document(query):
            return
        key = normalized_id(query) or sha256_hex(query)
        if key in self._logged:
            return
        if len(self._logged) >= MAX_LOGGED:
            self._logged.clear()
        self._logged.add(key)
        logger.warning(
            "unknown operation %s (not in the manifest%s): %s",
            key, ", refused" if self.mode == "enforce" else "", " ".join(query.split())[:2000],
        )


def _not_supported() -> PersistedQueryError:
    return PersistedQueryError("PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported", 200)


def _requested_id(params: dict[str, Any]) -> str | None:
    """The id from ``extensions.persistedQuery`` or ``documentId``; malformed
    ones are bad requests (Apollo: "Unsupported persisted query version")."""
    extensions = params.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise bad_request("`extensions` must be an object")
    persisted = (extensions or {}).get("persistedQuery")
    operation_id: str | None = None
    if persisted is not None:
        if not isinstance(persisted, dict):
            raise bad_request("`extensions.persistedQuery` must be an object")
        if persisted.get("version") != 1:
            raise bad_request("Unsupported persisted query version")
        operation_id = persisted.get("sha256Hash")
        if not isinstance(operation_id, str) or not operation_id:
            raise bad_request("`extensions.persistedQuery.sha256Hash` must be a non-empty string")
    document_id = params.get("documentId")
    if document_id is None:
        return operation_id
    if not isinstance(document_id, str) or not document_id:
        raise bad_request("`documentId` must be a non-empty string")
    if params.get("query") is not None:
        raise bad_request("send `documentId` or `query`, not both")
    prefix, colon, payload = document_id.partition(":")
    if colon and prefix != "sha256":
        raise bad_request(f"`documentId` prefix `{prefix[:20]}` is not supported: use sha256:<hex>")
    document_id = payload if colon else document_id
    if operation_id is not None and operation_id != document_id:
        raise bad_request("`documentId` and `extensions.persistedQuery` name different documents")
    return document_id
