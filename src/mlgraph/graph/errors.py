"""How failures reach GraphQL clients: a message and ``extensions.code``.

Backend 404 -> NOT_FOUND, 401/403 -> FORBIDDEN, timeout, 5xx or refused
connection -> BACKEND_UNAVAILABLE, garbage -> BAD_BACKEND_RESPONSE, each with
``extensions.platform``. Anything unexpected becomes INTERNAL_SERVER_ERROR with
a fixed message: the full error goes to the log, never to the client.
"""

from __future__ import annotations

import logging
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


def classify(error: GraphQLError) -> tuple[str, dict[str, object], str]:
    """The code, extra extensions and client-safe message for one error."""
    original = error.original_error
    if isinstance(original, BackendError):
        logger.warning("%s: %s", original.platform, original.message)
        return BACKEND_CODES.get(type(original), "BACKEND_UNAVAILABLE"), {"platform": original.platform}, original.message
    if isinstance(original, GatewayError):
        return original.code, dict(original.extensions), original.message
    if not error.path:
        # No path: the request itself is wrong (syntax, validation, variables).
        if error.message.startswith("Syntax Error"):
            return "GRAPHQL_PARSE_FAILED", {}, error.message
        if error.message.startswith("Variable "):
            return "BAD_USER_INPUT", {}, error.message
        return "GRAPHQL_VALIDATION_FAILED", {}, error.message
    logger.error("unexpected error at %s: %s", error.path, error.message, exc_info=original)
    return "INTERNAL_SERVER_ERROR", {}, "Internal server error"


def coded(error: GraphQLError) -> GraphQLError:
    """The error in the gateway's coded, masked form."""
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
