"""mlgraph query --demo, the missing-variable hints, whole ids in tables, and
mlgraph schema writing into the checkout wherever it runs from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mlgraph import cli
from mlgraph.cli import app
from mlgraph.demo import build_sandbox
from mlgraph.graph.schema import schema as graph_schema

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ROOT / "queries"
CLEAN_ENV = {"MLGRAPH_ZENML__URL": None, "MLGRAPH_DOMINO__URL": None, "MLGRAPH_ABACUS__URL": None, "MLGRAPH_CONFIG": None,
             "MLGRAPH_PERSISTED__MANIFEST_DIR": str(QUERIES), "MLGRAPH_PERSISTED__MODE": None, "MLGRAPH_REDIS_URL": None}


def run(*args: str, **env: str) -> Any:
    return CliRunner().invoke(app, list(args), env={**CLEAN_ENV, **env}, catch_exceptions=False)


# ---------------------------------------------------------------- missing variables


@pytest.mark.parametrize(
    ("operation", "lines"),
    [
        ("RunOverview", ["missing --var run=<id>: `mlgraph query RecentPipelineRuns --demo` lists them"]),
        ("ModelVersionLineage", ["missing --var modelVersion=<id>: `mlgraph query ZenMLModels --demo` lists them"]),
        ("StepRunDetail", ["missing --var step=<id>: `mlgraph query RunOverview --var run=<id> --demo` lists them, "
                           "and `mlgraph query RecentPipelineRuns --demo` lists the run ids"]),
        ("DominoJobLogs", ["missing --var job=<id>: `mlgraph query DominoProjectJobs --var project=<id> --demo` lists "
                           "them, and `mlgraph query DominoProjects --demo` lists the project ids"]),
        ("StartDominoJob", ["missing --var project=<id>: `mlgraph query DominoProjects --demo` lists them",
                            "missing --var command=<String>"]),
        ("RunAbacusPipeline", ["missing --var pipeline=<id>: `mlgraph query AbacusPipelines --demo` lists them"]),
        ("AbacusPipelineVersions", ["missing --var pipeline=<id>: `mlgraph query AbacusPipelines --demo` lists them"]),
    ],
)
def test_a_missing_variable_names_the_var_and_what_lists_it(operation: str, lines: list[str]) -> None:
    result = run("query", operation, "--demo")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == lines
    assert result.stdout == ""  # nothing was sent


def test_the_hint_carries_the_url_and_the_variables_given(tmp_path: Path) -> None:
    result = run("query", "StartDominoJob", "--var", "command=train.py", "--url", "http://127.0.0.1:9")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "missing --var project=<id>: `mlgraph query DominoProjects --url http://127.0.0.1:9` lists them"
    ]
    given = run("query", "RunOverview", "--var", "run=x", "--url", "http://127.0.0.1:9")
    assert "missing" not in given.output  # a variable given, even wrong, goes to the gateway


def test_the_listing_is_found_from_the_schema_not_from_names(tmp_path: Path) -> None:
    """Operations named anything: one lists Domino projects' ids inside a list,
    another needs a project; a scalar variable gets its type."""
    (tmp_path / "Everything.graphql").write_text("query Everything { domino { projects { nodes { id name } } } }")
    (tmp_path / "One.graphql").write_text("query One($p: ID!) { domino { project(id: $p) { id } } }")  # no list
    (tmp_path / "Work.graphql").write_text(
        "query Work($where: ID!, $n: Int!) { domino { jobs(project: $where, first: $n) { nodes { title } } } }"
    )
    result = run("query", "Work", "--demo", MLGRAPH_PERSISTED__MANIFEST_DIR=str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "missing --var where=<id>: `mlgraph query Everything --demo` lists them",
        "missing --var n=<Int>",
    ]
    lonely = run("query", "One", MLGRAPH_PERSISTED__MANIFEST_DIR=str(tmp_path))
    assert lonely.exit_code == 2 and lonely.stderr.splitlines() == [
        "missing --var p=<id>: `mlgraph query Everything` lists them"
    ]
    by_file = tmp_path / "elsewhere.graphql"
    by_file.write_text("query Elsewhere($v: ID!) { abacus { pipelineVersion(id: $v) { name } } }")
    nothing = run("query", str(by_file), MLGRAPH_PERSISTED__MANIFEST_DIR=str(tmp_path))
    assert nothing.exit_code == 2 and nothing.stderr.splitlines() == ["missing --var v=<id>"]


def test_a_listed_id_goes_straight_into_the_next_command() -> None:
    """The table shows ids whole, so the hint's round trip works by copy and paste."""
    listed = run("query", "RecentPipelineRuns", "--demo", "--var", "first=3", "--format", "table")
    assert listed.exit_code == 0, listed.output
    header, _, first, *_ = listed.stdout.splitlines()
    assert header.split()[0] == "id"
    run_id = first.split()[0]
    assert "…" not in run_id
    overview = run("query", "RunOverview", "--demo", "--var", f"run={run_id}")
    assert overview.exit_code == 0, overview.output
    assert build_sandbox().zenml.runs[-1].name in overview.stdout  # the newest run


# ---------------------------------------------------------------- --demo


def test_demo_answers_from_the_demo_data_and_ignores_configured_platforms() -> None:
    sandbox = build_sandbox()
    project = next(p for p in sandbox.domino.projects if sandbox.domino.can_access(p.id))
    result = run("query", "DominoProjects", "--demo", "--format", "table", MLGRAPH_DOMINO__URL="http://127.0.0.1:9")
    assert result.exit_code == 0, result.output
    assert project.name in result.stdout
    both = run("query", "DominoProjects", "--demo", "--url", "http://127.0.0.1:9")
    assert both.exit_code == 2 and "--demo and --url exclude each other" in both.stderr


def test_without_a_platform_the_message_offers_demo_and_url() -> None:
    result = run("query", "GpuHardwareTiers")
    assert result.exit_code == 2
    assert "no platform configured" in result.stderr and "--url" in result.stderr and "--demo" in result.stderr


# ---------------------------------------------------------------- mlgraph schema


SDL = str(graph_schema) + "\n"


def fake_checkout(path: Path) -> Path:
    (path / "src" / "mlgraph").mkdir(parents=True)
    (path / "pyproject.toml").write_text("[project]\nname = 'mlgraph'\n")
    return path


def test_this_checkout_is_found() -> None:
    assert cli.checkout_root() == ROOT


def test_schema_writes_into_the_checkout_wherever_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = fake_checkout(tmp_path / "checkout")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setattr(cli, "CHECKOUT_ROOT", checkout)
    monkeypatch.chdir(elsewhere)
    result = run("schema")
    assert result.exit_code == 0, result.output
    assert (checkout / "schema" / "schema.graphql").read_text() == SDL
    assert not (elsewhere / "schema").exists()


def test_schema_to_stdout_or_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "CHECKOUT_ROOT", tmp_path / "not-a-checkout")
    printed = run("schema", "--output", "-")
    assert printed.exit_code == 0 and printed.stdout == SDL
    target = tmp_path / "out" / "api.graphql"
    written = run("schema", "--output", str(target))
    assert written.exit_code == 0 and target.read_text() == SDL
    installed = run("schema")
    assert installed.exit_code == 2 and "pass --output" in installed.stderr
