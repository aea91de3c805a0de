"""Server entry points for the benchmark harness, one uvicorn process each.

    python -m benchmarks.servers emulator --steps N --latency-ms 20 --port P
    python -m benchmarks.servers domino-emulator --jobs N --latency-ms 20 --port P
    python -m benchmarks.servers abacus-emulator --steps N --latency-ms 20 --port P
    python -m benchmarks.servers gateway --port P --zenml-url http://127.0.0.1:Q --domino-url http://127.0.0.1:R \
        --abacus-url http://127.0.0.1:S
    python -m benchmarks.servers plain --port P
    python -m benchmarks.servers demo --port P --latency-ms 20

`--count-calls` wraps an emulator in `CallCounter`: `GET /__bench/calls`
answers the requests it received since `POST /__bench/calls/reset` and the
round trips they took. The `demo` kind is the demo's gateway (`mlgraph demo`'s
data, its emulators in-process) with the injected latency; its
`/__bench/calls` answers each emulator's request count.

The gateway is served through `mlgraph.cli.run_server` (what `mlgraph serve`
runs) when it exists; the emulator and the plain app through `uvicorn.run`
with default settings.

The emulator and the plain app generate the same seeded data set from the same
arguments (`dataset_args`; `domino_dataset_args` for the Domino emulator,
`abacus_dataset_args` for the Abacus.AI one), so every process sees identical
records. The Domino emulator requires the API key `DOMINO_API_KEY` (header
`X-Domino-Api-Key`), as Domino does; the gateway is given it through
`MLGRAPH_DOMINO__API_KEY`. The Abacus.AI emulator requires `ABACUS_API_KEY`
(header `apiKey`), given to the gateway through `MLGRAPH_ABACUS__API_KEY`.
Every emulator also answers `POST /__bench/latency?ms=X`, which changes the
injected latency while it serves (the harness uses it for the small-query
phase).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import uvicorn

SEED = 7


def dataset_args(steps: int) -> dict[str, int]:
    """The one data set shape every process of a run generates."""
    return {"seed": SEED, "pipelines": 1, "runs_per_pipeline": 2, "steps_per_run": steps}


def generate(steps: int):  # type: ignore[no-untyped-def]
    from mlgraph.sandbox.zenml_data import ZenMLDataset

    return ZenMLDataset.generate(**dataset_args(steps))


#: The key the Domino emulator demands and the gateway and the baseline send.
DOMINO_API_KEY = "bench-domino-key"
#: `DominoData` puts two jobs (from 6 jobs on) in its forbidden project.
DOMINO_FORBIDDEN_JOBS = 2


def domino_dataset_args(jobs: int) -> dict[str, int]:
    """One visible project holding exactly `jobs` jobs (archived ones included),
    plus the forbidden project with its two: `DominoData.generate` always adds
    the forbidden one last and places two of its jobs there."""
    return {"seed": SEED, "projects": 1, "jobs": jobs + DOMINO_FORBIDDEN_JOBS}


def domino_generate(jobs: int):  # type: ignore[no-untyped-def]
    from mlgraph.sandbox.domino_data import DominoData

    return DominoData.generate(**domino_dataset_args(jobs))


def domino_project(data) -> str:  # type: ignore[no-untyped-def]
    """The id of the one visible project, after checking it holds every visible job."""
    project = data.projects[0]
    if not data.can_access(project.id):
        raise RuntimeError("the first Domino project is not visible")
    visible = [j for j in data.jobs if data.can_access(j.project_id)]
    if any(j.project_id != project.id for j in visible):
        raise RuntimeError("visible Domino jobs outside the first project")
    return project.id


#: The key the Abacus.AI emulator demands (header `apiKey`) and the gateway and the baseline send.
ABACUS_API_KEY = "bench-abacus-key"


def abacus_dataset_args(steps: int) -> dict[str, int]:
    """One pipeline with `steps` steps and three versions of it. Two versions
    would leave no COMPLETE one at 100 steps (both fail part-way with seed 7);
    with three, the newest is COMPLETE at 10, 100 and 1000 steps."""
    return {"seed": SEED, "pipelines": 1, "versions_per_pipeline": 3, "steps_per_pipeline": steps}


def abacus_generate(steps: int):  # type: ignore[no-untyped-def]
    from mlgraph.sandbox.abacus_data import AbacusData

    return AbacusData.generate(**abacus_dataset_args(steps))


def abacus_version(data, steps: int):  # type: ignore[no-untyped-def]
    """The newest COMPLETE pipeline version, after checking it holds `steps`
    step versions, all COMPLETE (so every step's reference is written)."""
    version = next((v for v in reversed(data.pipeline_versions) if v.status == "COMPLETE"), None)
    if version is None:
        raise RuntimeError("no COMPLETE Abacus.AI pipeline version")
    by_id = {s.id: s for s in data.step_versions}
    step_versions = [by_id[i] for i in version.step_version_ids]
    if len(step_versions) != steps or any(s.status != "COMPLETE" for s in step_versions):
        raise RuntimeError(f"Abacus.AI version {version.id} has {len(step_versions)} step versions, expected {steps} COMPLETE")
    return version, step_versions


def abacus_referenced(step_versions) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """The distinct objects the version's step versions reference, as
    (describe method, id), in first-reference order: each is one describe."""
    seen: dict[tuple[str, str], None] = {}
    for step in step_versions:
        for ref in step.references:
            for method, key in (
                ("describeDatasetVersion", ref.dataset_version),
                ("describeModelVersion", ref.model_version),
                ("describeDeployment", ref.deployment_version),
                ("describeFeatureGroupVersion", ref.feature_group_version),
                ("describeBatchPrediction", ref.batch_prediction_id),
            ):
                if key:
                    seen[(method, key)] = None
                    break
    return list(seen)


class LatencyControl:
    """ASGI wrapper: `POST /__bench/latency?ms=X` sets the emulator's latency."""

    def __init__(self, app, faults) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.faults = faults

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] == "http" and scope["path"] == "/__bench/latency":
            from urllib.parse import parse_qs

            query = parse_qs(scope.get("query_string", b"").decode())
            self.faults.latency_ms = float(query.get("ms", ["0"])[0])
            await send_json(send, {"latency_ms": self.faults.latency_ms})
            return
        await self.app(scope, receive, send)


