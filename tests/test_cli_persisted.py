"""mlgraph query | check | persisted manifest: outputs and exit codes for cron and CI."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from mlgraph.cli import app
from mlgraph.demo import Sandbox, build_sandbox
from mlgraph.persisted.client import parse_vars, render_table
from mlgraph.persisted.manifest import load_manifest
from tests.redis_server.harness import GatewayProcess
from tests.test_real_sockets import emulator_url  # noqa: F401  (a ZenML emulator over TCP)

QUERIES = Path(__file__).resolve().parents[1] / "queries"
MANIFEST = load_manifest(QUERIES)
#: No platform and no persisted setting leaks in from the developer's shell.
CLEAN_ENV = {"MLGRAPH_ZENML__URL": None, "MLGRAPH_DOMINO__URL": None, "MLGRAPH_ABACUS__URL": None, "MLGRAPH_CONFIG": None,
             "MLGRAPH_PERSISTED__MANIFEST_DIR": str(QUERIES), "MLGRAPH_PERSISTED__MODE": None, "MLGRAPH_REDIS_URL": None}


def run(*args: str, **env: str) -> Any:
    return CliRunner().invoke(app, list(args), env={**CLEAN_ENV, **env}, catch_exceptions=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Sandbox]]:
    """``mlgraph demo`` in its own process, and the same seeded data here for expectations."""
    with GatewayProcess({}, tmp_path_factory.mktemp("demo") / "demo.log") as gateway:
        yield gateway.url, build_sandbox()


def test_query_by_name_against_a_running_gateway(demo: tuple[str, Sandbox]) -> None:
    url, sandbox = demo
    result = run("query", "RecentPipelineRuns", "--var", "first=2", "--url", url)
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout)["data"]["zenml"]["pipelineRuns"]
    assert len(runs["nodes"]) == 2 and runs["totalCount"] == len(sandbox.zenml.runs)
    table = run("query", "RecentPipelineRuns", "--var", "first=2", "--url", f"{url}/graphql", "--format", "table")
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["id", "name", "status"] and len(lines) == 4  # header, rule, 2 rows
    assert runs["nodes"][0]["name"] in lines[2]


def test_a_file_outside_the_manifest_is_sent_with_its_hash(demo: tuple[str, Sandbox], tmp_path: Path) -> None:
    url, sandbox = demo
    project = sandbox.domino.projects[0]
    path = tmp_path / "Mine.graphql"
    path.write_text("query Mine($p: ID!) { domino { project(id: $p) { name } } }")
    result = run("query", str(path), "--var", f"p={project.id}", "--url", url)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"data": {"domino": {"project": {"name": project.name}}}}
    body = "query Mine($p: ID!) {\n  domino {\n    project(id: $p) {\n      name\n    }\n  }\n}"
    by_hash = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(body.encode()).hexdigest()}},
               "variables": {"p": project.id}}
    assert httpx.post(f"{url}/graphql", json=by_hash).json()["data"]["domino"]["project"]["name"] == project.name


def test_errors_exit_1(demo: tuple[str, Sandbox]) -> None:
    url, _ = demo
    result = run("query", "RunOverview", "--var", "run=nope", "--url", url, "--format", "table")
    assert result.exit_code == 1
    assert "error BAD_USER_INPUT: 'nope' is not a ZenML id (at zenml.pipelineRun)" in result.stderr
    missing = run("query", "RunOverview", "--url", url)  # a usage error: said before anything is sent
    assert missing.exit_code == 2 and missing.stdout == ""
    assert f"missing --var run=<id>: `mlgraph query RecentPipelineRuns --url {url}` lists them" in missing.stderr
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    unreachable = run("query", "GpuHardwareTiers", "--url", dead)
    assert unreachable.exit_code == 1 and f"cannot reach {dead}" in unreachable.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "Nope", "--url", "http://127.0.0.1:9"], "no operation named 'Nope'"),
        (["query", "missing.graphql", "--url", "http://127.0.0.1:9"], "missing.graphql does not exist"),
        (["query", "RunOverview", "--var", "run", "--url", "http://127.0.0.1:9"], "--var 'run' is not key=value"),
        (["query", "RunOverview", "--url", "ftp://x"], "--url 'ftp://x' is not an http(s) URL"),
        (["query", "GpuHardwareTiers"], "no platform configured: set MLGRAPH_ZENML__URL"),
        (["query", "GpuHardwareTiers", "--format", "xml"], "'xml' is not one of"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.replace("│", " ").split())  # typer boxes its own usage errors


def test_query_in_process_over_configured_platforms(emulator_url: tuple[str, object]) -> None:
    zenml, _ = emulator_url  # a ZenML emulator over TCP with 3 runs
    result = run("query", "RecentPipelineRuns", "--format", "table", MLGRAPH_ZENML__URL=zenml)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 2 + 3
    domino = run("query", "GpuHardwareTiers", MLGRAPH_ZENML__URL=zenml)
    assert domino.exit_code == 1
    assert json.loads(domino.stdout)["errors"][0]["extensions"]["code"] == "PLATFORM_NOT_CONFIGURED"
    missing = run("query", "RecentPipelineRuns", MLGRAPH_ZENML__URL=zenml, MLGRAPH_PERSISTED__MANIFEST_DIR="/nowhere")
    assert missing.exit_code == 2 and "the operations folder /nowhere does not exist" in missing.stderr
    by_file = str(QUERIES / "RecentPipelineRuns.graphql")
    enforcing = run("query", by_file, MLGRAPH_ZENML__URL=zenml, MLGRAPH_PERSISTED__MODE="enforce",
                    MLGRAPH_PERSISTED__MANIFEST_DIR="/nowhere")
    assert enforcing.exit_code == 2 and "settings: the operations folder /nowhere does not exist" in enforcing.stderr


def test_vars_are_json_when_they_parse() -> None:
    assert parse_vars(["n=5", "ok=true", "none=null", "list=[1,2]", 'q="5"', "id=325baf8e-2cf5", "s=a=b", "e="]) == {
        "n": 5, "ok": True, "none": None, "list": [1, 2], "q": "5", "id": "325baf8e-2cf5", "s": "a=b", "e": "",
    }


def test_table_of_the_first_list_or_of_key_values() -> None:
    data = {"x": {"count": 2, "nodes": [{"name": "a", "user": {"name": "u"}, "mv": None},
                                         {"name": "b", "user": None, "mv": {"n": 1}, "tags": ["t1", "t2"]}]}}
    assert render_table(data).splitlines() == [
        "name  user.name  mv.n  tags",
        "----  ---------  ----  ------",
        "a     u",
        "b                1     t1, t2",
    ]
    assert render_table({"job": {"title": "T", "ok": True}}).splitlines() == [
        "field      value", "---------  -----", "job.title  T", "job.ok     true",
    ]
    assert render_table({"x": {"nodes": []}}) == "(no rows)"
    assert render_table(None) == "(no data)"


def test_check_passes_the_repo_and_names_bad_files(tmp_path: Path) -> None:
    good = run("check")
    assert good.exit_code == 0 and f"{len(MANIFEST)} valid, 0 invalid" in good.stdout
    (tmp_path / "Good.graphql").write_text("query Good { __typename }")
    (tmp_path / "Stale.graphql").write_text("query Stale { zenml { userz { totalCount } } }")
    (tmp_path / "Two.graphql").write_text("query A { __typename } query B { __typename }")
    bad = run("check", "--dir", str(tmp_path))
    assert bad.exit_code == 1
    assert "FAIL" in bad.stdout and "Stale.graphql: Cannot query field 'userz'" in bad.stdout
    assert "Two.graphql: holds 2 operations" in bad.stdout and "1 valid, 2 invalid" in bad.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run("check", "--dir", str(empty)).exit_code == 2
    assert run("check", "--dir", str(tmp_path / "nowhere")).exit_code == 2


def test_persisted_manifest_in_apollo_and_relay_formats(tmp_path: Path) -> None:
    apollo = run("persisted", "manifest")
    assert apollo.exit_code == 0
    assert json.loads(apollo.stdout) == MANIFEST.apollo()
    relay = run("persisted", "manifest", "--format", "relay", "--dir", str(QUERIES))
    assert json.loads(relay.stdout) == {o.id: o.body for o in MANIFEST}
    (tmp_path / "Bad.graphql").write_text("{ __typename }")
    broken = run("persisted", "manifest", "--dir", str(tmp_path))
    assert broken.exit_code == 1 and "has no name" in broken.stderr


def test_query_sends_the_gateway_api_key(tmp_path: Any) -> None:
    import hashlib

    key = "a-long-enough-gateway-key-for-tests"
    hashes = json.dumps([f"sha256:{hashlib.sha256(key.encode()).hexdigest()}"])
    with GatewayProcess({"MLGRAPH_AUTH__API_KEY_HASHES": hashes}, tmp_path / "demo.log") as gateway:
        refused = run("query", "DominoProjects", "--url", gateway.url)
        assert refused.exit_code == 1 and "UNAUTHENTICATED" in refused.output
        allowed = run("query", "DominoProjects", "--url", gateway.url, "--api-key", key)
        assert allowed.exit_code == 0, allowed.output
        from_env = run("query", "DominoProjects", "--url", gateway.url, MLGRAPH_API_KEY=key)
        assert from_env.exit_code == 0
