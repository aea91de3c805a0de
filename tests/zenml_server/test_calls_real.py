"""Never more calls than the hand-written client, on a real ZenML server.

For each query of the real suite, the shortest REST sequence a careful client
would write for the same answer is written out here: plain httpx GETs against
the same server with the same token, counted. Its answer, put in the query's
shape, must equal the gateway's (values, not only sizes), and the gateway
must make no more calls.

The careful client knows the API as the gateway does: a ``oneof`` id filter
reads many records in one call; ``/users/{id}`` answers for service accounts,
which ``/users`` lists leave out; ZenML keeps no email for a service account;
records embed their user, pipeline and model version; ``hydrate=true`` on a
list costs no extra call. Where the answer needs no step metadata it reads a
run's steps thin (``/runs/{id}/steps``), as the gateway does: a hydrated step
list names a cached step's original (one call fewer for a run with cached
steps) but costs every run about 1.5x the bytes (see ``test_cached_run`` and
``test_runs_each_with_a_page_of_steps``).

The record cache is off: each query pays for its own calls, as a client
without the gateway would.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from mlgraph.app import create_app
from mlgraph.graph.ids import global_id
from mlgraph.settings import Settings, ZenMLSettings
from tests.conftest import GraphQLAnswer, Gateway

from .harness import RunInfo, ZenMLServer
from .test_gateway_real import DAG, MODELS_AND_SERVICES, RUN

pytestmark = pytest.mark.zenml_server

#: The unified status of each native status these runs hold.
UNIFIED = {"completed": "SUCCEEDED", "failed": "FAILED", "cached": "CACHED"}


@pytest.fixture(scope="module", params=[True, False], ids=["level-by-level", "generic"])
def real(request: pytest.FixtureRequest, zenml_server: ZenMLServer) -> Iterator[Gateway]:
    settings = Settings(
        zenml=ZenMLSettings(url=zenml_server.base_url, api_key=zenml_server.api_key, timeout=30),
        compiled_execution=request.param,
        cache={"enabled": False},
    )
    with TestClient(create_app(settings)) as client:
        gateway = Gateway(client, sandbox=None)  # type: ignore[arg-type]
        assert gateway("{ zenml { projects { nodes { name } } } }").errors == []  # the key's login, paid once here
        yield gateway


@pytest.fixture
def http(zenml_server: ZenMLServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=zenml_server.api_url, headers=zenml_server.headers(), timeout=30) as client:
        yield client


class Rest:
    """The hand-written client: GETs, each counted."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.calls = 0

    def get(self, path: str, **params: Any) -> Any:
        self.calls += 1
        response = self.http.get(path, params=params)
        response.raise_for_status()
        return response.json()


def no_more_calls(answer: GraphQLAnswer, rest: Rest, expected: Any) -> None:
    assert answer.errors == [], answer.errors
    assert answer.data == expected
    assert answer.calls <= rest.calls, [entry["path"] for entry in answer.ledger["entries"]]


def oneof(ids: Iterable[str]) -> str:
    return "oneof:" + json.dumps(list(dict.fromkeys(ids)))


def moment(value: str | None) -> str | None:
    """A ZenML time (naive, UTC) as the graph's DateTime serialises it."""
    return datetime.fromisoformat(value).replace(tzinfo=timezone.utc).isoformat() if value else None


def duration(body: dict[str, Any]) -> float | None:
    start, end = body.get("start_time"), body.get("end_time")
    if not (start and end):
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def outputs(step: dict[str, Any]) -> list[dict[str, Any]]:
    return [version for versions in step["resources"]["outputs"].values() for version in versions]


