"""The gateway over a backend on a real socket, not an in-process transport.

httpx's network stack (anyio cancel scopes) must run in the task it started
in; the level-by-level executor steps resolvers by hand, so this checks that
backend calls, timeouts included, behave over TCP as they do in-process.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from mlgraph.app import create_app
from mlgraph.sandbox.faults import Faults
from mlgraph.sandbox.zenml import create_zenml_emulator
from mlgraph.sandbox.zenml_data import ZenMLDataset
from mlgraph.settings import Settings, ZenMLSettings
from tests.loopback import serving


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[tuple[str, Faults]]:
    faults = Faults()
    app = create_zenml_emulator(ZenMLDataset.generate(pipelines=1, runs_per_pipeline=3), faults=faults)
    with serving(app) as url:
        yield url, faults


@pytest.mark.parametrize("compiled", [True, False], ids=["level-by-level", "generic"])
def test_queries_and_timeouts_over_tcp(emulator_url: tuple[str, Faults], compiled: bool) -> None:
    url, faults = emulator_url
    settings = Settings(compiled_execution=compiled, zenml=ZenMLSettings(url=url, timeout=0.3))
    query = "{ zenml { users(first: 2) { nodes { name email } } pipelineRuns(first: 2) { nodes { name steps(first: 3) { totalCount } } } } }"
    with TestClient(create_app(settings)) as client:
        answer = client.post("/graphql", json={"query": query}).json()
        assert "errors" not in answer
        assert len(answer["data"]["zenml"]["users"]["nodes"]) == 2
        faults.set("/api/v1/runs", latency_ms=1000)
        try:
            slow = client.post("/graphql", json={"query": query}).json()
        finally:
            faults.clear()
        assert slow["data"]["zenml"]["users"]["nodes"]  # the rest still answers
        assert slow["data"]["zenml"]["pipelineRuns"] is None
        assert [e["extensions"]["code"] for e in slow["errors"]] == ["BACKEND_UNAVAILABLE"]
