"""The Abacus.AI client against hand-made responses: envelopes, errorType
mapping, GET or POST per method, nulls, and the bounded concurrent describes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mlgraph.backends.abacus import AbacusClient, AbacusConnection
from mlgraph.backends.errors import BadResponse, Forbidden, NotFound, Rejected, Unavailable
from mlgraph.backends.ledger import Ledger


def client_for(handler: Callable[[httpx.Request], httpx.Response], max_concurrency: int = 8) -> tuple[AbacusClient, Ledger]:
    connection = AbacusConnection(
        "http://abacus.test", timeout=5, api_key="k-1", max_concurrency=max_concurrency, transport=httpx.MockTransport(handler)
    )
    ledger = Ledger()
    return AbacusClient(connection, ledger), ledger


def run(coro: Any) -> Any:
    return asyncio.run(coro)


VERSION = {
    "pipelineVersion": "v1",
    "pipelineId": "p1",
    "status": "COMPLETE",
    "stepVersions": [
        {"pipelineStepVersion": "s1", "stepName": "load", "stepDependencies": None, "pipelineStepVersionReferences": None, "cpuSize": "SMALL", "memory": 16}
    ],
    "pipelineVariableMappings": None,
    "codeSource": None,
    "brandNewField": {"x": 1},
}


def test_describes_are_gets_with_the_key_and_nulls_read_as_empty() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"success": True, "result": VERSION})

    client, ledger = client_for(handler)
    version = run(client.describe_pipeline_version("v1"))
    assert version.id == "v1" and version.step_versions[0].step_dependencies == []
    assert version.step_versions[0].pipeline_step_version_references == []
    assert version.pipeline_variable_mappings == []
    assert seen[0].method == "GET" and seen[0].headers["apikey"] == "k-1"
    assert ledger.calls[0].path == "/api/v0/describePipelineVersion?pipelineVersion=v1"


def test_run_describe_pipeline_and_list_versions_are_posts_with_bodies() -> None:
    bodies: list[tuple[str, str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append((request.method, request.url.path, json.loads(request.content)))
        result: Any = [VERSION] if request.url.path.endswith("Versions") else (VERSION if "run" in request.url.path else {"pipelineId": "p1"})
        return httpx.Response(200, json={"success": True, "result": result})

    client, _ = client_for(handler)
    run(client.run_pipeline("p1", [{"name": "x", "variableType": "STRING", "value": 1}]))
    run(client.describe_pipeline("p1"))
    run(client.list_pipeline_versions("p1", 5))
    assert bodies == [
        ("POST", "/api/v0/runPipeline", {"pipelineId": "p1", "pipelineVariableMappings": [{"name": "x", "variableType": "STRING", "value": 1}]}),
        ("POST", "/api/v0/describePipeline", {"pipelineId": "p1"}),
        ("POST", "/api/v0/listPipelineVersions", {"pipelineId": "p1", "limit": 5}),
    ]


@pytest.mark.parametrize(
    "status,error_type,error",
    [
        (404, "DataNotFoundError", NotFound),
        (401, "PermissionDeniedError", Forbidden),
        (400, "InvalidParameterError", Rejected),
        (400, "MissingParameterError", Rejected),
        (500, "InternalServerError", Unavailable),
        (404, "Generic404Error", NotFound),
        (503, None, Unavailable),
        (200, "DataNotFoundError", NotFound),
    ],
)
def test_failure_envelopes_map_by_error_type_then_status(status: int, error_type: str | None, error: type[Exception]) -> None:
    body = {"success": False, "error": "Pipeline version v9 not found at https://internal.abacus/x", "requestId": "r"}
    if error_type:
        body["errorType"] = error_type
    client, _ = client_for(lambda request: httpx.Response(status, json=body))
    with pytest.raises(error) as raised:
        run(client.describe_pipeline_version("v9"))
    assert "internal.abacus" not in str(raised.value)


def test_garbage_and_wrong_shapes_are_bad_responses() -> None:
    client, _ = client_for(lambda request: httpx.Response(200, content=b"<html>"))
    with pytest.raises(BadResponse, match="not JSON"):
        run(client.describe_user())
    client, _ = client_for(lambda request: httpx.Response(200, json={"success": True, "result": {"stepVersions": 3}}))
    with pytest.raises(BadResponse, match="malformed"):
        run(client.describe_pipeline_version("v1"))


def test_get_many_is_bounded_and_keeps_failures_per_id() -> None:
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        key = request.url.params["modelVersion"]
        if key == "gone":
            return httpx.Response(404, json={"success": False, "error": "no", "errorType": "DataNotFoundError"})
        if key == "broken":
            return httpx.Response(500, json={"success": False, "error": "boom", "errorType": "InternalServerError"})
        return httpx.Response(200, json={"success": True, "result": {"modelVersion": key, "status": "COMPLETE"}})

    client, ledger = client_for(handler, max_concurrency=2)
    found = run(client.get_many(client.describe_model_version, [f"m{i}" for i in range(6)] + ["gone", "broken"]))
    assert peak == 2 and len(ledger.calls) == 8
    assert "gone" not in found and isinstance(found["broken"], Unavailable)
    assert found["m3"].status == "COMPLETE"
