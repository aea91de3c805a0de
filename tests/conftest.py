"""Fixtures: the gateway over the in-process ZenML emulator."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

# Most tests count one request's backend calls, or inject faults after a
# gateway has answered: answers kept across requests would hide both. The
# record cache's own tests (test_record_cache*.py) turn it on.
os.environ.setdefault("MLGRAPH_CACHE__ENABLED", "false")

from mlgraph.demo import Sandbox, build_sandbox  # noqa: E402
from mlgraph.sandbox.faults import Faults
from mlgraph.settings import Settings


@dataclass
class GraphQLAnswer:
    data: Any
    errors: list[dict[str, Any]]
    ledger: dict[str, Any]
    raw: bytes

    @property
    def calls(self) -> int:
        return self.ledger["calls"]

    def codes(self) -> list[str]:
        return [error["extensions"]["code"] for error in self.errors]


class Gateway:
    """Posts GraphQL to the gateway with the debug header and unpacks the answer."""

    def __init__(self, client: TestClient, sandbox: Sandbox) -> None:
        self.client = client
        self.sandbox = sandbox

    def __call__(self, query: str, variables: dict[str, Any] | None = None) -> GraphQLAnswer:
        response = self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"X-Mlgraph-Debug": "1"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        return GraphQLAnswer(
            data=body.get("data"),
            errors=body.get("errors") or [],
            ledger=body["extensions"]["ledger"],
            raw=response.content,
        )


def open_gateway(sandbox: Sandbox) -> Iterator[Gateway]:
    with TestClient(sandbox.app) as client:
        yield Gateway(client, sandbox)


@pytest.fixture(scope="module", params=[True, False], ids=["level-by-level", "generic"])
def demo_sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """The demo data set behind a gateway, once per executor: every test of
    the graph holds for both."""
    return build_sandbox(settings=Settings(compiled_execution=request.param))


@pytest.fixture(scope="module")
def gateway(demo_sandbox: Sandbox) -> Iterator[Gateway]:
    yield from open_gateway(demo_sandbox)


@pytest.fixture
def faults(demo_sandbox: Sandbox) -> Iterator[Faults]:
    """The demo emulators' faults, cleared after the test whatever it did."""
    yield demo_sandbox.faults
    demo_sandbox.faults.clear()
