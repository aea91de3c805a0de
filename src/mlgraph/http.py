"""GraphQL over HTTP: the /graphql endpoint.

Strawberry's FastAPI router resolves FastAPI dependencies and builds several
request adapters for every call, about 0.9 ms a request before a query runs.
This endpoint does what the GraphQL-over-HTTP spec asks and nothing more:

- POST with a JSON body, GET with ``query``/``variables``/``operationName``/
  ``extensions`` in the URL; GET never runs a mutation (405, ``Allow: POST``);
- ``application/json`` answers 200 whenever a GraphQL response exists; with
  ``Accept: application/graphql-response+json`` a document that fails to
  parse or validate answers 400 in that media type;
- a malformed request (bad JSON, no query, an ambiguous or unknown
  operation) answers 400 with a GraphQL error, a body over the limit 413
  (said by ``Content-Length`` or found while reading, never read whole), a
  method other than GET and POST 405;
- a browser asking for HTML gets GraphiQL (unless it is off);
- a document may come by id (APQ's ``extensions.persistedQuery`` or
  ``documentId``): ``mlgraph.persisted`` says which text runs, or which
  Apollo error code answers, before anything else happens, so the GET rule
  holds for persisted mutations too;
- an error-free answer to a GET query carries ``Cache-Control`` (``public,
  max-age=N``; ``no-cache`` when N is 0: stored, revalidated every time) and
  a strong ``ETag`` (the SHA-256 of the body), and ``If-None-Match`` with
  that tag gets 304 without a body. CDNs can then cache hash-only GETs, whose
  URLs are short. Answers with errors or the debug ledger are never cached;
  an answer read with a caller's credential (every answer when gateway keys
  are on, or a request carrying a forwarded platform credential) is
  ``private`` (``private, no-cache`` when N is 0), so a shared cache never
  hands one caller's answer to another. ``Vary`` names the key headers when
  keys are on and every configured forwarded header; 304s carry the same.

Whatever goes wrong inside, the answer is a coded GraphQL error: an
unexpected exception becomes INTERNAL_SERVER_ERROR (500) with an error id,
and the log has its traceback under that id.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from typing import Any

import orjson
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, Response
from strawberry import Schema

from mlgraph.graph.errors import new_error_id
from mlgraph.observability import context as observe
from mlgraph.observability import tracing
from mlgraph.persisted import NO_CACHE, PersistedOperations, PersistedQueryError

GRAPHQL_RESPONSE = "application/graphql-response+json"
#: Methods /graphql answers; the route takes the others to say 405 in JSON.
GRAPHQL_METHODS = ("GET", "HEAD", "POST")
OTHER_METHODS = ["PUT", "PATCH", "DELETE", "OPTIONS"]
#: Parameters that make a GET a GraphQL request, not a page view.
BY_ID = ("query", "extensions", "documentId")
#: The headers a gateway API key comes in (see ``mlgraph.security``).
KEY_HEADERS = ("Authorization", "X-Api-Key")

logger = logging.getLogger("mlgraph.http")


class BadRequest(Exception):
    """The HTTP request is not a GraphQL request the gateway can run."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def wants_graphiql(connection: HTTPConnection) -> bool:
    """A browser asking for the GraphiQL page, not running a query."""
    return (
        connection.scope.get("method") == "GET"
        and "text/html" in connection.headers.get("accept", "")
        and not any(key in connection.query_params for key in BY_ID)
    )


@lru_cache(maxsize=1024)
def selected_operation(
    query: str, operation_name: str | None, max_tokens: int | None = None
) -> OperationDefinitionNode | None:
    """The operation a request selects; None when the document does not
    parse, or has more than ``max_tokens`` tokens (execution reports that,
    with its code)."""
    try:
        document = parse(query, max_tokens=max_tokens)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None and len(operations) > 1:
        raise BadRequest("the document has several operations: say which with `operationName`")
    if operation_name is not None:
        operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
        if not operations:
            raise BadRequest(f"the document has no operation named `{operation_name}`")
    return operations[0] if operations else None


def operation_type(query: str, operation_name: str | None, max_tokens: int | None = None) -> OperationType | None:
    """The type of the operation a request selects (see ``selected_operation``)."""
    selected = selected_operation(query, operation_name, max_tokens)
    return selected.operation if selected is not None else None


def _json_param(raw: str | None, name: str) -> Any:
    if raw is None or raw == "":
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest(f"`{name}` is not valid JSON") from None


async def read_params(request: Request, max_body_bytes: int) -> dict[str, Any]:
    """query, variables, operationName and extensions of a GET or POST."""
    if request.method in ("GET", "HEAD"):
        params = request.query_params
        return {
            "query": params.get("query"),
            "variables": _json_param(params.get("variables"), "variables"),
            "operationName": params.get("operationName"),
            "extensions": _json_param(params.get("extensions"), "extensions"),
            "documentId": params.get("documentId"),
        }
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise BadRequest("POST a JSON body with Content-Type: application/json")
    raw = await read_body(request, max_body_bytes)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


