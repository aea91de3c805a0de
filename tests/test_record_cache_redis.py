"""The record cache in a real Redis: shared by replicas, evicted by a write
through any of them, and never an error when Redis goes away (memory serves,
once logged, counted; an eviction Redis missed drops the shared entries)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from mlgraph.demo import ABACUS_SANDBOX_KEY, DOMINO_SANDBOX_KEY, Sandbox, build_sandbox
from mlgraph.graph.ids import global_id
from mlgraph.settings import CacheSettings, Settings
from tests.conftest import Gateway
from tests.redis_server.harness import RedisServer
from tests.test_persisted_redis import silent_port  # noqa: F401  (a fixture)
from tests.test_record_cache import JOB, RUN_QUERY, TAG, replica, run_id

PREFIX = "mlgraph:records:"


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


def settings_for(url: str, **cache: object) -> Settings:
    return Settings(redis_url=url, cache=CacheSettings(enabled=True, **cache))  # type: ignore[arg-type]


def finished_job(sandbox: Sandbox) -> str:
    data = sandbox.domino
    return next(j.id for j in data.jobs if j.is_completed and data.can_access(j.project_id))


def test_replicas_share_entries_and_a_write_through_one_evicts_for_all(redis_server: RedisServer) -> None:
    sandbox = build_sandbox(pipelines=1, runs_per_pipeline=3, domino_jobs=12)
    settings = settings_for(redis_server.url, redis_prefix=PREFIX)
    job = {"id": finished_job(sandbox)}
    with TestClient(replica(sandbox, settings)) as one, TestClient(replica(sandbox, settings)) as two:
        a, b = Gateway(one, sandbox), Gateway(two, sandbox)
        variables = {"id": run_id(sandbox, "completed")}
        cold = a(RUN_QUERY, variables)
        assert cold.errors == [] and cold.calls >= 2
        warm = b(RUN_QUERY, variables)
        assert warm.calls == 0 and warm.data == cold.data and warm.ledger["cached"] == cold.calls
        before = b(JOB, job)
        assert a(JOB, job).calls == 0
        a(TAG, {"job": job["id"], "tag": "shared"})
        after = b(JOB, job)  # the mutation's own fresh read, kept by the other replica
        assert after.calls == 0 and "shared" in [t["name"] for t in after.data["domino"]["job"]["tags"]]
        assert len(after.data["domino"]["job"]["tags"]) == len(before.data["domino"]["job"]["tags"]) + 1
    raw = redis.Redis.from_url(redis_server.url)
    keys = [key.decode() for key in raw.scan_iter(f"{PREFIX}*")]
    entries = [key for key in keys if key.startswith(f"{PREFIX}0:zenml:") and ":finished:" not in key]
    assert entries and all(0 < raw.ttl(key) <= CacheSettings().terminal_ttl_seconds for key in entries)
    for secret in (DOMINO_SANDBOX_KEY, ABACUS_SANDBOX_KEY):
        assert not any(secret in key for key in keys)
    raw.close()


def test_redis_going_away_serves_from_memory_without_an_error(caplog: pytest.LogCaptureFixture) -> None:
    sandbox = build_sandbox(pipelines=1, runs_per_pipeline=3)
    variables = {"id": run_id(sandbox, "completed")}
    with RedisServer() as server, caplog.at_level(logging.WARNING, logger="mlgraph.cache"):
        settings = settings_for(server.url, redis_timeout=0.2)
        with TestClient(replica(sandbox, settings)) as client:
            ask = Gateway(client, sandbox)
            cold = ask(RUN_QUERY, variables)
            assert ask(RUN_QUERY, variables).calls == 0
            server.stop()
            started = time.monotonic()
            away = [ask(RUN_QUERY, variables) for _ in range(3)]
            assert time.monotonic() - started < 5
            metrics = client.get("/metrics").text
    for answer in away:
        assert answer.errors == [] and answer.data == cold.data
    assert [answer.calls for answer in away] == [cold.calls, 0, 0]  # memory: cold once, then warm
    failures = re.search(r"^mlgraph_record_cache_redis_failures_total (\S+)$", metrics, re.M)
    assert failures is not None and float(failures.group(1)) >= 1  # the reads in flight when it went
    warnings = [r.getMessage() for r in caplog.records if r.name == "mlgraph.cache"]
    assert len(warnings) == 1 and warnings[0].startswith("record cache: Redis GET failed")


def test_an_eviction_redis_missed_drops_every_shared_entry_when_it_is_back(redis_server: RedisServer) -> None:
    sandbox = build_sandbox(domino_jobs=12)
    settings = settings_for(redis_server.url, redis_prefix="epoch-test:", redis_timeout=0.1, redis_retry_seconds=0.3)
    job = finished_job(sandbox)
    raw = redis.Redis.from_url(redis_server.url)
    with TestClient(replica(sandbox, settings)) as client:
        ask = Gateway(client, sandbox)
        ask(JOB, {"id": job})
        assert ask(JOB, {"id": job}).calls == 0
        raw.execute_command("CLIENT", "PAUSE", "1000", "ALL")  # Redis answers nobody for a second
        paused = time.monotonic()
        tagged = ask(TAG, {"job": global_id("DominoJob", job), "tag": "while-away"})
        assert tagged.errors == []
        time.sleep(max(0.0, paused + 1.5 - time.monotonic()))
        back = ask(JOB, {"id": job})
        assert back.calls == 1 and "while-away" in [t["name"] for t in back.data["domino"]["job"]["tags"]]
        assert ask(JOB, {"id": job}).calls == 0  # kept again, in the new epoch
    assert raw.get("epoch-test:epoch") == b"1"
    raw.close()


def test_a_hung_redis_costs_one_timeout_then_memory_serves(silent_port: int, caplog: pytest.LogCaptureFixture) -> None:
    sandbox = build_sandbox(pipelines=1, runs_per_pipeline=3)
    variables = {"id": run_id(sandbox, "completed")}
    settings = settings_for(f"redis://127.0.0.1:{silent_port}/0", redis_timeout=0.2)
    with caplog.at_level(logging.WARNING, logger="mlgraph.cache"), TestClient(replica(sandbox, settings)) as client:
        ask = Gateway(client, sandbox)
        started = time.monotonic()
        answers = [ask(RUN_QUERY, variables) for _ in range(3)]
        assert time.monotonic() - started < 2
    assert all(answer.errors == [] and answer.data == answers[0].data for answer in answers)
    assert [answer.calls > 0 for answer in answers] == [True, False, False]
    assert len([r for r in caplog.records if r.name == "mlgraph.cache"]) == 1
