"""The application: /graphql (GraphQL over HTTP, GraphiQL), /healthz, /readyz, /metrics.

``create_app`` takes everything it needs as arguments, so tests and the demo
build the same app the server runs, only with other settings or transports.
In front of every route but /healthz, ``RequestGuard`` applies the rate limit
and, when key hashes are configured, asks for an API key (/readyz, GraphiQL's
page and its assets need none: they hold no data). /metrics follows the
same rule as /graphql: behind the key when keys are configured, since
operation names and backend paths describe what callers do. Outermost,
``ObserveRequests`` gives every request an id, metrics and an access log line.
Innermost, ``Admission`` bounds the GraphQL requests executing at once
(``mlgraph.admission``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.requests import HTTPConnection
from starlette.types import Scope

from mlgraph import __version__
from mlgraph.admission import Admission, Slots
from mlgraph.backends.cache import RecordCache
from mlgraph.backends.connections import Connections
from mlgraph.backends.diagnosis import cause_of
from mlgraph.backends.errors import BackendError
from mlgraph.backends.ledger import Ledger
from mlgraph.backends.abacus import AbacusClient
from mlgraph.backends.domino import DominoClient
from mlgraph.backends.zenml import ZenMLClient
from mlgraph.forwarding import forwarded_credentials, with_credential
from mlgraph.graph.context import GraphContext
from mlgraph.graph.errors import BACKEND_CODES
from mlgraph.graph.schema import schema
from mlgraph.graph.abacus.loaders import AbacusLoaders
from mlgraph.graph.domino.loaders import DominoLoaders
from mlgraph.graph.zenml.loaders import ZenMLLoaders
from mlgraph.graphiql import GRAPHIQL_ASSETS, graphiql_page
from mlgraph.observability.metrics import Metrics
from mlgraph.observability.middleware import ObserveRequests
from mlgraph.http import GRAPHQL_METHODS, OTHER_METHODS, graphql_endpoint, wants_graphiql
from mlgraph.persisted import persisted_operations
from mlgraph.ratelimit import Limiter, rate_limiter
from mlgraph.security import ApiKeys, RequestGuard
from mlgraph.settings import Settings, load_settings

GRAPHQL_PATH = "/graphql"
ASSETS_PATH = "/graphiql"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
FAVICON_PATH = "/favicon.ico"
FAVICON = Path(__file__).parent / "static" / "favicon.ico"

EXAMPLE_QUERY = """\
# A pipeline run, its steps, what each wrote, who wrote it.
# Add the header {"X-Mlgraph-Debug": "1"} to see every backend call it cost.
query RunOverview {
  zenml {
    pipelineRuns(first: 1, status: SUCCEEDED) {
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


readiness_log = logging.getLogger("mlgraph.readiness")

#: httpx logs every request's full URL at INFO: backend addresses (and query
#: strings with ids) stay out of the gateway's log.
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)


def create_app(
    settings: Settings,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    *,
    limiter: Limiter | None = None,
    records: RecordCache | None = None,
) -> FastAPI:
    """The gateway; ``limiter`` and ``records`` (the record cache) replace the
    ones the settings describe (tests pass them with their own clock)."""
    connections = Connections.from_settings(settings, transports, records)
    persisted = persisted_operations(settings)
    forward = settings.auth.forward.headers()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await persisted.aclose()
        await connections.aclose()
        if limiter is not None:
            await limiter.aclose()

    def context(request: Request) -> GraphContext:
        ledger = Ledger()
        own = forwarded_credentials(request, forward) if forward else {}
        zenml_connection = with_credential(connections.zenml, own.get("zenml"))
        domino_connection = with_credential(connections.domino, own.get("domino"))
        abacus_connection = with_credential(connections.abacus, own.get("abacus"))
        records = connections.records
        zenml = ZenMLLoaders(ZenMLClient(zenml_connection, ledger, records)) if zenml_connection else None
        domino = DominoLoaders(DominoClient(domino_connection, ledger, records)) if domino_connection else None
        abacus = AbacusLoaders(AbacusClient(abacus_connection, ledger, records)) if abacus_connection else None
        debug = settings.debug_header and request.headers.get("x-mlgraph-debug") == "1"
        return GraphContext(settings, ledger, zenml, domino, abacus, debug=debug)

    def graphiql() -> str:
        return graphiql_page(GRAPHQL_PATH, ASSETS_PATH, EXAMPLE_QUERY)

    app = FastAPI(title="mlgraph", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.connections = connections
    app.state.persisted = persisted
    metrics = Metrics()
    app.state.metrics = metrics
    configured = {
        name: connection
        for name, connection in (("zenml", connections.zenml), ("domino", connections.domino), ("abacus", connections.abacus))
        if connection is not None
    }
    metrics.watch_circuits({name: (lambda c=c: c.circuit_state.value) for name, c in configured.items()})
    metrics.watch_backend_slots({name: (lambda c=c: c.slots) for name, c in configured.items()})
    admission = Slots(settings.limits.max_concurrent_requests)
    app.state.admission = admission
    metrics.watch_admission(admission)

    def is_query(scope: Scope) -> bool:
        """A GraphQL request: not /healthz, /readyz, /metrics, GraphiQL's page or assets."""
        if scope["path"] != GRAPHQL_PATH or scope["method"] not in GRAPHQL_METHODS:
            return False
        return not (settings.graphiql and wants_graphiql(HTTPConnection(scope)))

    # Added first, so it runs after the guard (a refused key or rate takes no
    # slot), and inside CORS and ObserveRequests (a 503 is readable, counted, logged).
    app.add_middleware(
        Admission,
        slots=admission,
        timeout=settings.limits.admission_timeout_seconds,
        applies=is_query,
        max_body_bytes=settings.max_body_bytes,
        on_decision=lambda outcome: metrics.admission_decisions.labels(outcome).inc(),
    )
    keys = ApiKeys(settings.auth.api_key_hashes)
    if limiter is None:
        limiter = rate_limiter(settings)  # in Redis with redis_url: shared by every process
    if keys or limiter is not None:

        def is_public(connection: HTTPConnection) -> bool:
            path = connection.scope["path"]
            if path == FAVICON_PATH:
                return True
            if path == READY_PATH:
                return not settings.auth.protect_readyz
            if settings.graphiql:
                return path.startswith(ASSETS_PATH + "/") or (path == GRAPHQL_PATH and wants_graphiql(connection))
            return False

        # Added before CORS, so CORS runs first: preflights need no key, and
        # 401 and 429 answers carry the CORS headers a browser needs to read them.
        app.add_middleware(
            RequestGuard, keys=keys, limiter=limiter, is_public=is_public, unguarded=frozenset({HEALTH_PATH})
        )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=[
                "Content-Type", "Authorization", "X-Api-Key", "X-Mlgraph-Debug", "X-Request-Id", *forward.values()
            ],
            expose_headers=["X-Request-Id"],
        )
    # Added last, so it runs first: refusals are counted and logged too.
    app.add_middleware(ObserveRequests, metrics=metrics, graphql_path=GRAPHQL_PATH)
    endpoint = graphql_endpoint(
        schema,
        context,
        graphiql if settings.graphiql else None,
        settings.max_body_bytes,
        persisted,
        settings.persisted.cache_max_age,
        settings.limits.max_tokens,
        keyed=settings.auth.enabled,
        forwarded_headers=tuple(forward.values()),
    )
    app.add_route(GRAPHQL_PATH, endpoint, methods=["GET", "POST", *OTHER_METHODS])
    if settings.graphiql:
        app.mount(ASSETS_PATH, StaticFiles(directory=GRAPHIQL_ASSETS), name="graphiql")

    @app.get(FAVICON_PATH, include_in_schema=False)
    async def favicon() -> FileResponse:
        """The tab icon browsers ask for beside GraphiQL: no data, no key needed."""
        return FileResponse(FAVICON, media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"})

    @app.get(HEALTH_PATH, include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """The process is up; it says nothing of the backends."""
        return {"status": "ok"}

    @app.get(METRICS_PATH, include_in_schema=False)
    async def metrics_page() -> Response:
        """Prometheus' text format, this process's counts only."""
        return Response(metrics.exposition(), media_type=metrics.content_type)

    @app.get(READY_PATH, include_in_schema=False)
    async def readyz() -> JSONResponse:
        """Whether every configured platform answers: 503 names the ones that do
        not, with the cause an operator can act on (``causes``: refused, DNS,
        TLS, timed out, credential refused; never an address or credential);
        ``circuits`` has each platform's breaker (closed, half_open, open)."""
        clients: dict[str, ZenMLClient | DominoClient | AbacusClient] = {}
        if connections.zenml is not None:
            clients["zenml"] = ZenMLClient(connections.zenml, Ledger())
        if connections.domino is not None:
            clients["domino"] = DominoClient(connections.domino, Ledger())
        if connections.abacus is not None:
            clients["abacus"] = AbacusClient(connections.abacus, Ledger())

        causes: dict[str, str] = {}

        async def state(name: str, client: ZenMLClient | DominoClient | AbacusClient) -> str:
            try:
                await client.ping()
            except BackendError as exc:
                causes[name] = cause_of(exc)
                readiness_log.warning("%s is not ready: %s", name, causes[name])
                return BACKEND_CODES.get(type(exc), "BACKEND_UNAVAILABLE")
            return "ok"

        states = await asyncio.gather(*(state(name, client) for name, client in clients.items()))
        platforms = dict(zip(clients, states))
        ready = all(state == "ok" for state in platforms.values())
        circuits = {name: c.circuit_state.value for name, c in configured.items()}
        body: dict[str, object] = {"status": "ready" if ready else "unavailable", "platforms": platforms, "circuits": circuits}
        if causes:
            body["causes"] = causes
        return JSONResponse(body, status_code=200 if ready else 503)

    return app


def create_app_from_environment() -> FastAPI:
    """The app for each worker of ``mlgraph serve --workers N``: a worker is
    a fresh process, so it sets up its own logging."""
    from mlgraph.observability.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_format)
    return create_app(settings)
