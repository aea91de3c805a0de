"""The FastAPI application: /graphql (GraphQL over HTTP, GraphiQL), /healthz.

``create_app`` takes everything it needs as arguments, so tests and the demo
build the same app the server runs, only with other settings or transports.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from typing import Any

from cross_web import HTTPException
from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from strawberry.fastapi import GraphQLRouter

from mlgraph import __version__
from mlgraph.backends.connections import Connections
from mlgraph.backends.ledger import Ledger
from mlgraph.backends.zenml import ZenMLClient
from mlgraph.graph.context import GraphContext
from mlgraph.graph.schema import schema
from mlgraph.graph.zenml.loaders import ZenMLLoaders
from mlgraph.graphiql import GRAPHIQL_ASSETS, graphiql_page
from mlgraph.settings import Settings

GRAPHQL_PATH = "/graphql"
ASSETS_PATH = "/graphiql"

EXAMPLE_QUERY = """\
# A pipeline run, its steps, what each wrote, who wrote it.
# Add the header {"X-Mlgraph-Debug": "1"} to see every backend call it cost.
query RunOverview {
  zenml {
    pipelineRuns(first: 1, status: COMPLETED) {
      nodes {
        name
        status
        steps(first: 20) {
          totalCount
          nodes {
            name
            status
            durationSeconds
            outputs { name uri producer { name user { name email } } }
          }
        }
      }
    }
  }
}
"""


GRAPHQL_RESPONSE = "application/graphql-response+json"
REQUEST_ERROR_CODES = frozenset({"GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"})


def is_mutation(query: str | None, operation_name: str | None) -> bool:
    try:
        operation = get_operation_ast(parse(query or ""), operation_name)
    except GraphQLError:
        return False  # execution reports the syntax error with its code
    return operation is not None and operation.operation is OperationType.MUTATION


class GatewayRouter(GraphQLRouter):
    """Strawberry's router, closer to the GraphQL-over-HTTP spec, with a
    GraphiQL page that loads nothing from a CDN."""

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(graphiql_page(GRAPHQL_PATH, ASSETS_PATH, EXAMPLE_QUERY))

    async def execute_single(self, request, request_adapter, sub_response, context, root_value, request_data):  # type: ignore[no-untyped-def]
        if request_adapter.method == "GET" and is_mutation(request_data.query, request_data.operation_name):
            raise HTTPException(405, "Mutations are accepted by POST only")
        return await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )

    async def get_sub_response(self, request: Request) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in request.headers.get("accept", "") else None
        return sub_response

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        """With ``Accept: application/graphql-response+json``, answer in that media
        type and with 400 when the document failed to parse or validate."""
        response = super().create_response(response_data, sub_response)
        if sub_response.media_type == GRAPHQL_RESPONSE:
            response.headers["content-type"] = GRAPHQL_RESPONSE
            errors = response_data.get("errors") if isinstance(response_data, dict) else None
            if errors and response_data.get("data") is None and all(
                error.get("extensions", {}).get("code") in REQUEST_ERROR_CODES for error in errors
            ):
                response.status_code = 400
        return response


def create_app(
    settings: Settings, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None
) -> FastAPI:
    connections = Connections.from_settings(settings, transports)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await connections.aclose()

    async def context(request: Request) -> GraphContext:
        ledger = Ledger()
        zenml = ZenMLLoaders(ZenMLClient(connections.zenml, ledger)) if connections.zenml else None
        debug = settings.debug_header and request.headers.get("x-mlgraph-debug") == "1"
        return GraphContext(settings, ledger, zenml, debug=debug)

    app = FastAPI(title="mlgraph", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.connections = connections
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Authorization", "X-Mlgraph-Debug"],
        )
    app.include_router(GatewayRouter(schema, context_getter=context), prefix=GRAPHQL_PATH)
    app.mount(ASSETS_PATH, StaticFiles(directory=GRAPHIQL_ASSETS), name="graphiql")

    @app.middleware("http")
    async def allow_header(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        if response.status_code == 405 and request.url.path == GRAPHQL_PATH:
            response.headers["Allow"] = "POST"
        return response

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
