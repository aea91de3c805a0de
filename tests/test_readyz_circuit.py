"""Readiness probes and the circuit breaker: a probe's success is no success.

A platform may answer its ping while the routes the graph reads fail. Were
/readyz's successes counted, a probe between failures would reset the streak
and the circuit of a half-broken platform would never open.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from mlgraph.backends import zenml as wire
from mlgraph.backends.errors import BackendError, Unavailable
from mlgraph.backends.ledger import Ledger
from mlgraph.backends.resilience import CircuitState
from mlgraph.demo import (
    ABACUS_SANDBOX_KEY,
    ABACUS_SANDBOX_URL,
    DOMINO_SANDBOX_KEY,
    DOMINO_SANDBOX_URL,
    ZENML_SANDBOX_URL,
    build_sandbox,
)
from mlgraph.settings import AbacusSettings, DominoSettings, Settings, ZenMLSettings
from tests.test_resilience import PAGE, FakeTime, connect

THRESHOLD = 3
BREAKER: dict[str, Any] = {"retries": 0, "breaker_failures": THRESHOLD, "breaker_cooldown_seconds": 60}
#: Per platform: a query that reads one route, and that route, which the test breaks.
BROKEN = {
    "zenml": ("{ zenml { pipelineRuns(first: 2) { nodes { name } } } }", "/api/v1/runs"),
    "domino": ("{ domino { hardwareTiers { totalCount } } }", "/api/hardwaretiers"),
    "abacus": ("{ abacus { pipelines { nodes { name } } } }", "/api/v0/listPipelines"),
}


@pytest.mark.parametrize("platform", list(BROKEN))
def test_failures_between_successful_readyz_probes_still_open_the_circuit(platform: str) -> None:
    settings = Settings(
        zenml=ZenMLSettings(url=ZENML_SANDBOX_URL, **BREAKER),
        domino=DominoSettings(url=DOMINO_SANDBOX_URL, api_key=DOMINO_SANDBOX_KEY, **BREAKER),
        abacus=AbacusSettings(url=ABACUS_SANDBOX_URL, api_key=ABACUS_SANDBOX_KEY, **BREAKER),
    )
    sandbox = build_sandbox(
        settings=settings, pipelines=1, runs_per_pipeline=2, steps_per_run=1, domino_projects=1, domino_jobs=2,
        abacus_pipelines=1, abacus_versions_per_pipeline=1,
    )
    query, route = BROKEN[platform]
    sandbox.faults.set(route, status=500)
    with TestClient(sandbox.app) as client:
        for failure in range(1, THRESHOLD + 1):
            answer = client.post("/graphql", json={"query": query}).json()
            assert [e["extensions"]["code"] for e in answer["errors"]] == ["BACKEND_UNAVAILABLE"]
            ready = client.get("/readyz")
            state = "open" if failure == THRESHOLD else "closed"
            assert ready.json()["circuits"][platform] == state, failure
            if state == "closed":  # the ping itself answered, and is reported
                assert ready.status_code == 200 and ready.json()["platforms"][platform] == "ok"
        refused = client.post("/graphql", json={"query": query}).json()
        assert "circuit open" in refused["errors"][0]["message"]
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["platforms"][platform] == "BACKEND_UNAVAILABLE"


def half_broken(request: httpx.Request) -> httpx.Response:
    """ZenML whose /info answers while its users route fails."""
    if request.url.path == "/api/v1/info":
        return httpx.Response(200, json={"version": "0.80.0"})
    return httpx.Response(500)


def test_a_ping_neither_resets_the_streak_nor_closes_a_half_open_circuit() -> None:
    fake = FakeTime()
    healthy = False

    def handler(request: httpx.Request) -> httpx.Response:
        if healthy and request.url.path != "/api/v1/info":
            return httpx.Response(200, json=PAGE)
        return half_broken(request)

    async def main() -> None:
        nonlocal healthy
        connection = connect(handler, fake, **BREAKER)
        ledger = Ledger()
        client = wire.ZenMLClient(connection, ledger)
        for _ in range(THRESHOLD):
            with contextlib.suppress(BackendError):
                await client.list(wire.USERS)
            if connection.circuit_state is CircuitState.CLOSED:
                await client.ping()
        assert connection.circuit_state is CircuitState.OPEN
        assert [c.path for c in ledger.calls].count("/api/v1/info") == THRESHOLD - 1

        fake.now += 60
        await client.ping()  # admitted as the half-open probe; its success decides nothing
        assert connection.circuit_state is CircuitState.HALF_OPEN
        healthy = True
        assert (await client.list(wire.USERS)).total == 1  # a real call is the probe that closes it
        assert connection.circuit_state is CircuitState.CLOSED
        await connection.aclose()

    asyncio.run(main())


def test_a_failing_ping_still_counts() -> None:
    fake = FakeTime()

    async def main() -> None:
        connection = connect(lambda request: httpx.Response(503), fake, **BREAKER)
        client = wire.ZenMLClient(connection, Ledger())
        for _ in range(THRESHOLD):
            with pytest.raises(Unavailable):
                await client.ping()
        assert connection.circuit_state is CircuitState.OPEN
        await connection.aclose()

    asyncio.run(main())
