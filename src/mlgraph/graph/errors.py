"""How failures reach GraphQL clients: a message and ``extensions.code``.

Backend 404 -> NOT_FOUND, 401/403 -> FORBIDDEN, timeout, 5xx or refused
connection -> BACKEND_UNAVAILABLE, garbage -> BAD_BACKEND_RESPONSE, each with
``extensions.platform``. Anything unexpected becomes INTERNAL_SERVER_ERROR with
a fixed message and a short random ``extensions.errorId``: the full error and
its traceback go to the log under that id, never to the client.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterator

from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension

from mlgraph.backends.errors import BackendError, BadResponse, Forbidden, NotFound, Rejected, Unavailable

logger = logging.getLogger("mlgraph.errors")

BACKEND_CODES: dict[type[BackendError], str] = {
    NotFound: "NOT_FOUND",
    Forbidden: "FORBIDDEN",
    Unavailable: "BACKEND_UNAVAILABLE",
    BadResponse: "BAD_BACKEND_RESPONSE",
    Rejected: "BAD_USER_INPUT",
}


class GatewayError(Exception):
    """An error the gateway raises on purpose, with its code."""

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **extensions: object) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions


class UserInputError(GatewayError):
    code = "BAD_USER_INPUT"


class NotConfigured(GatewayError):
    code = "PLATFORM_NOT_CONFIGURED"


#: graphql-core's message when a document passes the token limit.
TOO_MANY_TOKENS = re.compile(r"^Syntax Error: Document contains more than \d+ tokens")


def classify(error: GraphQLError) -> tuple[str, dict[str, object], str]:
    """The code, extra extensions and client-safe message for one error."""
    original = error.original_error
    if isinstance(original, BackendError):
        logger.warning("%s: %s", original.platform, original.message)
        return BACKEND_CODES.get(type(original), "BACKEND_UNAVAILABLE"), {"platform": original.platform}, original.message
    if isinstance(original, GatewayError):
        return original.code, dict(original.extensions), original.message
    extensions = dict(error.extensions or {})
    if original is None and isinstance(extensions.get("code"), str):
        # Coded already: by a limit's validation rule, or by an earlier pass.
        return str(extensions.pop("code")), extensions, error.message
    if not error.path:
        # No path: the request itself is wrong (syntax, validation, variables).
        if error.message.startswith("Syntax Error"):
            limit = {"limit": "tokens"} if TOO_MANY_TOKENS.match(error.message) else {}
            return "GRAPHQL_PARSE_FAILED", limit, error.message
        if error.message.startswith("Variable "):
            return "BAD_USER_INPUT", {}, error.message
        if original is None or isinstance(original, GraphQLError):
            return "GRAPHQL_VALIDATION_FAILED", {}, error.message
        # An exception escaped parsing or validation: a bug, not the client's.
    elif isinstance(original, GraphQLError) and error.message.startswith(("Argument ", "Variable ")):
        # graphql-core refusing a value while running, e.g. a null @skip(if:).
        return "BAD_USER_INPUT", {}, error.message
    return internal_error(error.message, error.path, original)


def internal_error(message: str, path: object, original: BaseException | None) -> tuple[str, dict[str, object], str]:
    """INTERNAL_SERVER_ERROR with a fresh error id; the detail is logged under it."""
    error_id = new_error_id()
    logger.error("internal error %s at %s: %s", error_id, path or "-", message, exc_info=original)
    return "INTERNAL_SERVER_ERROR", {"errorId": error_id}, f"Internal server error (error id {error_id})"


def new_error_id() -> str:
    """A short random id that ties a masked error to its log record."""
    return secrets.token_hex(6)


def coded(error: GraphQLError) -> GraphQLError:
    """The error in the gateway's coded, masked form; coded errors pass as they are."""
    if error.original_error is None and "code" in (error.extensions or {}):
        return error
    code, extensions, message = classify(error)
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**extensions, "code": code},
    )


class ErrorCodes(SchemaExtension):
    """Codes every error of a result the generic executor produced."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [coded(error) for error in result.errors]