async def read_body(request: Request, max_body_bytes: int) -> bytes:
    """The body, refused (413) as soon as it is known to be too large."""
    too_large = BadRequest(f"the body is larger than {max_body_bytes} bytes", status=413)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_body_bytes:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_body_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def json_response(
    payload: Any, status: int = 200, media_type: str = "application/json", headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type=media_type, headers=headers)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110's weak comparison of ``If-None-Match`` against our tag."""
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def cache_headers(
    max_age: int, keyed: bool = False, forwarded_headers: Sequence[str] = ()
) -> Callable[[Request], dict[str, str]]:
    """``Cache-Control`` and ``Vary`` of an error-free GET answer, per request.

    With keys on, the gateway's own platform credentials serve keyed callers
    only, so every answer is that caller's; a forwarded header makes the
    answer its sender's. Either way no shared cache may keep it. A public
    answer still varies on the forwarded headers, so a shared cache keys on
    them and never serves it to a request that carries one.
    """
    vary = ", ".join(("Accept", "X-Mlgraph-Debug", *(KEY_HEADERS if keyed else ()), *forwarded_headers))
    public = f"public, max-age={max_age}" if max_age else "no-cache"
    private = f"private, max-age={max_age}" if max_age else "private, no-cache"

    def headers(request: Request) -> dict[str, str]:
        # Present at all, even empty: private errs on the safe side.
        own = keyed or any(header in request.headers for header in forwarded_headers)
        return {"Cache-Control": private if own else public, "Vary": vary}

    return headers


def graphql_endpoint(
    schema: Schema,
    make_context: Callable[[Request], Any],
    graphiql: Callable[[], str] | None,
    max_body_bytes: int,
    persisted: PersistedOperations | None = None,
    cache_max_age: int = 0,
    max_tokens: int | None = None,
    *,
    keyed: bool = False,
    forwarded_headers: Sequence[str] = (),
) -> Callable[[Request], Awaitable[Response]]:
    """The handler for /graphql; ``graphiql`` None serves no GraphiQL.
    ``keyed``: gateway API keys are on; ``forwarded_headers``: the request
    headers that carry a caller's platform credential (see ``cache_headers``)."""
    caching = cache_headers(cache_max_age, keyed, forwarded_headers)

    async def endpoint(request: Request) -> Response:
        try:
            return await answer(request)
        except Exception:
            error_id = new_error_id()
            logger.exception("internal error %s in %s %s", error_id, request.method, request.url.path)
            error = {"message": f"Internal server error (error id {error_id})",
                     "extensions": {"code": "INTERNAL_SERVER_ERROR", "errorId": error_id}}
            return json_response({"errors": [error]}, 500)

    async def answer(request: Request) -> Response:
        accept = request.headers.get("accept", "")
        if graphiql is not None and wants_graphiql(request):
            return HTMLResponse(graphiql())
        media_type = GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in accept else "application/json"
        if request.method not in GRAPHQL_METHODS:
            error = {"message": "/graphql takes GET and POST", "extensions": {"code": "BAD_REQUEST"}}
            return json_response({"errors": [error]}, 405, media_type, headers={"Allow": "GET, POST"})
        register: str | None = None
        try:
            params = await read_params(request, max_body_bytes)
            query = params.get("query")
            if persisted is not None:
                resolved = await persisted.resolve(params)
                query, register = resolved.query, resolved.register
            if not isinstance(query, str) or not query.strip():
                raise BadRequest("no `query` given")
            variables, operation_name = params.get("variables"), params.get("operationName")
            if variables is not None and not isinstance(variables, dict):
                raise BadRequest("`variables` must be an object")
            if operation_name is not None and not isinstance(operation_name, str):
                raise BadRequest("`operationName` must be a string")
            kind = operation_type(query, operation_name, max_tokens)
        except BadRequest as exc:
            observe.operation(None, "refused")
            error = {"message": str(exc), "extensions": {"code": "BAD_REQUEST"}}
            return json_response({"errors": [error]}, exc.status, media_type)
        except PersistedQueryError as exc:
            observe.operation(None, "refused")
            response = json_response(exc.payload(), exc.status, media_type)
            response.headers["Cache-Control"] = NO_CACHE
            return response
        if operation_name is None and kind is not None:
            selected = selected_operation(query, None, max_tokens)  # cached: parsed once
            operation_name = selected.name.value if selected is not None and selected.name is not None else None
        if request.method != "POST" and kind is OperationType.MUTATION:
            observe.operation(operation_name, "refused")
            response = json_response(
                {"errors": [{"message": "Mutations are accepted by POST only", "extensions": {"code": "BAD_REQUEST"}}]},
                405,
                media_type,
            )
            response.headers["Allow"] = "POST"
            response.headers["Cache-Control"] = NO_CACHE
            return response

        with tracing.incoming(request.headers), tracing.span(
            f"graphql {operation_name or 'anonymous'}", {"graphql.operation.name": operation_name or ""}
        ):
            result = await schema.execute(query, variables, make_context(request), None, operation_name)
        observe.operation(operation_name, "errors" if result.errors else "ok")
        payload: dict[str, Any] = {}
        status = 200
        if result.errors and result.data is None and all(not error.path for error in result.errors):
            # A request error: the operation never ran, so there is no data entry.
            if media_type == GRAPHQL_RESPONSE:
                status = 400
        else:
            payload["data"] = result.data
            if register is not None and persisted is not None:
                await persisted.register(register, query)  # only documents that ran
        if result.errors:
            payload["errors"] = [error.formatted for error in result.errors]
        if result.extensions:
            payload["extensions"] = result.extensions
        body = orjson.dumps(payload)
        if request.method == "POST" or status != 200 or list(payload) != ["data"]:
            return Response(body, status_code=status, media_type=media_type)
        headers = {"ETag": f'"{hashlib.sha256(body).hexdigest()}"', **caching(request)}
        if etag_matches(request.headers.get("if-none-match"), headers["ETag"]):
            return Response(status_code=304, headers=headers)
        return Response(body, status_code=status, media_type=media_type, headers=headers)

    return endpoint
