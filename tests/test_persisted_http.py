"""Persisted queries over HTTP: Apollo's APQ protocol, trusted documents, GET caching."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from mlgraph.demo import Sandbox, build_sandbox
from mlgraph.persisted import persisted_operations
from mlgraph.persisted.manifest import load_manifest
from mlgraph.persisted.store import ENTRY_OVERHEAD, MemoryStore, RedisStore
from mlgraph.settings import PersistedSettings, Settings, load_settings

QUERIES = Path(__file__).resolve().parents[1] / "queries"
MANIFEST = load_manifest(QUERIES)
USERS = "query TwoUsers { zenml { users(first: 2) { totalCount nodes { name } } } }"
NO_CACHE = "private, no-cache, must-revalidate"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def pq(query_hash: str, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": query_hash}}


class Client:
    """A gateway with some persisted settings, and the emulator calls it made."""

    def __init__(self, client: TestClient, sandbox: Sandbox) -> None:
        self.http = client
        self.sandbox = sandbox

    def calls(self) -> int:
        s = self.sandbox
        return len(s.zenml_emulator.state.calls) + len(s.domino_emulator.state.calls)

    def post(self, **body: Any) -> Any:
        return self.http.post("/graphql", json=body)

    def get(self, headers: dict[str, str] | None = None, **params: Any) -> Any:
        encoded = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
        return self.http.get("/graphql", params=encoded, headers=headers or {})


def gateway(**persisted: Any) -> Iterator[Client]:
    persisted.setdefault("manifest_dir", QUERIES)
    sandbox = build_sandbox(settings=Settings(persisted=PersistedSettings(**persisted)))
    with TestClient(sandbox.app) as client:
        yield Client(client, sandbox)


@pytest.fixture
def off() -> Iterator[Client]:
    yield from gateway()


@pytest.fixture
def enforce() -> Iterator[Client]:
    yield from gateway(mode="enforce")


def code_of(response: Any) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


# -- automatic persisted queries ---------------------------------------------


def test_unknown_hash_asks_for_the_document(off: Client) -> None:
    before = off.calls()
    response = off.post(extensions=pq(sha(USERS)))
    assert response.status_code == 200
    assert response.json() == {
        "errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]
    }
    assert response.headers["cache-control"] == NO_CACHE
    assert off.calls() == before


def test_register_then_run_by_hash_with_post_and_get(off: Client) -> None:
    registered = off.post(query=USERS, extensions=pq(sha(USERS)))
    assert registered.status_code == 200 and registered.json()["data"]["zenml"]["users"]["totalCount"] == 3
    by_post = off.post(extensions=pq(sha(USERS)))
    by_get = off.get(extensions=pq(sha(USERS)))
    assert by_post.json() == by_get.json() == registered.json()
    assert len(off.sandbox.app.state.persisted.store) == 1


def test_a_wrong_hash_is_refused_and_not_registered(off: Client) -> None:
    wrong = sha(USERS + " ")
    response = off.post(query=USERS, extensions=pq(wrong))
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"message": "provided sha does not match query", "extensions": {"code": "PERSISTED_QUERY_HASH_MISMATCH"}}
    ]
    assert code_of(off.post(extensions=pq(wrong))) == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    ("extensions", "message"),
    [
        (pq(sha(USERS), version=2), "Unsupported persisted query version"),
        ({"persistedQuery": {"version": 1}}, "`extensions.persistedQuery.sha256Hash` must be a non-empty string"),
        ({"persistedQuery": "abc"}, "`extensions.persistedQuery` must be an object"),
        ([1], "`extensions` must be an object"),
    ],
)
def test_malformed_persisted_query_extensions(off: Client, extensions: Any, message: str) -> None:
    response = off.post(query=USERS, extensions=extensions)
    assert response.status_code == 400
    assert response.json()["errors"] == [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]


def test_only_documents_that_ran_are_registered(off: Client) -> None:
    invalid = "query Broken { zenml { nope } }"
    response = off.post(query=invalid, extensions=pq(sha(invalid)))
    assert code_of(response) == "GRAPHQL_VALIDATION_FAILED"
    assert code_of(off.post(extensions=pq(sha(invalid)))) == "PERSISTED_QUERY_NOT_FOUND"


def test_manifest_operations_run_by_hash_without_registration(off: Client) -> None:
    operation = MANIFEST.by_name["DominoProjects"]
    response = off.post(extensions=pq(operation.id))
    assert response.status_code == 200 and response.json()["data"]["domino"]["projects"]["totalCount"] == 3
    assert len(off.sandbox.app.state.persisted.store) == 0


def test_document_id_of_graphql_over_http(off: Client) -> None:
    operation = MANIFEST.by_name["DominoProjects"]
    posted = off.post(documentId=f"sha256:{operation.id}")
    fetched = off.get(documentId=f"sha256:{operation.id}")
    assert posted.json() == fetched.json() and posted.json()["data"]["domino"]["projects"]["nodes"]
    refusals = [
        (off.post(documentId=f"sha256:{operation.id}", query=operation.body), "send `documentId` or `query`, not both"),
        (off.post(documentId=f"md5:{operation.id}"), "`documentId` prefix `md5` is not supported: use sha256:<hex>"),
        (off.post(documentId=f"sha256:{operation.id}", extensions=pq(sha(USERS))),
         "`documentId` and `extensions.persistedQuery` name different documents"),
    ]
    for response, message in refusals:
        assert response.status_code == 400
        assert response.json()["errors"] == [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]
    assert code_of(off.post(documentId=f"sha256:{sha(USERS)}")) == "PERSISTED_QUERY_NOT_FOUND"


def test_get_never_runs_a_persisted_mutation(off: Client) -> None:
    step = off.sandbox.zenml.steps[0]
    update = MANIFEST.by_name["UpdateStepRun"]
    variables = json.dumps({"step": step.id, "status": "FAILED"})
    before = off.calls()
    for params in ({"extensions": pq(update.id)}, {"documentId": f"sha256:{update.id}"}):
        response = off.get(variables=variables, **params)
        assert response.status_code == 405 and response.headers["allow"] == "POST"
    mutation = 'mutation Svc($id: ID!) { deleteService(id: $id) { name } }'
    refused = off.get(query=mutation, extensions=pq(sha(mutation)), variables=json.dumps({"id": "x"}))
    assert refused.status_code == 405
    assert off.calls() == before
    assert code_of(off.post(extensions=pq(sha(mutation)))) == "PERSISTED_QUERY_NOT_FOUND"  # 405 registers nothing


def test_apq_can_be_switched_off() -> None:
    for client in gateway(apq=False):
        for response in (client.post(extensions=pq(sha(USERS))), client.post(query=USERS, extensions=pq(sha(USERS)))):
            assert response.status_code == 200
            assert response.json()["errors"][0] == {
                "message": "PersistedQueryNotSupported", "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED"}
            }
        assert client.post(extensions=pq(MANIFEST.by_name["DominoProjects"].id)).json()["data"]


# -- GET caching ---------------------------------------------------------------


def test_get_answers_carry_an_etag_and_honour_if_none_match() -> None:
    for client in gateway(cache_max_age=60):
        operation = MANIFEST.by_name["DominoProjects"]
        first = client.get(extensions=pq(operation.id))
        assert first.status_code == 200
        assert first.headers["cache-control"] == "public, max-age=60"
        assert first.headers["vary"] == "Accept, X-Mlgraph-Debug"
        etag = first.headers["etag"]
        assert etag == f'"{hashlib.sha256(first.content).hexdigest()}"'
        before = client.calls()
        for tag in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            again = client.get(extensions=pq(operation.id), headers={"If-None-Match": tag})
            assert again.status_code == 304 and again.content == b""
            assert again.headers["etag"] == etag and again.headers["cache-control"] == "public, max-age=60"
        assert client.calls() > before  # the answer is recomputed; only the bytes are saved
        changed = client.get(extensions=pq(operation.id), headers={"If-None-Match": '"stale"'})
        assert changed.status_code == 200 and changed.content == first.content


def test_caching_defaults_to_revalidation_and_skips_errors_posts_and_debug(off: Client) -> None:
    fetched = off.get(query=USERS)
    assert fetched.headers["cache-control"] == "no-cache" and "etag" in fetched.headers
    failed = off.get(query='{ zenml { pipelineRun(id: "nope") { name } } }')
    assert failed.json()["errors"] and "etag" not in failed.headers and "cache-control" not in failed.headers
    invalid = off.get(query="{ nope }")
    assert "etag" not in invalid.headers
    assert "etag" not in off.post(query=USERS).headers
    debug = off.get(query=USERS, headers={"X-Mlgraph-Debug": "1"})
    assert "ledger" in debug.json()["extensions"] and "etag" not in debug.headers


# -- trusted documents -----------------------------------------------------------


def test_enforce_runs_manifest_operations_only(enforce: Client) -> None:
    operation = MANIFEST.by_name["DominoProjects"]
    assert enforce.post(extensions=pq(operation.id)).json()["data"]["domino"]["projects"]["nodes"]
    assert enforce.post(documentId=f"sha256:{operation.id}").json()["data"]
    assert enforce.post(query=operation.body, extensions=pq(operation.id)).json()["data"]
    reformatted = " ".join(operation.body.split())  # the same operation, formatted otherwise
    assert enforce.post(query=reformatted).json()["data"]
    before = enforce.calls()
    freeform = enforce.post(query=USERS)
    assert freeform.status_code == 403
    assert freeform.json()["errors"] == [{
        "message": "The operation body was not found in the persisted query safelist",
        "extensions": {"code": "QUERY_NOT_IN_SAFELIST"},
    }]
    unknown = enforce.post(extensions=pq(sha(USERS)))
    assert unknown.status_code == 404 and unknown.headers["cache-control"] == NO_CACHE
    assert unknown.json()["errors"] == [{
        "message": f"Persisted query '{sha(USERS)}' not found in the persisted query list",
        "extensions": {"code": "PERSISTED_QUERY_NOT_IN_LIST"},
    }]
    registering = enforce.post(query=USERS, extensions=pq(sha(USERS)))
    assert registering.status_code == 400 and code_of(registering) == "CANNOT_SEND_PQ_ID_AND_BODY"
    assert enforce.calls() == before
    assert len(enforce.sandbox.app.state.persisted.store) == 0


def test_enforce_lets_introspection_through(enforce: Client) -> None:
    answer = enforce.post(query="query IntrospectionQuery { __schema { queryType { name } } }").json()
    assert answer == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    assert enforce.http.get("/graphql", headers={"Accept": "text/html"}).status_code == 200


def test_require_id_refuses_every_freeform_document() -> None:
    for client in gateway(mode="enforce", require_id=True):
        operation = MANIFEST.by_name["DominoProjects"]
        response = client.post(query=operation.body)
        assert response.status_code == 400 and code_of(response) == "PERSISTED_QUERY_ID_REQUIRED"
        assert "must be sent by ID" in response.json()["errors"][0]["message"]
        assert client.post(extensions=pq(operation.id)).json()["data"]


def test_log_unknown_runs_everything_and_logs_each_unknown_once(caplog: pytest.LogCaptureFixture) -> None:
    for client in gateway(mode="log_unknown"):
        with caplog.at_level(logging.WARNING, logger="mlgraph.persisted"):
            for _ in range(2):
                assert client.post(query=USERS).json()["data"]
            assert client.post(query=USERS.replace("{ ", "{\n  ")).json()["data"]  # the same, reformatted
            assert client.post(query=MANIFEST.by_name["DominoProjects"].body).json()["data"]
            other = "query One { zenml { users(first: 1) { totalCount } } }"
            assert client.post(query=other, extensions=pq(sha(other))).json()["data"]
            assert client.post(extensions=pq(sha(other))).json()["data"]  # APQ still works
    logged = [r.getMessage() for r in caplog.records if r.name == "mlgraph.persisted"]
    assert len(logged) == 2
    assert "unknown operation" in logged[0] and "TwoUsers" in logged[0]
    assert "query One" in logged[1]


def test_mode_settings_are_checked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="require_id needs persisted.mode"):
        PersistedSettings(require_id=True)
    with pytest.raises(ValueError, match="needs operations"):
        build_sandbox(settings=Settings(persisted=PersistedSettings(mode="enforce", manifest_dir=tmp_path)))
    monkeypatch.setenv("MLGRAPH_PERSISTED__MODE", "log_unknown")
    monkeypatch.setenv("MLGRAPH_PERSISTED__APQ_TTL_SECONDS", "30")
    monkeypatch.setenv("MLGRAPH_REDIS_URL", "redis://:secret@127.0.0.1:1/2")
    settings = Settings()
    assert settings.persisted.mode == "log_unknown" and settings.persisted.apq_ttl_seconds == 30
    assert "secret" not in repr(settings)
    operations = persisted_operations(settings)
    assert isinstance(operations.store, RedisStore) and operations.store.prefix == "mlgraph:apq:"
    monkeypatch.setenv("MLGRAPH_REDIS_URL", "http://not-redis")
    with pytest.raises(ValueError):
        persisted_operations(Settings())
    monkeypatch.delenv("MLGRAPH_REDIS_URL")
    monkeypatch.delenv("MLGRAPH_PERSISTED__MODE")
    config = tmp_path / "mlgraph.toml"
    config.write_text('redis_url = "redis://127.0.0.1:6379/1"\n[persisted]\nmode = "enforce"\ncache_max_age = 30\n')
    from_file = load_settings(config)
    assert (from_file.persisted.mode, from_file.persisted.cache_max_age) == ("enforce", 30)
    assert from_file.persisted.apq_ttl_seconds == 30  # the environment still applies
    assert from_file.redis_url is not None and from_file.redis_url.get_secret_value().endswith("/1")


# -- the in-memory store ---------------------------------------------------------------


def test_memory_store_is_an_lru_bounded_in_bytes() -> None:
    asyncio.run(_lru())


async def _lru() -> None:
    entry = ENTRY_OVERHEAD
    store = MemoryStore(max_bytes=2 * entry + 10)
    await store.put("a", "aaaa")
    await store.put("b", "bbbb")
    assert await store.get("a") == "aaaa"  # a is now the most recent
    await store.put("c", "cccc")
    assert (await store.get("b"), await store.get("a"), await store.get("c")) == (None, "aaaa", "cccc")
    assert store.size == 2 * entry + 8 and len(store) == 2
    await store.put("big", "x" * (entry + 11))
    assert await store.get("big") is None and len(store) == 2
    await store.put("é", "éé")  # bytes, not characters
    assert store.size == 2 * entry + 8 and await store.get("a") is None


def test_many_tiny_registrations_are_bounded_by_their_entries() -> None:
    async def scenario() -> None:
        store = MemoryStore(max_bytes=100 * ENTRY_OVERHEAD)
        for n in range(10_000):
            await store.put(f"{n:064x}", f"{{a{n}:__typename}}")
        assert len(store) < 100

    asyncio.run(scenario())


def test_memory_store_forgets_after_its_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("mlgraph.persisted.store.time.monotonic", lambda: now[0])
    store = MemoryStore(max_bytes=100 + ENTRY_OVERHEAD, ttl_seconds=30)

    async def scenario() -> None:
        await store.put("a", "doc")
        now[0] += 29
        assert await store.get("a") == "doc"
        now[0] += 2
        assert await store.get("a") is None and store.size == 0

    asyncio.run(scenario())


def test_a_malformed_redis_url_says_so_without_quoting_it() -> None:
    with pytest.raises(ValueError) as raised:
        RedisStore("redis://:s3cret#word@redis.internal:6379/0", "mlgraph:apq:")
    assert "s3cret" not in str(raised.value) and "redis.internal" not in str(raised.value)