async def send_json(send: Any, payload: Any) -> None:
    """Answer an ASGI request with `payload` as JSON (the harness's own routes)."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(payload).encode()})


class CallCounter:
    """ASGI wrapper over an emulator app (`--count-calls`): `GET /__bench/calls`
    answers the requests the emulator logged (`app.state.calls`, every request
    it received) since the last `POST /__bench/calls/reset`, and the round
    trips they took: the longest chain of requests each sent after the one
    before it was answered (timed here, outside the injected latency)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        inner = app
        while not hasattr(getattr(inner, "state", None), "calls"):
            inner = inner.app  # LatencyControl -> the Starlette emulator
        self.calls: list[tuple[str, str]] = inner.state.calls
        self.spans: list[tuple[float, float]] = []

    def round_trips(self) -> int:
        chain: list[tuple[float, int]] = []  # (end, longest chain ending with this request)
        for start, end in sorted(self.spans):
            chain.append((end, 1 + max((n for e, n in chain if e <= start), default=0)))
        return max((n for _, n in chain), default=0)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith("/__bench/calls"):
            if scope["path"].endswith("/reset"):
                self.calls.clear()
                self.spans.clear()
            await send_json(send, {
                "count": len(self.calls), "calls": [path for _, path in self.calls], "round_trips": self.round_trips(),
            })
            return
        started = time.perf_counter()

        async def timed_send(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.spans.append((started, time.perf_counter()))

        await self.app(scope, receive, timed_send)


class DemoCalls:
    """ASGI wrapper over the demo gateway: `GET /__bench/calls` answers how many
    requests each of its in-process emulators received since the last
    `POST /__bench/calls/reset`, by platform. Their logs keep every entry
    here (the emulators keep only the newest 10,000 by default)."""

    def __init__(self, app: Any, logs: dict[str, list[tuple[str, str]]]) -> None:
        self.app = app
        self.logs = logs
        for log in logs.values():
            if hasattr(log, "limit"):
                log.limit = sys.maxsize

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/__bench/calls"):
            if scope["path"].endswith("/reset"):
                for log in self.logs.values():
                    log.clear()
            await send_json(send, {name: len(log) for name, log in self.logs.items()})
            return
        await self.app(scope, receive, send)


def emulator_app(steps: int, latency_ms: float):  # type: ignore[no-untyped-def]
    from mlgraph.sandbox.faults import Faults
    from mlgraph.sandbox.zenml import create_zenml_emulator

    faults = Faults(latency_ms=latency_ms)
    app = create_zenml_emulator(generate(steps), faults=faults)
    return LatencyControl(app, faults)


def domino_emulator_app(jobs: int, latency_ms: float):  # type: ignore[no-untyped-def]
    from mlgraph.sandbox.domino import create_domino_emulator
    from mlgraph.sandbox.faults import Faults

    faults = Faults(latency_ms=latency_ms)
    app = create_domino_emulator(domino_generate(jobs), api_key=DOMINO_API_KEY, faults=faults)
    return LatencyControl(app, faults)


def abacus_emulator_app(steps: int, latency_ms: float):  # type: ignore[no-untyped-def]
    from mlgraph.sandbox.abacus import create_abacus_emulator
    from mlgraph.sandbox.faults import Faults

    faults = Faults(latency_ms=latency_ms)
    app = create_abacus_emulator(abacus_generate(steps), api_key=ABACUS_API_KEY, faults=faults)
    return LatencyControl(app, faults)


def gateway_app(  # type: ignore[no-untyped-def]
    zenml_url: str | None, domino_url: str | None = None, abacus_url: str | None = None
):
    if zenml_url:
        os.environ["MLGRAPH_ZENML__URL"] = zenml_url
    if domino_url:
        os.environ["MLGRAPH_DOMINO__URL"] = domino_url
        os.environ["MLGRAPH_DOMINO__API_KEY"] = DOMINO_API_KEY
    if abacus_url:
        os.environ["MLGRAPH_ABACUS__URL"] = abacus_url
        os.environ["MLGRAPH_ABACUS__API_KEY"] = ABACUS_API_KEY
    from mlgraph.app import create_app

    return create_app(gateway_settings())


def gateway_settings():  # type: ignore[no-untyped-def]
    """The settings from the environment, the rate limit off. The per-client
    rate limit (600 a minute by default) would answer the load generator, one
    client, with 429s: it measures the limiter, not the gateway. Every other
    setting (timeouts, retries, circuit breakers, query limits, the record
    cache) stays at its default or what MLGRAPH_* says."""
    os.environ["MLGRAPH_LIMITS__RATE_PER_MINUTE"] = "0"
    from mlgraph.settings import Settings

    return Settings()


def demo_app(latency_ms: float):  # type: ignore[no-untyped-def]
    """`mlgraph demo`'s gateway and data (`build_sandbox`'s defaults), each
    emulator call delayed by `latency_ms`, counting the emulators' calls."""
    from mlgraph.demo import build_sandbox

    sandbox = build_sandbox(latency_ms=latency_ms, settings=gateway_settings())
    emulators = {"zenml": sandbox.zenml_emulator, "domino": sandbox.domino_emulator, "abacus": sandbox.abacus_emulator}
    return DemoCalls(sandbox.app, {name: app.state.calls for name, app in emulators.items()})


import httpx  # noqa: E402
import strawberry  # noqa: E402


@strawberry.type
class PlainUser:
    name: str
    email: str
    full_name: str


@strawberry.type
class PlainUserConnection:
    nodes: list[PlainUser]
    total_count: int


PLAIN_BACKEND: dict[str, httpx.AsyncClient] = {}


@strawberry.type
class PlainZenML:
    @strawberry.field
    async def users(self, first: int = 20) -> PlainUserConnection:
        """What a straightforward resolver does: one REST call per field, the
        hydrated users from the same emulator the gateway reads."""
        response = await PLAIN_BACKEND["zenml"].get("/api/v1/users", params={"size": first, "hydrate": "true"})
        page = response.json()
        users = [
            PlainUser(name=u["name"], email=(u.get("metadata") or {}).get("email") or "", full_name=u["body"].get("full_name") or "")
            for u in page["items"]
        ]
        return PlainUserConnection(nodes=users, total_count=page["total"])


@strawberry.type
class PlainQuery:
    @strawberry.field
    def zenml(self) -> PlainZenML:
        return PlainZenML()


def plain_app(zenml_url: str):  # type: ignore[no-untyped-def]
    """A plain Strawberry + FastAPI app with default settings serving the same
    data from the same emulator, shaped so the harness's small query runs
    unchanged on both servers."""
    from contextlib import asynccontextmanager

    from fastapi import FastAPI
    from strawberry.fastapi import GraphQLRouter

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        async with httpx.AsyncClient(base_url=zenml_url) as client:
            PLAIN_BACKEND["zenml"] = client
            yield

    app = FastAPI(lifespan=lifespan)
    app.include_router(GraphQLRouter(strawberry.Schema(query=PlainQuery)), prefix="/graphql")
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.servers")
    parser.add_argument("kind", choices=["emulator", "domino-emulator", "abacus-emulator", "gateway", "plain", "demo"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--zenml-url", default=None)
    parser.add_argument("--domino-url", default=None)
    parser.add_argument("--abacus-url", default=None)
    parser.add_argument("--count-calls", action="store_true", help="an emulator's calls at /__bench/calls")
    args = parser.parse_args(argv)
    if args.kind == "emulator":
        app = emulator_app(args.steps, args.latency_ms)
    elif args.kind == "domino-emulator":
        app = domino_emulator_app(args.jobs, args.latency_ms)
    elif args.kind == "abacus-emulator":
        app = abacus_emulator_app(args.steps, args.latency_ms)
    elif args.kind == "gateway":
        app = gateway_app(args.zenml_url, args.domino_url, args.abacus_url)
    elif args.kind == "demo":
        app = demo_app(args.latency_ms)
    else:
        app = plain_app(args.zenml_url)
    if args.count_calls and args.kind.endswith("emulator"):
        app = CallCounter(app)
    if args.kind in ("gateway", "demo"):
        try:  # serve the gateway the way `mlgraph serve` does (gc.freeze, uvloop/httptools when installed)
            from mlgraph.cli import run_server
        except ImportError:
            run_server = None
        if run_server is not None:
            run_server(app, "127.0.0.1", args.port)
            return
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
