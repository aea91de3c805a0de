"""The record cache in memory: what cannot change is read once, across requests.

Warm canonical queries cost no call for finished records while running ones
are read every time; two callers forwarding different credentials never meet
on an entry; a write through the gateway evicts what it changed; entries
expire by class (injected clock) and leave by LRU within the byte bound; the
cache can be off; /metrics and the debug ledger say what came from it.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mlgraph.app import create_app
from mlgraph.backends.abacus import AbacusClient, AbacusConnection
from mlgraph.backends.cache import CATALOGUE, TERMINAL, Keep, RecordCache
from mlgraph.backends.cache.memory import MemoryRecords
from mlgraph.backends.domino import DominoClient, DominoConnection
from mlgraph.backends.ledger import Ledger
from mlgraph.backends.zenml import ZenMLClient, ZenMLConnection
from mlgraph import demo
from mlgraph.demo import Sandbox, build_sandbox
from mlgraph.graph.ids import global_id
from mlgraph.sandbox.domino import create_domino_emulator
from mlgraph.sandbox.domino_data import DominoData
from mlgraph.settings import (
    AbacusSettings,
    AuthSettings,
    CacheSettings,
    DominoSettings,
    ForwardSettings,
    Settings,
    ZenMLSettings,
)
from tests.conftest import Gateway, GraphQLAnswer
from tests.test_cache_headers import TENANT_A, TENANT_B, PerKeyDomino

QUERIES = Path(__file__).resolve().parents[1] / "benchmarks" / "queries"
RUN_QUERY = (QUERIES / "zenml_run.graphql").read_text()
ABACUS_QUERY = (QUERIES / "abacus_version.graphql").read_text()
#: Lists that can grow are kept for a few seconds (``listing_ttl_seconds``);
#: the tests of what cannot change keep none, test_lists_* below test those.
ON = CacheSettings(enabled=True, listing_ttl_seconds=0)
JOB = """query($id: ID!) { domino { job(id: $id) { nativeId status tags { name } } } }"""
TAG = """mutation($job: ID!, $tag: String!) { tagDominoJob(job: $job, tag: $tag) { tags { name } } }"""
STEPS = """query($id: ID!) { zenml { pipelineRun(id: $id) { steps(first: 100) { nodes {
  ... on ZenMLStepRun { nativeId nativeStatus } } } } } }"""
#: Abacus.AI describes whose objects change (catalogues): the rest of the
#: canonical query reads what cannot.
ABACUS_CATALOGUES = ("describeDeployment", "describeBatchPrediction")


class Clock:
    """Seconds that pass only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cached(**kwargs: object) -> Sandbox:
    return build_sandbox(settings=Settings(cache=ON), **kwargs)  # type: ignore[arg-type]


def gateway_over(sandbox: Sandbox, app: FastAPI) -> Iterator[Gateway]:
    with TestClient(app) as client:
        yield Gateway(client, sandbox)


