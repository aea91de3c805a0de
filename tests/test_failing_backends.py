"""The failing-backend suite: every platform down, slow, failing, throttling,
garbled, cut off, mislabelled or runaway. Each case gets a clear coded error
naming the platform, at once, with no credential or backend address in the
answer or the log, the rest of the query still answered, and the next
ordinary request answered as usual. The "Failing backends" table of
docs/errors.md lists these cases."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mlgraph.demo import (
    ABACUS_SANDBOX_KEY,
    ABACUS_SANDBOX_URL,
    DOMINO_SANDBOX_KEY,
    DOMINO_SANDBOX_URL,
    ZENML_SANDBOX_URL,
    Sandbox,
    build_sandbox,
)
from mlgraph.backends.errors import DISPLAY_NAMES
from mlgraph.settings import AbacusSettings, DominoSettings, Settings, ZenMLSettings
from tests.conftest import Gateway, open_gateway

#: Short timeouts and budgets, so the slow cases end quickly.
TIMEOUT = 0.5
QUICK = {"timeout": TIMEOUT, "retry_backoff_seconds": 0.01, "retry_budget_seconds": 1.0, "breaker_failures": 0,
         "max_response_bytes": 8 * 2**20}


@dataclass(frozen=True)
class Platform:
    name: str
    prefix: str
    query: str
    #: The field of `query` that holds this platform's part.
    field: str


ZENML = Platform("zenml", "/api/v1", "{ zenml { pipelineRuns(first: 2) { nodes { name } } } }", "zenml")
DOMINO = Platform("domino", "/api/hardwaretiers", "{ domino { hardwareTiers { totalCount } } }", "domino")
ABACUS = Platform("abacus", "/api/v0", "{ abacus { pipelines { nodes { name } } } }", "abacus")
PLATFORMS = {p.name: p for p in (ZENML, DOMINO, ABACUS)}
BOTH = "{ zenml { pipelineRuns(first: 2) { nodes { name } } } domino { hardwareTiers { totalCount } } abacus { pipelines { nodes { name } } } }"


def settings(compiled: bool) -> Settings:
    return Settings(
        compiled_execution=compiled,
        zenml=ZenMLSettings(url=ZENML_SANDBOX_URL, **QUICK),
        domino=DominoSettings(url=DOMINO_SANDBOX_URL, api_key=DOMINO_SANDBOX_KEY, **QUICK),
        abacus=AbacusSettings(url=ABACUS_SANDBOX_URL, api_key=ABACUS_SANDBOX_KEY, **QUICK),
    )


@pytest.fixture(scope="module", params=[True, False], ids=["level-by-level", "generic"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[tuple[Sandbox, Gateway]]:
    box = build_sandbox(pipelines=1, runs_per_pipeline=2, steps_per_run=2, domino_jobs=14, settings=settings(request.param))
    for gateway in open_gateway(box):
        yield box, gateway


#: The fault each case sets, and the code it must give.
CASES: dict[str, tuple[dict[str, Any], str]] = {
    "slower than its timeout": ({"latency_ms": 1500}, "BACKEND_UNAVAILABLE"),
    "answering 500": ({"status": 500}, "BACKEND_UNAVAILABLE"),
    "answering 503 on every retry": ({"status": 503}, "BACKEND_UNAVAILABLE"),
    "429 with a Retry-After beyond the budget": ({"status": 429, "retry_after": 30}, "BACKEND_UNAVAILABLE"),
    "malformed JSON": ({"garbage": True}, "BAD_BACKEND_RESPONSE"),
    "a truncated body": ({"truncate": True}, "BAD_BACKEND_RESPONSE"),
    "the wrong content type": ({"content_type": "text/html"}, "BAD_BACKEND_RESPONSE"),
    "a 50 MB response": ({"size_bytes": 50 * 2**20}, "BAD_BACKEND_RESPONSE"),
}

SECRETS = (DOMINO_SANDBOX_KEY, ABACUS_SANDBOX_KEY)
ADDRESSES = ("zenml.sandbox", "domino.sandbox", "abacus.sandbox", "http://")


def assert_clean(text: str) -> None:
    for secret in (*SECRETS, *ADDRESSES, "Traceback"):
        assert secret not in text, secret


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("case", CASES)
def test_a_failing_backend_gives_a_coded_error_and_the_rest(
    sandbox: tuple[Sandbox, Gateway], platform: str, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    box, gateway = sandbox
    fault, code = CASES[case]
    target = PLATFORMS[platform]
    caplog.set_level(logging.DEBUG)
    box.faults.set(target.prefix, **fault)
    try:
        started = time.monotonic()
        answer = gateway(BOTH)
        elapsed = time.monotonic() - started
    finally:
        box.faults.clear()
    assert elapsed < 10, "no hang"
    part = answer.data[target.field]
    assert part is None or all(value is None for value in part.values())
    assert [(e["extensions"]["code"], e["extensions"].get("platform")) for e in answer.errors] == [(code, platform)]
    assert DISPLAY_NAMES[platform] in answer.errors[0]["message"]  # one name for a platform in every message
    for other in PLATFORMS.values():
        if other is not target:
            assert all(value is not None for value in answer.data[other.field].values()), other.name
    assert_clean(answer.raw.decode())
    assert_clean(caplog.text)
    after = gateway(BOTH)
    assert after.errors == [] and all(v is not None for p in PLATFORMS.values() for v in after.data[p.field].values())


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_backend_that_is_down(caplog: pytest.LogCaptureFixture) -> None:
    """No process listens: the connection is refused, over real sockets."""
    from fastapi.testclient import TestClient

    from mlgraph.app import create_app

    caplog.set_level(logging.DEBUG)
    url = f"http://127.0.0.1:{closed_port()}"
    app = create_app(Settings(zenml=ZenMLSettings(url=url, **QUICK)))
    with TestClient(app) as client:
        body = client.post("/graphql", json={"query": ZENML.query}).json()
        assert body["data"] == {"zenml": {"pipelineRuns": None}}
        assert [(e["extensions"]["code"], e["extensions"]["platform"]) for e in body["errors"]] == [
            ("BACKEND_UNAVAILABLE", "zenml")
        ]
        assert "127.0.0.1" not in str(body) and "127.0.0.1" not in caplog.text
        # The operator learns why (the start-up line says where); the client only that.
        assert "zenml is unreachable: connection refused" in caplog.text
        assert "refused" not in str(body)
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["platforms"] == {"zenml": "BACKEND_UNAVAILABLE"}
        assert ready.json()["causes"] == {"zenml": "connection refused"} and "127.0.0.1" not in ready.text
        assert client.get("/healthz").json() == {"status": "ok"}


def test_a_passing_429_is_retried_unseen(sandbox: tuple[Sandbox, Gateway]) -> None:
    box, gateway = sandbox
    box.faults.set(ABACUS.prefix, status=429, retry_after=0.05, times=1)
    try:
        answer = gateway(ABACUS.query)
    finally:
        box.faults.clear()
    assert answer.errors == [] and answer.data["abacus"]["pipelines"]
    assert [e["status"] for e in answer.ledger["entries"]] == [429, 200]


def test_an_open_circuit_answers_at_once_without_a_call() -> None:
    box = build_sandbox(settings=Settings(domino=DominoSettings(
        url=DOMINO_SANDBOX_URL, api_key=DOMINO_SANDBOX_KEY, retries=0, breaker_failures=2, breaker_cooldown_seconds=60
    )))
    for gateway in open_gateway(box):
        box.faults.set(DOMINO.prefix, status=500)
        for _ in range(2):
            assert gateway(DOMINO.query).codes() == ["BACKEND_UNAVAILABLE"]
        before = len(box.domino_emulator.state.calls)
        answer = gateway(BOTH)
        assert len(box.domino_emulator.state.calls) == before  # open: not asked at all
        assert [(e["extensions"]["code"], e["extensions"]["platform"]) for e in answer.errors] == [
            ("BACKEND_UNAVAILABLE", "domino")
        ]
        assert "circuit" in answer.errors[0]["message"]
        assert answer.data["zenml"] is not None and answer.data["abacus"] is not None
