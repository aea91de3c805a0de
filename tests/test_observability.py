"""Metrics, traces, access logs and request ids (docs/operations.md)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mlgraph.app import EXAMPLE_QUERY, create_app
from mlgraph.demo import ZENML_SANDBOX_URL, build_sandbox
from mlgraph.observability import tracing
from mlgraph.observability.logs import JsonFormatter
from mlgraph.observability.metrics import endpoint_template
from mlgraph.persisted.manifest import sha256_hex
from mlgraph.sandbox.zenml import create_zenml_emulator
from mlgraph.sandbox.zenml_data import ZenMLDataset
from mlgraph.security import hash_key
from mlgraph.settings import AuthSettings, Settings, ZenMLSettings

USERS = "query Users($first: Int) { zenml { users(first: $first) { nodes { name } } } }"


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition, 0 when absent."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        series, value = line.rsplit(" ", 1)
        found = dict(re.findall(r'(\w+)="([^"]*)"', series))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return 0.0


@pytest.fixture
def client() -> Iterator[TestClient]:
    settings = Settings(zenml=ZenMLSettings(url=ZENML_SANDBOX_URL, retries=0, breaker_failures=1))
    sandbox = build_sandbox(settings=settings)
    with TestClient(sandbox.app) as test_client:
        test_client.sandbox = sandbox  # type: ignore[attr-defined]
        yield test_client


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/api/v1/runs/eeabd1de-dc7e-4817-9847-b6a3e0c8e114/steps?page=1", "/api/v1/runs/{id}/steps"),
        ("/v4/projects/65f1c0ffee0123456789abcd/jobs", "/v4/projects/{id}/jobs"),
        ("/api/v0/describeModel/1a2b3c4d5e", "/api/v0/describeModel/{id}"),
        ("/api/jobs/42", "/api/jobs/{id}"),
        ("/api/v1/info", "/api/v1/info"),
    ],
)
def test_backend_paths_become_endpoint_templates(path: str, template: str) -> None:
    assert endpoint_template(path) == template


def test_metrics_count_requests_backend_calls_and_batches(client: TestClient) -> None:
    assert client.post("/graphql", json={"query": EXAMPLE_QUERY}).status_code == 200
    assert client.post("/graphql", json={"query": USERS, "variables": {"first": 2}}).status_code == 200
    assert client.post("/graphql", json={"query": "{ nope }"}).status_code == 200
    assert client.post("/graphql", content=b"{", headers={"content-type": "application/json"}).status_code == 400
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert metric(text, "mlgraph_graphql_requests_total", operation="RunOverview", outcome="ok") == 1
    assert metric(text, "mlgraph_graphql_requests_total", operation="Users", outcome="ok") == 1
    assert metric(text, "mlgraph_graphql_requests_total", operation="anonymous", outcome="errors") == 1
    assert metric(text, "mlgraph_graphql_requests_total", operation="anonymous", outcome="refused") == 1
    assert metric(text, "mlgraph_graphql_request_duration_seconds_count", operation="RunOverview") == 1
    runs = {"platform": "zenml", "endpoint": "/api/v1/runs/{id}/steps", "method": "GET", "status": "200"}
    assert metric(text, "mlgraph_backend_calls_total", **runs) == 1
    assert metric(text, "mlgraph_backend_call_duration_seconds_count", platform="zenml", endpoint="/api/v1/runs/{id}/steps") == 1
    assert re.search(r'endpoint="[^"]*(\?|[0-9a-f]{8}-)', text) is None  # no query strings, no ids
    assert metric(text, "mlgraph_loader_batch_size_count") >= 1
    assert metric(text, "mlgraph_circuit_breaker_state", platform="zenml") == 0


def test_breaker_gauge_and_readyz_report_an_open_circuit(client: TestClient) -> None:
    client.sandbox.faults.set("/api/v1/info", status=503)  # type: ignore[attr-defined]
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["circuits"] == {"zenml": "open", "domino": "closed", "abacus": "closed"}
    text = client.get("/metrics").text
    assert metric(text, "mlgraph_circuit_breaker_state", platform="zenml") == 2
    assert metric(text, "mlgraph_circuit_breaker_state", platform="domino") == 0


def test_persisted_query_hits_and_misses(client: TestClient) -> None:
    query = "{ __typename }"
    by_hash = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(query)}}}
    assert client.post("/graphql", json=by_hash).json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert client.post("/graphql", json={"query": query, **by_hash}).json()["data"] == {"__typename": "Query"}
    assert client.post("/graphql", json=by_hash).json()["data"] == {"__typename": "Query"}
    text = client.get("/metrics").text
    assert metric(text, "mlgraph_persisted_query_hits_total") == 1
    assert metric(text, "mlgraph_persisted_query_misses_total") == 1
    assert metric(text, "mlgraph_graphql_requests_total", operation="anonymous", outcome="refused") == 1


def test_metrics_need_the_key_when_keys_are_configured() -> None:
    key = "k" * 32
    sandbox = build_sandbox(settings=Settings(auth=AuthSettings(api_key_hashes=[hash_key(key)])))
    with TestClient(sandbox.app) as client:
        assert client.get("/metrics").status_code == 401
        assert client.post("/graphql", json={"query": "{ __typename }"}).status_code == 401
        answer = client.get("/metrics", headers={"X-Api-Key": key})
        assert answer.status_code == 200
        assert 'mlgraph_graphql_requests_total{operation="anonymous",outcome="refused"} 1.0' in answer.text


def test_each_app_counts_its_own_requests(client: TestClient) -> None:
    client.post("/graphql", json={"query": "{ __typename }"})
    with TestClient(build_sandbox().app) as other:
        assert metric(other.get("/metrics").text, "mlgraph_graphql_requests_total", operation="anonymous") == 0


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == "mlgraph.access"]


def test_one_json_access_line_per_request_without_secrets(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    secret_key, secret_var = "secret-gateway-key-123456", "secret-variable-value"
    with caplog.at_level(logging.INFO, logger="mlgraph.access"):
        response = client.post(
            "/graphql",
            json={"query": USERS, "variables": {"first": 2, "unused": secret_var}},
            headers={"Authorization": f"Bearer {secret_key}", "X-Api-Key": secret_key, "X-Request-Id": "req-42"},
        )
    assert response.headers["x-request-id"] == "req-42"
    (line,) = access_lines(caplog)
    assert line["request_id"] == "req-42"
    assert line["logger"] == "mlgraph.access" and line["level"] == "info"
    assert line["operation"] == "Users" and line["status"] == 200 and line["path"] == "/graphql"
    assert line["backend_calls"] >= 1 and line["backend_bytes"] > 0
    assert isinstance(line["duration_ms"], float) and isinstance(line["pid"], int)
    formatted = "".join(JsonFormatter().format(r) for r in caplog.records)
    assert secret_key not in formatted and secret_var not in formatted


@pytest.mark.parametrize("given", ["x" * 129, "", "tab\there"])
def test_bad_request_ids_are_replaced(client: TestClient, given: str) -> None:
    response = client.get("/healthz", headers={"X-Request-Id": given})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_a_request_id_is_generated_and_unique(client: TestClient) -> None:
    first, second = (client.get("/healthz").headers["x-request-id"] for _ in range(2))
    assert first != second


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    previous = tracing.use_provider(provider)
    yield exporter
    tracing._tracer = previous


def recorded_gateway() -> tuple[FastAPI, list[dict[str, str]]]:
    """A gateway over a ZenML emulator that records the headers of every call
    (the emulators' own log keeps method and path only)."""
    headers_seen: list[dict[str, str]] = []
    emulator = create_zenml_emulator(ZenMLDataset.generate(seed=7, pipelines=2, runs_per_pipeline=2, steps_per_run=3))

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers_seen.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await emulator(scope, receive, send)

    settings = Settings(zenml=ZenMLSettings(url=ZENML_SANDBOX_URL))
    return create_app(settings, {"zenml": httpx.ASGITransport(app=recording)}), headers_seen


def test_spans_per_operation_batch_and_backend_call_with_traceparent(spans: InMemorySpanExporter) -> None:
    app, headers_seen = recorded_gateway()
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    with TestClient(app) as client:
        response = client.post(
            "/graphql", json={"query": EXAMPLE_QUERY}, headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}
        )
    assert response.status_code == 200 and "errors" not in response.json()
    finished = spans.get_finished_spans()
    (operation,) = [s for s in finished if s.name == "graphql RunOverview"]
    assert format(operation.context.trace_id, "032x") == trace_id  # the caller's trace goes on
    batches = [s for s in finished if s.name == "loader batch"]
    calls = [s for s in finished if s.name == "zenml GET"]
    assert batches and len(calls) == len(headers_seen)
    assert all(s.parent is not None and s.parent.span_id == operation.context.span_id for s in batches)
    parents = {operation.context.span_id} | {b.context.span_id for b in batches}
    assert all(c.parent is not None and c.parent.span_id in parents for c in calls)
    assert any(c.parent.span_id != operation.context.span_id for c in calls if c.parent)  # some under a batch
    by_span = {format(c.context.span_id, "016x"): c for c in calls}
    for headers in headers_seen:
        _version, sent_trace, span_id, _flags = headers["traceparent"].split("-")
        assert sent_trace == trace_id and span_id in by_span


def test_no_tracer_provider_sends_no_traceparent() -> None:
    app, headers_seen = recorded_gateway()
    with TestClient(app) as client:
        assert client.post("/graphql", json={"query": USERS}).status_code == 200
    assert headers_seen and all("traceparent" not in h for h in headers_seen)