def written_elsewhere(rest: Rest, steps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The listed records of cached steps' outputs, which name the step and
    run that wrote them: one ``oneof`` call, none without cached steps."""
    ids = {version["id"] for step in steps if step["body"]["status"] == "cached" for version in outputs(step)}
    if not ids:
        return {}
    return {version["id"]: version for version in rest.get("/artifact_versions", id=oneof(ids), size=len(ids))["items"]}


def producers(rest: Rest, steps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The step that wrote each output, by artifact version id: a step that
    ran wrote its own; a cached step's outputs name theirs, fetched in one
    more call."""
    found = {version["id"]: step for step in steps if step["body"]["status"] != "cached" for version in outputs(step)}
    writer = {key: version["resources"]["producer_step_run_id"] for key, version in written_elsewhere(rest, steps).items()}
    if writer:
        step_ids = set(writer.values())
        by_id = {step["id"]: step for step in rest.get("/steps", id=oneof(step_ids), size=len(step_ids))["items"]}
        found.update({version: by_id[step] for version, step in writer.items()})
    return found


def readers(rest: Rest, run_id: str, steps: list[dict[str, Any]], shown: list[dict[str, Any]]) -> Any:
    """``consumers`` of the outputs of ``shown``: the steps of the run that
    wrote a version which read it. Steps that ran wrote theirs in this run
    (``steps``, every step of it); a cached step's outputs name the run that
    wrote them, whose steps come in one call each."""
    written_in = {version["id"]: run_id for step in shown if step["body"]["status"] != "cached" for version in outputs(step)}
    written_in.update({key: v["resources"]["producer_pipeline_run_id"] for key, v in written_elsewhere(rest, shown).items()})
    steps_of = {run_id: steps}
    for other in set(written_in.values()) - {run_id}:
        steps_of[other] = rest.get("/steps", pipeline_run_id=other, sort_by="created", size=1000)["items"]

    def read(version_id: str) -> list[dict[str, str]]:
        return [
            {"name": step["name"]}
            for step in steps_of[written_in[version_id]]
            if any(v["id"] == version_id for versions in step["resources"]["inputs"].values() for v in versions)
        ]

    return read


def emails(rest: Rest, users: Iterable[dict[str, Any]]) -> dict[str, str | None]:
    """Each user's email: none for a service account, people's from their
    hydrated records in one call."""
    users = list(users)
    found: dict[str, str | None] = {user["id"]: None for user in users}
    people = [user["id"] for user in users if not user["body"]["is_service_account"]]
    if people:
        page = rest.get("/users", id=oneof(people), size=len(people), hydrate="true")
        found.update({user["id"]: user["metadata"]["email"] for user in page["items"]})
    return found


# ---------------------------------------------------------------- a run, its steps and what wrote their outputs


def run_by_hand(rest: Rest, run_id: str) -> dict[str, Any]:
    """RUN: the hydrated run (times, user, pipeline, model version, tags all
    in it), its steps, and the writers of cached steps' outputs."""
    run = rest.get(f"/runs/{run_id}", hydrate="true")
    page = rest.get(f"/runs/{run_id}/steps", size=50)
    made_by = producers(rest, page["items"])
    resources, version = run["resources"], run["resources"]["model_version"]
    return {"zenml": {"pipelineRun": {
        "name": run["name"],
        "status": UNIFIED[run["body"]["status"]],
        "nativeStatus": run["body"]["status"],
        "startedAt": moment(run["metadata"]["start_time"]),
        "endedAt": moment(run["metadata"]["end_time"]),
        "user": {"name": resources["user"]["name"], "isServiceAccount": resources["user"]["body"]["is_service_account"]},
        "pipeline": {"name": resources["pipeline"]["name"]},
        "modelVersion": version and {
            "name": version["name"], "number": version["body"]["number"], "model": {"name": version["body"]["model"]["name"]},
        },
        "tags": [{"name": tag["name"]} for tag in resources["tags"]],
        "steps": {"totalCount": page["total"], "nodes": [
            {
                "name": step["name"],
                "status": UNIFIED[step["body"]["status"]],
                "nativeStatus": step["body"]["status"],
                "startedAt": moment(step["body"]["start_time"]),
                "nativeId": step["id"],
                "outputs": [
                    {
                        "name": version["body"]["artifact"]["name"],
                        "uri": version["body"]["uri"],
                        "version": version["body"]["version"],
                        "producer": {
                            "name": made_by[version["id"]]["name"],
                            "user": {"name": made_by[version["id"]]["resources"]["user"]["name"]},
                        },
                    }
                    for version in outputs(step)
                ],
            }
            for step in page["items"]
        ]},
    }}}


def every_run(zenml_server: ZenMLServer) -> list[RunInfo]:
    populated = zenml_server.populated
    assert populated is not None
    return [*populated["runs"], *populated["fan_out"]["runs"].values()]


def test_the_run_query(real: Gateway, http: httpx.Client, zenml_server: ZenMLServer) -> None:
    for run in every_run(zenml_server):
        rest = Rest(http)
        no_more_calls(real(RUN, {"id": run["id"]}), rest, run_by_hand(rest, run["id"]))


def test_cached_run(real: Gateway, http: httpx.Client, zenml_server: ZenMLServer) -> None:
    """Every step of the fan-out's second run was cached, so every output
    was written by a step of the first: its writer costs two calls (the
    artifact versions, then their steps) whatever the width.

    Reading the run's steps hydrated instead (``/steps?pipeline_run_id=…&hydrate=true``)
    names each cached step's original in the list itself and saves the
    first of those calls; the gateway reads thin steps, which every run pays
    for in bytes, not only runs with cached steps."""
    populated = zenml_server.populated
    assert populated is not None
    cached = populated["fan_out"]["runs"]["cached"]
    assert {step["status"] for step in cached["steps"].values()} == {"cached"}
    rest = Rest(http)
    expected = run_by_hand(rest, cached["id"])
    assert rest.calls == 4
    writers = {o["producer"]["name"] for s in expected["zenml"]["pipelineRun"]["steps"]["nodes"] for o in s["outputs"]}
    assert len(writers) == populated["fan_out"]["width"] + 2  # the source, every branch and the join, of the first run
    no_more_calls(real(RUN, {"id": cached["id"]}), rest, expected)


def test_the_dag_query(real: Gateway, http: httpx.Client, zenml_server: ZenMLServer) -> None:
    """A step's parents are metadata, so the DAG needs the run's steps
    hydrated: one list then answers the page of steps, their outputs and,
    for steps that ran, who read them (their inputs) too. The steps that
    never started are only in the run's snapshot, which the steps name:
    one call more, whatever the run's status (unread, it is unknown)."""
    for run in every_run(zenml_server):
        rest = Rest(http)
        steps = rest.get("/steps", pipeline_run_id=run["id"], hydrate="true", sort_by="created", size=1000)["items"]
        snapshot = rest.get(f"/pipeline_snapshots/{steps[0]['metadata']['snapshot_id']}")
        by_id = {step["id"]: step for step in steps}
        started = {step["name"] for step in steps}
        planned = {name: step for name, step in snapshot["metadata"]["step_configurations"].items() if name not in started}
        consumers = readers(rest, run["id"], steps, steps[:10])
        expected = {"zenml": {"pipelineRun": {
            "dag": [
                {
                    "execution": {"name": step["name"]},
                    "upstream": [{"name": by_id[p]["name"]} for p in step["metadata"]["parent_step_ids"] if p in by_id],
                }
                for step in steps
            ] + [
                {"execution": {"name": name}, "upstream": [{"name": up} for up in step["spec"]["upstream_steps"]]}
                for name, step in planned.items()
            ],
            "steps": {"nodes": [
                {"name": step["name"], "namedOutputs": [
                    {"name": name, "artifactVersion": {"consumers": consumers(v["id"]), "artifact": {"name": v["body"]["artifact"]["name"]}}}
                    for name, versions in step["resources"]["outputs"].items()
                    for v in versions
                ]}
                for step in steps[:10]
            ]},
        }}}
        no_more_calls(real(DAG, {"id": run["id"]}), rest, expected)


# ---------------------------------------------------------------- models and services


def test_models_and_services(real: Gateway, http: httpx.Client) -> None:
    """Descriptions and prediction URLs are metadata: both lists hydrated;
    a service embeds its run and model version; a model's versions are its
    own page."""
    rest = Rest(http)
    models = rest.get("/models", hydrate="true", sort_by="desc:created", size=20)["items"]
    services = rest.get("/services", hydrate="true", sort_by="desc:created", size=20)["items"]

    def versions(model_id: str) -> dict[str, Any]:
        page = rest.get("/model_versions", model_id=model_id, sort_by="desc:created", size=10)
        return {"totalCount": page["total"], "nodes": [
            {"name": v["name"], "number": v["body"]["number"], "stage": v["body"]["stage"]} for v in page["items"]
        ]}

    expected = {"zenml": {
        "models": {"nodes": [
            {"name": m["name"], "description": m["metadata"]["description"], "versions": versions(m["id"])} for m in models
        ]},
        "services": {"nodes": [
            {
                "name": s["name"],
                "state": s["body"]["state"],
                "predictionUrl": s["metadata"]["prediction_url"],
                "modelVersion": {"number": s["resources"]["model_version"]["body"]["number"]},
                "pipelineRun": {"name": s["resources"]["pipeline_run"]["name"]},
                "labels": s["body"]["labels"],
            }
            for s in services
        ]},
    }}
    no_more_calls(real(MODELS_AND_SERVICES), rest, expected)


RUNS_WITH_STEPS = "{ zenml { pipelineRuns(first: 10) { nodes { name steps(first: 10) { nodes { name } } } } } }"


def test_runs_each_with_a_page_of_steps(real: Gateway, http: httpx.Client) -> None:
    """One list, then each run's own page of steps: thin steps do not name
    their run, so one call for all runs' steps could not be split back.
    (A client could list every step of all ten runs hydrated, which name
    their run, in one call: two calls, for all their steps where the query
    wants ten a run, at 1.5x the bytes a step.)"""
    rest = Rest(http)
    runs = rest.get("/runs", sort_by="desc:created", size=10)["items"]
    expected = {"zenml": {"pipelineRuns": {"nodes": [
        {"name": run["name"], "steps": {"nodes": [
            {"name": step["name"]} for step in rest.get(f"/runs/{run['id']}/steps", size=10)["items"]
        ]}}
        for run in runs
    ]}}}
    no_more_calls(real(RUNS_WITH_STEPS), rest, expected)


# ---------------------------------------------------------------- the README's first query


def readme_query() -> str:
    """The query under "A first query" in README.md, as a reader copies it."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## A first query", 1)[1]
    return section.split("```graphql", 1)[1].split("```", 1)[0]


def readme_by_hand(rest: Rest) -> dict[str, Any]:
    (run,) = rest.get("/runs", size=1, status="completed", sort_by="desc:created")["items"]
    page = rest.get(f"/runs/{run['id']}/steps", size=20)
    made_by = producers(rest, page["items"])
    email = emails(rest, {step["resources"]["user"]["id"]: step["resources"]["user"] for step in made_by.values()}.values())

    def producer(step: dict[str, Any]) -> dict[str, Any]:
        user = step["resources"]["user"]
        return {"name": step["name"], "user": {"name": user["name"], "email": email[user["id"]]}}

    return {"zenml": {"pipelineRuns": {"nodes": [{
        "name": run["name"],
        "status": UNIFIED[run["body"]["status"]],
        "steps": {"totalCount": page["total"], "nodes": [
            {
                "name": step["name"],
                "status": UNIFIED[step["body"]["status"]],
                "durationSeconds": duration(step["body"]),
                "outputs": [
                    {"name": v["body"]["artifact"]["name"], "uri": v["body"]["uri"], "producer": producer(made_by[v["id"]])}
                    for v in outputs(step)
                ],
            }
            for step in page["items"]
        ]},
    }]}}}


def test_the_readme_query(real: Gateway, http: httpx.Client, zenml_server: ZenMLServer) -> None:
    rest = Rest(http)
    expected = readme_by_hand(rest)
    populated = zenml_server.populated
    assert populated is not None
    # The newest completed run is the fan-out's cached one: the case the README prices.
    assert expected["zenml"]["pipelineRuns"]["nodes"][0]["name"] == populated["fan_out"]["runs"]["cached"]["name"]
    no_more_calls(real(readme_query()), rest, expected)


# ---------------------------------------------------------------- paging a run's steps

PAGE = """
query Page($id: ID!, $after: String) {
  zenml { pipelineRun(id: $id) { steps(first: 7, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { name status ... on ZenMLStepRun { nativeId } }
  } } }
}
"""


def test_paging_a_runs_steps_seven_at_a_time(real: Gateway, http: httpx.Client, zenml_server: ZenMLServer) -> None:
    populated = zenml_server.populated
    assert populated is not None
    run = populated["fan_out"]["runs"]["ok"]
    rest, gateway_calls, after, seen = Rest(http), 0, None, []
    for number in range(1, 100):
        page = rest.get(f"/runs/{run['id']}/steps", page=number, size=7)
        answer = real(PAGE, {"id": run["id"], "after": after})
        assert answer.errors == []
        gateway_calls += answer.calls
        steps = answer.data["zenml"]["pipelineRun"]["steps"]
        after = steps["pageInfo"].pop("endCursor")
        assert steps == {
            "totalCount": page["total"],
            "pageInfo": {"hasNextPage": number < page["total_pages"]},
            "nodes": [{"name": s["name"], "status": UNIFIED[s["body"]["status"]], "nativeId": s["id"]} for s in page["items"]],
        }
        seen += [node["nativeId"] for node in steps["nodes"]]
        if number == page["total_pages"]:
            break
    assert sorted(seen) == sorted(step["id"] for step in run["steps"].values())  # 32 steps, 5 pages
    assert gateway_calls <= rest.calls == 5


# ---------------------------------------------------------------- failed executions across platforms

FAILED = """{ executions(first: 20, filter: {statuses: [FAILED]}) {
  nodes { name status platform ... on ZenMLStepRun { nativeId } } pageInfo { hasNextPage }
} }"""


def test_failed_executions_with_only_zenml(real: Gateway, http: httpx.Client, zenml_server: ZenMLServer) -> None:
    """ZenML filters by status itself (``oneof`` of its native words for FAILED)."""
    rest = Rest(http)
    page = rest.get("/steps", status=oneof(["failed", "retried"]), sort_by="desc:created", size=20)
    expected = {"executions": {
        "nodes": [{"name": s["name"], "status": "FAILED", "platform": "ZENML", "nativeId": s["id"]} for s in page["items"]],
        "pageInfo": {"hasNextPage": page["total"] > 20},
    }}
    populated = zenml_server.populated
    assert populated is not None
    assert {node["name"] for node in expected["executions"]["nodes"]} == {
        populated["failed_run"]["failed_step"], populated["fan_out"]["failed_step"],
    }
    no_more_calls(real(FAILED), rest, expected)


# ---------------------------------------------------------------- a model version and its runs

MODEL_VERSION = """
query($id: ID!) { zenml { modelVersion(id: $id) {
  name number stage model { name } user { name email }
  pipelineRuns(first: 10) { totalCount nodes { name status startedAt endedAt user { name } } }
} } }
"""


def test_a_model_version_with_its_runs(real: Gateway, http: httpx.Client, zenml_server: ZenMLServer) -> None:
    """Both calls at once; the runs' times are metadata, so the list is hydrated."""
    populated = zenml_server.populated
    assert populated is not None
    version_id = populated["model"]["production_version_id"]
    rest = Rest(http)
    version = rest.get(f"/model_versions/{version_id}", hydrate="true")
    runs = rest.get("/runs", model_version_id=version_id, hydrate="true", sort_by="desc:created", size=10)
    owner = version["resources"]["user"]
    expected = {"zenml": {"modelVersion": {
        "name": version["name"],
        "number": version["body"]["number"],
        "stage": version["body"]["stage"],
        "model": {"name": version["body"]["model"]["name"]},
        "user": {"name": owner["name"], "email": emails(rest, [owner])[owner["id"]]},
        "pipelineRuns": {"totalCount": runs["total"], "nodes": [
            {
                "name": run["name"],
                "status": UNIFIED[run["body"]["status"]],
                "startedAt": moment(run["metadata"]["start_time"]),
                "endedAt": moment(run["metadata"]["end_time"]),
                "user": {"name": run["resources"]["user"]["name"]},
            }
            for run in runs["items"]
        ]},
    }}}
    assert runs["total"] >= 1 and rest.calls == 2
    no_more_calls(real(MODEL_VERSION, {"id": version_id}), rest, expected)


# ---------------------------------------------------------------- people: the service account

SERVICE_ACCOUNT = """
query($id: ID!, $node: ID!) {
  zenml { user(id: $id) { name fullName email isServiceAccount isAdmin active } }
  node(id: $node) { ... on ZenMLUser { name email } }
}
"""


def test_the_service_account_by_id(real: Gateway, http: httpx.Client, zenml_server: ZenMLServer) -> None:
    """``/users/{id}`` answers for a service account: one call, where a
    ``/users?id=oneof`` list misses it and needs ``/service_accounts`` too."""
    account_id = zenml_server.service_account_id
    rest = Rest(http)
    user = rest.get(f"/users/{account_id}", hydrate="true")
    body = user["body"]
    expected = {
        "zenml": {"user": {
            "name": user["name"], "fullName": body["full_name"], "email": user["metadata"]["email"],
            "isServiceAccount": body["is_service_account"], "isAdmin": body["is_admin"], "active": body["active"],
        }},
        "node": {"name": user["name"], "email": user["metadata"]["email"]},
    }
    assert body["is_service_account"] is True
    no_more_calls(real(SERVICE_ACCOUNT, {"id": account_id, "node": global_id("ZenMLUser", account_id)}), rest, expected)


PEOPLE = """query($email: String!) {
  users(first: 20) { nodes { name } }
  person(email: $email) { accounts { name } }
}"""


def test_people_lists_leave_the_service_account_out(real: Gateway, http: httpx.Client, zenml_server: ZenMLServer) -> None:
    """One ``/users`` list serves both; it holds no service account (and this
    one may see no other user)."""
    rest = Rest(http)
    listed = rest.get("/users", size=1000, hydrate="true")["items"]
    users = sorted(listed, key=lambda user: user["body"]["created"], reverse=True)  # merged lists: newest first
    email = f"{zenml_server.service_account_name}@example.com"
    folded = email.casefold()
    expected = {
        "users": {"nodes": [{"name": user["name"]} for user in users]},
        "person": {"accounts": [{"name": u["name"]} for u in users if (u["metadata"]["email"] or "").casefold() == folded]},
    }
    assert zenml_server.service_account_name not in {user["name"] for user in users}
    no_more_calls(real(PEOPLE, {"email": email}), rest, expected)
