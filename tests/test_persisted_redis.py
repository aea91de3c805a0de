"""The APQ store in a real Redis: namespaced keys and TTLs, two gateway
processes sharing registrations, and Redis failing under running gateways."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from mlgraph.demo import build_sandbox
from mlgraph.persisted.store import RedisStore
from mlgraph.settings import PersistedSettings, Settings
from tests.loopback import silent_port as hung
from tests.redis_server.harness import GatewayProcess, RedisServer, free_port

#: Not in queries/: only a registration can make its hash known.
DOCUMENT = "query SharedUsers { zenml { users(first: 2) { totalCount nodes { name email } } } }"
HASH = hashlib.sha256(DOCUMENT.encode()).hexdigest()
BY_HASH = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": HASH}}}
REGISTER = {"query": DOCUMENT, **BY_HASH}


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


def code_of(body: dict) -> str:
    return body["errors"][0]["extensions"]["code"]


def test_registrations_are_namespaced_keys_with_an_optional_ttl(redis_server: RedisServer) -> None:
    raw = redis.Redis.from_url(redis_server.url, decode_responses=True)

    async def scenario() -> None:
        expiring = RedisStore(redis_server.url, "mlgraph:apq:", ttl_seconds=60)
        lasting = RedisStore(redis_server.url, "other:", ttl_seconds=None)
        await expiring.put("abc", "query A { __typename }")
        await lasting.put("abc", "query B { __typename }")
        assert await expiring.get("abc") == "query A { __typename }"
        assert await lasting.get("abc") == "query B { __typename }"
        assert await expiring.get("missing") is None
        assert expiring.failures == lasting.failures == 0
        await expiring.aclose()
        await lasting.aclose()

    asyncio.run(scenario())
    assert raw.get("mlgraph:apq:abc") == "query A { __typename }"
    assert 0 < raw.ttl("mlgraph:apq:abc") <= 60
    assert raw.ttl("other:abc") == -1  # no expiry
    raw.close()


def test_two_gateways_share_registrations_and_survive_redis_going_away(tmp_path: Path) -> None:
    with RedisServer() as server:
        env = {"MLGRAPH_REDIS_URL": server.url, "MLGRAPH_PERSISTED__APQ_TTL_SECONDS": "300"}
        a, b = GatewayProcess(env, tmp_path / "a.log"), GatewayProcess(env, tmp_path / "b.log")
        a.start()
        b.start()
        try:
            a.wait_ready()
            b.wait_ready()
            with httpx.Client(timeout=30) as client:
                unknown = client.post(f"{b.url}/graphql", json=BY_HASH)
                assert unknown.status_code == 200 and code_of(unknown.json()) == "PERSISTED_QUERY_NOT_FOUND"
                registered = client.post(f"{a.url}/graphql", json=REGISTER)
                assert registered.status_code == 200
                assert registered.json()["data"]["zenml"]["users"]["totalCount"] == 3
                raw = redis.Redis.from_url(server.url, decode_responses=True)
                assert raw.get(f"mlgraph:apq:{HASH}") == DOCUMENT
                assert 0 < raw.ttl(f"mlgraph:apq:{HASH}") <= 300
                raw.close()
                posted = client.post(f"{b.url}/graphql", json=BY_HASH)
                fetched = client.get(f"{b.url}/graphql", params={"extensions": json.dumps(BY_HASH["extensions"])})
                assert posted.json() == fetched.json() == registered.json()

                server.stop()  # Redis goes away under both gateways
                started = time.monotonic()
                with_text = client.post(f"{a.url}/graphql", json=REGISTER)
                assert with_text.status_code == 200 and with_text.json() == registered.json()
                hash_only = client.post(f"{b.url}/graphql", json=BY_HASH)
                assert hash_only.status_code == 200 and code_of(hash_only.json()) == "PERSISTED_QUERY_NOT_FOUND"
                assert time.monotonic() - started < 5
        finally:
            a.stop()
            b.stop()
    for gateway in (a, b):
        assert "APQ store: Redis" in gateway.output()
        assert "Traceback" not in gateway.output()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers: a hung Redis."""
    with hung() as port:
        yield port


@pytest.mark.parametrize("kind", ["refused", "silent"])
def test_a_failing_redis_costs_apq_but_never_a_request(
    kind: str, silent_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port() if kind == "refused" else silent_port
    settings = Settings(redis_url=f"redis://127.0.0.1:{port}/0", persisted=PersistedSettings(redis_timeout=0.2))
    sandbox = build_sandbox(settings=settings)
    with caplog.at_level(logging.WARNING, logger="mlgraph.persisted"), TestClient(sandbox.app) as client:
        started = time.monotonic()
        registered = client.post("/graphql", json=REGISTER)
        assert registered.status_code == 200 and registered.json()["data"]["zenml"]["users"]["totalCount"] == 3
        hash_only = client.post("/graphql", json=BY_HASH)
        assert hash_only.status_code == 200 and code_of(hash_only.json()) == "PERSISTED_QUERY_NOT_FOUND"
        assert client.post("/graphql", json={"query": DOCUMENT}).json() == registered.json()
        assert time.monotonic() - started < 5
    store = sandbox.app.state.persisted.store
    assert isinstance(store, RedisStore) and store.failures == 2
    warnings = [r.getMessage() for r in caplog.records if r.name == "mlgraph.persisted"]
    assert len(warnings) == 1 and "APQ store: Redis SET failed" in warnings[0]  # then quiet for a while