def replica(sandbox: Sandbox, settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """Another gateway over the sandbox's emulators (a replica over the same
    platforms), with ``settings`` (the cache on) and a record cache reading ``clock``."""
    settings = (settings or Settings(cache=ON)).model_copy(update={
        "zenml": ZenMLSettings(url=demo.ZENML_SANDBOX_URL),
        "domino": DominoSettings(url=demo.DOMINO_SANDBOX_URL, api_key=demo.DOMINO_SANDBOX_KEY),
        "abacus": AbacusSettings(url=demo.ABACUS_SANDBOX_URL, api_key=demo.ABACUS_SANDBOX_KEY),
    })
    transports = {
        "zenml": httpx.ASGITransport(app=sandbox.zenml_emulator),
        "domino": httpx.ASGITransport(app=sandbox.domino_emulator),
        "abacus": httpx.ASGITransport(app=sandbox.abacus_emulator),
    }
    records = RecordCache.from_settings(settings, clock=clock or time.monotonic)
    return create_app(settings, transports, records=records)


def run_id(sandbox: Sandbox, status: str) -> str:
    return global_id("ZenMLPipelineRun", next(run.id for run in sandbox.zenml.runs if run.status == status))


def complete_abacus_version(sandbox: Sandbox) -> str:
    version = next(v for v in reversed(sandbox.abacus.pipeline_versions) if v.status == "COMPLETE")
    return global_id("AbacusPipelineVersion", version.id)


def methods(answer: GraphQLAnswer) -> list[str]:
    return [entry["path"].split("?")[0].rsplit("/", 1)[-1] for entry in answer.ledger["entries"]]


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return cached()


@pytest.fixture(scope="module")
def gateway(sandbox: Sandbox) -> Iterator[Gateway]:
    with TestClient(sandbox.app) as client:
        yield Gateway(client, sandbox)


# ---------------------------------------------------------------- what is kept


@pytest.mark.parametrize("compiled", [True, False], ids=["level-by-level", "generic"])
def test_a_finished_run_costs_no_call_when_warm_and_a_running_one_is_read_every_time(compiled: bool) -> None:
    sandbox = build_sandbox(settings=Settings(cache=ON, compiled_execution=compiled))
    with TestClient(sandbox.app) as client:
        ask = Gateway(client, sandbox)
        done = {"id": run_id(sandbox, "completed")}
        cold = ask(RUN_QUERY, done)
        assert cold.errors == [] and cold.calls >= 2
        warm = ask(RUN_QUERY, done)
        assert warm.data == cold.data
        assert warm.calls == 0 and warm.ledger["roundTrips"] == 0
        running = {"id": run_id(sandbox, "running")}
        first = ask(RUN_QUERY, running)
        for _ in range(2):
            again = ask(RUN_QUERY, running)
            assert again.data == first.data
            paths = [entry["path"] for entry in again.ledger["entries"]]
            assert any("/steps" in path for path in paths) and any(path.startswith("/api/v1/runs?") for path in paths)


def test_the_abacus_canonical_query_warm_reads_nothing_and_only_catalogues_expire() -> None:
    sandbox, clock = build_sandbox(), Clock()
    for ask in gateway_over(sandbox, replica(sandbox, clock=clock)):
        variables = {"id": complete_abacus_version(sandbox)}
        cold = ask(ABACUS_QUERY, variables)
        assert cold.errors == [] and "describePipelineVersion" in methods(cold)
        warm = ask(ABACUS_QUERY, variables)
        assert warm.calls == 0 and warm.data == cold.data
        clock.now += ON.catalogue_ttl_seconds + 1
        later = ask(ABACUS_QUERY, variables)
        assert later.data == cold.data
        assert later.calls and set(methods(later)) <= set(ABACUS_CATALOGUES)


def test_a_running_abacus_version_is_read_every_time(gateway: Gateway) -> None:
    version = next(v for v in gateway.sandbox.abacus.pipeline_versions if v.status == "RUNNING")
    variables = {"id": global_id("AbacusPipelineVersion", version.id)}
    gateway(ABACUS_QUERY, variables)
    again = gateway(ABACUS_QUERY, variables)
    assert "describePipelineVersion" in methods(again)


def test_a_finished_domino_job_is_kept_and_a_running_one_is_not(gateway: Gateway) -> None:
    data = gateway.sandbox.domino
    visible = [job for job in data.jobs if data.can_access(job.project_id)]
    for job, kept in (
        (next(j for j in visible if j.is_completed), True),
        (next(j for j in visible if not j.is_completed), False),
    ):
        gateway(JOB, {"id": job.id})
        again = gateway(JOB, {"id": job.id})
        assert (again.calls == 0) is kept, again.ledger


# ---------------------------------------------------------------- whose entries


def test_two_callers_forwarding_different_credentials_never_share_entries() -> None:
    data = DominoData.generate(projects=1, jobs=4)
    other = DominoData(**{**data.__dict__, "self_user_id": data.users[1].id})
    transport = PerKeyDomino({
        TENANT_A: httpx.ASGITransport(app=create_domino_emulator(data, api_key=TENANT_A)),
        TENANT_B: httpx.ASGITransport(app=create_domino_emulator(other, api_key=TENANT_B)),
    })
    settings = Settings(
        cache=ON,
        domino=DominoSettings(url=demo.DOMINO_SANDBOX_URL, api_key="gateway-domino-key"),
        auth=AuthSettings(forward=ForwardSettings(domino="X-Domino-Api-Key")),
    )
    records = RecordCache.from_settings(settings)
    assert records is not None
    app = create_app(settings, transports={"domino": transport}, records=records)
    job = next(j for j in data.jobs if j.is_completed)
    query = "query($id: ID!) { domino { me { name } job(id: $id) { nativeId status } } }"
    expected = {TENANT_A: data.users[0].user_name, TENANT_B: data.users[1].user_name}

    async def ask(client: httpx.AsyncClient, key: str) -> tuple[str, dict]:
        response = await client.post(
            "/graphql", json={"query": query, "variables": {"id": job.id}},
            headers={"X-Domino-Api-Key": key, "X-Mlgraph-Debug": "1"},
        )
        return key, response.json()

    async def scenario() -> list[tuple[str, dict]]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
            rounds = []
            for _ in range(3):
                rounds += await asyncio.gather(*(ask(client, key) for key in (TENANT_A, TENANT_B) * 4))
            return rounds

    answers = asyncio.run(scenario())
    for key, body in answers:
        assert "errors" not in body, body
        assert body["data"]["domino"]["me"]["name"] == expected[key]
    assert sum(body["extensions"]["ledger"]["cached"] for _, body in answers[-8:]) == 16  # both warm, each on its own
    store = records.store
    assert isinstance(store, MemoryRecords)
    keys = list(store._items)
    scopes = {key.split(":")[2] for key in keys if ":finished:" not in key}
    assert len(scopes) == 2
    for secret in (TENANT_A, TENANT_B, "gateway-domino-key"):
        assert not any(secret in key for key in keys)


def test_a_list_one_caller_read_is_never_answered_to_another() -> None:
    """Lists are kept too (``listing_ttl_seconds``): the second tenant's first
    read of the same list goes to Domino with its own key, then is its own hit."""
    data = DominoData.generate(projects=1, jobs=4)
    transport = PerKeyDomino({
        key: httpx.ASGITransport(app=create_domino_emulator(data, api_key=key)) for key in (TENANT_A, TENANT_B)
    })
    settings = Settings(
        cache=CacheSettings(enabled=True, listing_ttl_seconds=60),
        domino=DominoSettings(url=demo.DOMINO_SANDBOX_URL, api_key="gateway-domino-key"),
        auth=AuthSettings(forward=ForwardSettings(domino="X-Domino-Api-Key")),
    )
    app = create_app(settings, transports={"domino": transport})
    project = data.projects[0].id
    query = "query($p: ID!) { domino { jobs(project: $p, first: 10) { totalCount nodes { nativeId } } } }"
    with TestClient(app) as client:
        def ask(key: str) -> dict:
            response = client.post("/graphql", json={"query": query, "variables": {"p": project}},
                                   headers={"X-Domino-Api-Key": key, "X-Mlgraph-Debug": "1"})
            return response.json()

        first_a, first_b, again_a, again_b = ask(TENANT_A), ask(TENANT_B), ask(TENANT_A), ask(TENANT_B)
    for body in (first_a, first_b, again_a, again_b):
        assert "errors" not in body and body["data"] == first_a["data"]
    assert first_a["extensions"]["ledger"]["calls"] == first_b["extensions"]["ledger"]["calls"] == 1
    assert again_a["extensions"]["ledger"]["calls"] == again_b["extensions"]["ledger"]["calls"] == 0


# ---------------------------------------------------------------- writes evict


def test_tagging_a_finished_domino_job_evicts_it() -> None:
    sandbox = cached(domino_projects=3, domino_jobs=20)
    data = sandbox.domino
    job = next(j for j in data.jobs if j.is_completed and data.can_access(j.project_id))
    with TestClient(sandbox.app) as client:
        ask = Gateway(client, sandbox)
        before = ask(JOB, {"id": job.id})
        assert ask(JOB, {"id": job.id}).calls == 0
        tagged = ask(TAG, {"job": job.id, "tag": "reviewed"})
        assert tagged.errors == [] and "reviewed" in [t["name"] for t in tagged.data["tagDominoJob"]["tags"]]
        after = ask(JOB, {"id": job.id})
        names = [t["name"] for t in after.data["domino"]["job"]["tags"]]
        assert sorted(names) == sorted([t["name"] for t in before.data["domino"]["job"]["tags"]] + ["reviewed"])
        assert after.calls == 0  # the mutation's own fresh read was kept


def test_updating_a_step_run_evicts_the_step_and_its_run() -> None:
    sandbox = cached(pipelines=1, runs_per_pipeline=3)
    run = next(run for run in sandbox.zenml.runs if run.status == "completed")
    step = next(s for s in sandbox.zenml.steps if s.pipeline_run_id == run.id and s.status == "completed")
    variables = {"id": global_id("ZenMLPipelineRun", run.id)}
    with TestClient(sandbox.app) as client:
        ask = Gateway(client, sandbox)
        status = ask("query($id: ID!) { zenml { pipelineRun(id: $id) { status } } }", variables)
        assert status.data["zenml"]["pipelineRun"]["status"] == "SUCCEEDED"
        assert ask(STEPS, variables).calls == 1  # the run's mark: its steps are final
        assert ask(STEPS, variables).calls == 0
        changed = ask('mutation($id: ID!) { updateStepRun(id: $id, input: {status: FAILED}) { nativeStatus } }',
                      {"id": global_id("ZenMLStepRun", step.id)})
        assert changed.errors == [] and changed.data["updateStepRun"]["nativeStatus"] == "failed"
        for _ in range(2):  # the run, maybe changed with its step, is no longer known finished
            after = ask(STEPS, variables)
            nodes = after.data["zenml"]["pipelineRun"]["steps"]["nodes"]
            assert {node["nativeId"]: node["nativeStatus"] for node in nodes}[step.id] == "failed"
            assert after.calls == 1


def test_a_steps_page_is_kept_only_once_its_run_is_known_finished() -> None:
    sandbox = cached(pipelines=1, runs_per_pipeline=3)
    variables = {"id": run_id(sandbox, "completed")}
    with TestClient(sandbox.app) as client:
        ask = Gateway(client, sandbox)
        assert [ask(STEPS, variables).calls for _ in range(2)] == [1, 1]
        ask(RUN_QUERY, variables)
        assert [ask(STEPS, variables).calls for _ in range(2)] == [1, 0]


# ---------------------------------------------------------------- lifetimes and bounds


def test_entries_expire_by_class() -> None:
    sandbox, clock = build_sandbox(pipelines=1, runs_per_pipeline=3), Clock()
    run = next(run.id for run in sandbox.zenml.runs if run.status == "completed")
    variables = {"id": global_id("ZenMLPipelineRun", run)}
    for ask in gateway_over(sandbox, replica(sandbox, clock=clock)):
        ask(RUN_QUERY, variables)
        assert ask(RUN_QUERY, variables).calls == 0
        clock.now += ON.catalogue_ttl_seconds + 1
        catalogue = ask(RUN_QUERY, variables)
        assert catalogue.calls == 1 and catalogue.ledger["entries"][0]["path"].startswith("/api/v1/users")
        clock.now += ON.terminal_ttl_seconds
        expired = ask(RUN_QUERY, variables)
        paths = sorted(entry["path"].split("?")[0] for entry in expired.ledger["entries"])
        assert paths[:2] == ["/api/v1/runs", f"/api/v1/runs/{run}/steps"] and len(paths) == 3
        assert expired.data == catalogue.data


def test_the_byte_bound_evicts_the_least_recently_used() -> None:
    clock = Clock()

    def answer(body: bytes) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/json"}, content=body)

    async def scenario() -> None:
        probe = RecordCache.from_settings(Settings(cache=ON), clock=clock)
        assert probe is not None
        view = probe.view("zenml", "http://zenml", "key")
        await view.keep("k", await view.lookup("k"), answer(b"x" * 1000), Keep(TERMINAL, ("a",)))
        size = probe.store.size  # type: ignore[attr-defined]
        bounded = Settings(cache=CacheSettings(enabled=True, memory_bytes=3 * size))
        cache = RecordCache.from_settings(bounded, clock=clock)
        assert cache is not None
        view = cache.view("zenml", "http://zenml", "key")
        for key in ("k", "l", "m"):
            await view.keep(key, await view.lookup(key), answer(b"x" * 1000), Keep(CATALOGUE, ("a",)))
        assert (await view.lookup("k")).entry is not None  # now the most recently used
        await view.keep("n", await view.lookup("n"), answer(b"x" * 1000), Keep(CATALOGUE))
        found = {key: (await view.lookup(key)).entry is not None for key in "klmn"}
        assert found == {"k": True, "l": False, "m": True, "n": True}
        assert cache.store.size <= 3 * size  # type: ignore[attr-defined]
        await view.keep("big", await view.lookup("big"), answer(b"x" * 4 * size), Keep(CATALOGUE))
        assert (await view.lookup("big")).entry is None and (await view.lookup("k")).entry is not None

    asyncio.run(scenario())


def test_the_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLGRAPH_CACHE__ENABLED", raising=False)
    assert Settings().cache.enabled is True  # on unless switched off (tests/conftest.py does, for the suite)
    monkeypatch.setenv("MLGRAPH_CACHE__ENABLED", "false")
    assert Settings().cache.enabled is False
    monkeypatch.setenv("MLGRAPH_CACHE__ENABLED", "true")
    monkeypatch.setenv("MLGRAPH_CACHE__TERMINAL_TTL_SECONDS", "120")
    monkeypatch.setenv("MLGRAPH_CACHE__CATALOGUE_TTL_SECONDS", "0")
    config = Settings().cache
    assert (config.enabled, config.terminal_ttl_seconds, config.catalogue_ttl_seconds) == (True, 120, 0)


def test_off_means_every_read_reaches_the_platform() -> None:
    sandbox = build_sandbox(pipelines=1, runs_per_pipeline=3)
    assert sandbox.app.state.connections.records is None
    with TestClient(sandbox.app) as client:
        ask = Gateway(client, sandbox)
        variables = {"id": run_id(sandbox, "completed")}
        cold = ask(RUN_QUERY, variables)
        again = ask(RUN_QUERY, variables)
        assert again.calls == cold.calls >= 2 and again.ledger["cached"] == 0


# ---------------------------------------------------------------- what it reports


def test_the_ledger_lists_cached_reads_apart_from_calls(gateway: Gateway) -> None:
    variables = {"id": run_id(gateway.sandbox, "completed")}
    cold = gateway(RUN_QUERY, variables)
    warm = gateway(RUN_QUERY, variables)
    assert warm.calls == 0 and warm.ledger["entries"] == [] and warm.ledger["bytes"] == 0
    assert warm.ledger["cached"] == len(warm.ledger["cachedEntries"]) == cold.calls
    assert sorted(entry["path"] for entry in warm.ledger["cachedEntries"]) == sorted(
        entry["path"] for entry in cold.ledger["entries"]
    )
    for entry in warm.ledger["cachedEntries"]:
        assert entry["cached"] is True and entry["platform"] == "zenml" and entry["kind"] in (TERMINAL, CATALOGUE)


def test_metrics_count_hits_and_misses_by_platform_and_kind() -> None:
    sandbox = cached(pipelines=1, runs_per_pipeline=3)
    with TestClient(sandbox.app) as client:
        ask = Gateway(client, sandbox)
        for status in ("completed", "completed", "running", "running"):
            ask(RUN_QUERY, {"id": run_id(sandbox, status)})
        text = client.get("/metrics").text

    def count(name: str, kind: str) -> float:
        found = re.search(rf'^mlgraph_record_cache_{name}_total\{{kind="{kind}",platform="zenml"\}} (\S+)$', text, re.M)
        return float(found.group(1)) if found else 0.0

    assert count("misses", TERMINAL) == 2  # the finished run and its steps, once
    assert count("hits", TERMINAL) == 2  # ... then from the cache
    assert count("misses", "live") == 4  # the running run and its steps, twice
    assert count("misses", CATALOGUE) >= 1 and count("hits", CATALOGUE) >= 2  # users, once a distinct list
    assert "mlgraph_record_cache_redis_failures_total 0.0" in text


# ---------------------------------------------------------------- the classifiers


def _zenml_record(record_id: str, status: str, run: str | None = None) -> dict:
    return {"id": record_id, "name": record_id, "body": {"status": status, "pipeline_run_id": run}, "metadata": None}


def _page(*items: dict) -> bytes:
    page = {"index": 1, "max_size": 20, "total_pages": 1, "total": len(items), "items": list(items)}
    return json.dumps(page).encode()


def _get(url: str) -> httpx.Request:
    return httpx.Request("GET", url)


def test_zenml_keeps_finished_runs_and_steps_catalogues_and_nothing_that_can_grow() -> None:
    client = ZenMLClient(ZenMLConnection("http://zenml", timeout=1), Ledger())
    run, step = "r1", "s1"
    done = json.dumps(_zenml_record(run, "completed")).encode()
    assert client.cache_class(_get(f"http://zenml/api/v1/runs/{run}?hydrate=true"), done) == Keep(
        TERMINAL, (run,), marks=(run,)
    )
    busy = json.dumps(_zenml_record(run, "running")).encode()
    assert client.cache_class(_get(f"http://zenml/api/v1/runs/{run}"), busy) is None
    steps = _page(_zenml_record(step, "completed", run), _zenml_record("s2", "cached", run))
    assert client.cache_class(_get(f"http://zenml/api/v1/runs/{run}/steps?page=1&size=20"), steps) == Keep(
        TERMINAL, (step, "s2"), (run,), after=run
    )
    oneof = httpx.Request("GET", "http://zenml/api/v1/steps", params={"size": 1, "id": f'oneof:["{step}"]'})
    assert client.cache_class(oneof, _page(_zenml_record(step, "completed", run))) == Keep(TERMINAL, (step,), (run,))
    listed = _page(_zenml_record(run, "failed"))
    assert client.cache_class(_get("http://zenml/api/v1/runs?page=1&size=20"), listed) is None
    assert client.cache_class(_get("http://zenml/api/v1/users?page=1"), _page()) == Keep(CATALOGUE)
    assert client.cache_class(_get("http://zenml/api/v1/services/x"), b"{}") is None
    update = httpx.Request("PUT", f"http://zenml/api/v1/steps/{step}", json={"status": "failed"})
    assert client.cache_evicts(update, json.dumps(_zenml_record(step, "failed", run)).encode()) == [step, run]
    assert client.cache_evicts(update, None) == [step]


def test_domino_and_abacus_keep_what_has_finished_only() -> None:
    domino = DominoClient(DominoConnection("http://domino", timeout=1, api_key="k"), Ledger())
    job = "0123456789abcdef01234567"

    def job_answer(status: str, completed: bool) -> bytes:
        record = {"id": job, "status": {"executionStatus": status, "isCompleted": completed}}
        return json.dumps({"job": record}).encode()

    path = f"http://domino/api/jobs/beta/jobs/{job}"
    assert domino.cache_class(_get(path), job_answer("Succeeded", True)) == Keep(TERMINAL, (job,), marks=(job,))
    assert domino.cache_class(_get(path), job_answer("Running", False)) is None
    logs = json.dumps({"logs": {"isComplete": False}}).encode()
    assert domino.cache_class(_get(f"{path}/logs"), logs) is None
    assert domino.cache_class(_get("http://domino/api/jobs/beta/jobs?projectId=p"), b'{"jobs": []}') is None
    assert domino.cache_class(_get("http://domino/api/hardwaretiers/v1/hardwaretiers"), b"{}") == Keep(CATALOGUE)
    tag = httpx.Request("POST", f"http://domino/api/jobs/v1/jobs/{job}/tags", json={"tagName": "x"})
    assert domino.cache_evicts(tag, None) == [job]

    abacus = AbacusClient(AbacusConnection("http://abacus", timeout=1, api_key="k"), Ledger())

    def result(value: object) -> bytes:
        return json.dumps({"success": True, "result": value}).encode()

    version = "http://abacus/api/v0/describePipelineVersion?pipelineVersion=v1"
    finished = {"status": "COMPLETE", "stepVersions": [{"pipelineStepVersion": "sv1", "status": "SKIPPED"}]}
    assert abacus.cache_class(_get(version), result(finished)) == Keep(TERMINAL, ("v1", "sv1"), marks=("v1",))
    running = {"status": "COMPLETE", "stepVersions": [{"pipelineStepVersion": "sv1", "status": "RUNNING"}]}
    assert abacus.cache_class(_get(version), result(running)) is None
    deployment = "http://abacus/api/v0/describeDeployment?deploymentId=d1"
    assert abacus.cache_class(_get(deployment), result({"status": "DEPLOYING"})) is None
    assert abacus.cache_class(_get(deployment), result({"status": "ACTIVE"})) == Keep(CATALOGUE)
    pipeline = httpx.Request("POST", "http://abacus/api/v0/describePipeline", json={"pipelineId": "p1"})
    assert abacus.cache_class(pipeline, result({"pipelineId": "p1"})) == Keep(CATALOGUE, ("p1",))
    versions = httpx.Request("POST", "http://abacus/api/v0/listPipelineVersions", json={"pipelineId": "p1"})
    assert abacus.cache_class(versions, result([finished])) is None
    run = httpx.Request("POST", "http://abacus/api/v0/runPipeline", json={"pipelineId": "p1"})
    assert abacus.cache_evicts(run, None) == ["p1"]


def test_a_finished_step_never_vouches_for_its_running_run() -> None:
    async def scenario() -> None:
        cache = RecordCache.from_settings(Settings(cache=ON))
        assert cache is not None
        view = cache.view("zenml", "http://zenml", "key")
        answer = httpx.Response(200, headers={"content-type": "application/json"}, content=b"{}")
        await view.keep("step", await view.lookup("step"), answer, Keep(TERMINAL, ("s1",), ("r1",)))
        await view.keep("page", await view.lookup("page"), answer, Keep(TERMINAL, ("s1",), ("r1",), after="r1"))
        assert view.finished == {"s1"}
        assert (await view.lookup("step")).entry is not None and (await view.lookup("page")).entry is None

    asyncio.run(scenario())


# ---------------------------------------------------------------- lists that can grow

LISTING_ON = CacheSettings(enabled=True, listing_ttl_seconds=5)
FAILED_JOBS = """query($p: ID!) { domino { jobs(project: $p, first: 100) { totalCount nodes { nativeId } } } }"""
START = """mutation($p: ID!) { startDominoJob(input: {project: $p, runCommand: "train.py"}) { nativeId } }"""


def test_lists_are_kept_for_their_ttl_and_evicted_by_a_write() -> None:
    sandbox, clock = build_sandbox(), Clock()
    project = next(p.id for p in sandbox.domino.projects if sandbox.domino.can_access(p.id))
    for ask in gateway_over(sandbox, replica(sandbox, Settings(cache=LISTING_ON), clock=clock)):
        cold = ask(FAILED_JOBS, {"p": project})
        assert cold.errors == [] and cold.calls == 1
        warm = ask(FAILED_JOBS, {"p": project})
        assert warm.calls == 0 and warm.data == cold.data and warm.ledger["cached"] == 1
        clock.now += LISTING_ON.listing_ttl_seconds + 1
        assert ask(FAILED_JOBS, {"p": project}).calls == 1  # expired: read again
        started = ask(START, {"p": project})
        assert started.errors == []
        after = ask(FAILED_JOBS, {"p": project})  # the write evicted every list of the platform
        assert after.calls == 1
        assert after.data["domino"]["jobs"]["totalCount"] == cold.data["domino"]["jobs"]["totalCount"] + 1


def test_a_running_runs_steps_are_a_listing_not_a_record_that_cannot_change() -> None:
    sandbox, clock = build_sandbox(), Clock()
    for ask in gateway_over(sandbox, replica(sandbox, Settings(cache=LISTING_ON), clock=clock)):
        running = {"id": run_id(sandbox, "running")}
        ask(RUN_QUERY, running)
        again = ask(RUN_QUERY, running)
        assert all(entry["kind"] == "listing" for entry in again.ledger["cachedEntries"] if "/steps" in entry["path"])
        clock.now += LISTING_ON.listing_ttl_seconds + 1
        later = ask(RUN_QUERY, running)
        assert any("/steps" in entry["path"] for entry in later.ledger["entries"])
