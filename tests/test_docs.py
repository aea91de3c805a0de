"""The README and docs/ stay true: what they show runs, and what they list exists.

- every GraphQL block runs against the demo without errors (with the JSON
  block right after it as its variables), and where the prose after it
  states "N calls in M round trips", the ledger says so, on a fresh demo
  whose emulated calls take 20 ms (so calls sent together overlap);
- the ids of the README's demo tour resolve to what the tour says;
- every `mlgraph query … --demo` command shown runs, and every `$ mlgraph …`
  transcript prints what it shows;
- the settings, error codes, metrics, operations and commands the docs list
  are the code's, both ways;
- every relative link points at a file (and heading) that exists.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from pydantic_core import PydanticUndefined
from typer.testing import CliRunner

from mlgraph.demo import build_sandbox
from mlgraph.graph.ids import GlobalId
from mlgraph.settings import PLATFORMS, Settings

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
SRC = ROOT / "src" / "mlgraph"
COST = re.compile(r"(\d+) (?:backend )?calls? in (\d+) round trips?")


# ---------------------------------------------------------------- reading Markdown


@dataclass
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    after: str  # the prose up to the next GraphQL block or heading, code left out
    next_lang: str | None  # the block right after this one, with only blank lines between
    next_text: str | None

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    lines = page.read_text().splitlines()
    found: list[tuple[int, int, str, str]] = []  # start, end, lang, text
    start, lang = None, ""
    for number, line in enumerate(lines):
        if line.startswith("```"):
            if start is None:
                start, lang = number, line[3:].strip()
            else:
                found.append((start, number, lang, "\n".join(lines[start + 1 : number])))
                start = None
    result = []
    for index, (begin, end, lang, text) in enumerate(found):
        prose: list[str] = []
        following = found[index + 1 :]
        for number in range(end + 1, len(lines)):
            inside = any(b <= number <= e for b, e, _, _ in following)
            if lines[number].startswith("#") and not inside:
                break
            if any(b == number and lg == "graphql" for b, _, lg, _ in following):
                break
            if not inside:
                prose.append(lines[number])
        nxt = following[0] if following else None
        adjacent = nxt is not None and all(not lines[n].strip() for n in range(end + 1, nxt[0]))
        result.append(Block(
            page, begin + 1, lang, text, "\n".join(prose),
            nxt[2] if adjacent and nxt else None, nxt[3] if adjacent and nxt else None,
        ))
    return result


def all_blocks(lang: str) -> list[Block]:
    return [block for page in PAGES for block in blocks(page) if block.lang == lang]


def table_rows(text: str) -> Iterator[list[str]]:
    for line in text.splitlines():
        if line.startswith("|") and not re.fullmatch(r"\|[\s\-|]+\|", line):
            yield [cell.strip() for cell in line.strip().strip("|").split("|")]


# ---------------------------------------------------------------- the front page


def test_the_two_commands_open_the_readme() -> None:
    """CI and reviewers run the README's first two `sh` blocks."""
    sh = [block.text for block in blocks(README) if block.lang == "sh"]
    assert sh[:2] == [
        "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/mlgraph demo",
        "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest",
    ]
    assert len(README.read_text().splitlines()) <= 200, "the README is a front page: move reference to docs/"


def test_the_first_query_is_the_one_the_demo_prints() -> None:
    from mlgraph.app import EXAMPLE_QUERY

    first = next(block for block in blocks(README) if block.lang == "graphql")
    printed = "\n".join(line for line in EXAMPLE_QUERY.splitlines() if not line.startswith("#"))
    assert first.text.strip() == printed.strip()
    assert "## A first query" in README.read_text().split(first.text)[0]  # tests/zenml_server reads it there


@pytest.mark.parametrize("block", all_blocks("graphql"), ids=lambda b: b.name)
def test_graphql_blocks_run_against_the_demo_at_the_cost_they_state(block: Block) -> None:
    variables = json.loads(block.next_text) if block.next_lang == "json" and block.next_text else {}
    sandbox = build_sandbox(latency_ms=20)  # fresh: no record cached from another block
    with TestClient(sandbox.app) as client:
        response = client.post(
            "/graphql", json={"query": block.text, "variables": variables}, headers={"X-Mlgraph-Debug": "1"}
        )
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body.get("errors")
    assert body["data"] and all(value is not None for value in body["data"].values()), body["data"]
    stated = COST.search(block.after.replace("**", ""))
    if stated:
        ledger = body["extensions"]["ledger"]
        calls, round_trips = int(stated.group(1)), int(stated.group(2))
        assert (ledger["calls"], ledger["roundTrips"]) == (calls, round_trips), (
            f"{block.name} says {stated.group(0)}; the ledger: {ledger['calls']} calls in "
            f"{ledger['roundTrips']} round trips: {[e['path'] for e in ledger['entries']]}"
        )


def test_the_stated_cost_estimate_of_the_first_query() -> None:
    claim = re.search(r"README's first query costs (\d+)", (DOCS / "security.md").read_text())
    assert claim is not None
    first = next(block for block in blocks(README) if block.lang == "graphql")
    with TestClient(build_sandbox().app) as client:
        body = client.post("/graphql", json={"query": first.text}, headers={"X-Mlgraph-Debug": "1"}).json()
    assert body["extensions"]["cost"]["estimated"] == int(claim.group(1))


def tour() -> list[list[str]]:
    section = README.read_text().split("## The demo data", 1)[1].split("\n## ", 1)[0]
    return [row for row in table_rows(section) if row[0] != "what"]


def test_the_demo_tour_ids_are_what_the_tour_says() -> None:
    rows = tour()
    assert len(rows) >= 6
    with TestClient(build_sandbox().app) as client:
        for what, where, cell in rows:
            raw = cell.strip("`")
            decoded = GlobalId.decode(raw)
            query = f"query($id: ID!) {{ node(id: $id) {{ __typename ... on {decoded.type_name} {{ name }} }} }}"
            body = client.post("/graphql", json={"query": query, "variables": {"id": raw}}).json()
            assert not body.get("errors"), (what, body)
            node = body["data"]["node"]
            assert node["__typename"] == decoded.type_name, what
            assert f"`{node['name']}`" in where, (what, node["name"], where)


def sh_lines() -> list[tuple[str, str]]:
    lines = []
    for block in all_blocks("sh"):
        for line in block.text.splitlines():
            if "mlgraph query" in line and "--demo" in line:
                lines.append((block.name, line.split("#", 1)[0].strip()))
    return lines


@pytest.mark.parametrize(("where", "line"), sh_lines(), ids=[w for w, _ in sh_lines()])
def test_demo_commands_shown_run(where: str, line: str) -> None:
    from mlgraph.cli import app

    args = shlex.split(line)
    args = args[args.index("query") :]
    result = CliRunner().invoke(app, args, env={"MLGRAPH_PERSISTED__MANIFEST_DIR": str(ROOT / "queries")})
    assert result.exit_code == 0, (where, result.output)


def transcripts() -> list[tuple[str, list[str], list[str]]]:
    """``$ mlgraph …`` lines of unlabelled blocks, each with the lines it printed."""
    found = []
    for block in all_blocks(""):
        for chunk in re.split(r"^\$ ", block.text, flags=re.M)[1:]:
            command, *printed = chunk.splitlines()
            found.append((block.name, shlex.split(command), printed))
    return found


@pytest.mark.parametrize(("where", "command", "printed"), transcripts(), ids=[" ".join(c) for _, c, _ in transcripts()])
def test_transcripts_shown_are_what_the_command_prints(where: str, command: list[str], printed: list[str]) -> None:
    from mlgraph.cli import app

    assert command[0] == "mlgraph", where
    result = CliRunner().invoke(app, command[1:], env={"MLGRAPH_PERSISTED__MANIFEST_DIR": str(ROOT / "queries")})
    assert result.output.splitlines() == printed, where


# ---------------------------------------------------------------- what the docs list


def setting_leaves(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every leaf setting as its environment variable, with its default."""
    for name, field in model.model_fields.items():
        nested = next(
            (a for a in (typing.get_args(field.annotation) or (field.annotation,))
             if isinstance(a, type) and issubclass(a, BaseModel)),
            None,
        )
        if nested is not None:
            yield from setting_leaves(nested, (*prefix, name))
            continue
        if field.default is not PydanticUndefined:
            default = field.default
        elif field.default_factory is not None:
            default = field.default_factory()  # type: ignore[call-arg]
        else:
            default = PydanticUndefined
        yield "MLGRAPH_" + "__".join((*prefix, name)).upper(), default


def expand(name: str) -> list[str]:
    return [name.replace("<PLATFORM>", p.upper()) for p in PLATFORMS] if "<PLATFORM>" in name else [name]


UNITS = {"KiB": 2**10, "MiB": 2**20}


def documented_default(cell: str) -> tuple[bool, Any]:
    """(True, value) for a cell that is a plain value; (False, None) for prose."""
    text = cell.strip()
    if text == "required":
        return True, PydanticUndefined
    if re.fullmatch(r"`[^`]*`", text):
        inner = text[1:-1]
        try:
            return True, json.loads(inner) if inner.startswith(("[", "{")) else inner
        except ValueError:
            return True, inner
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return True, float(text)
    if match := re.fullmatch(r"(\d+) (KiB|MiB)", text):
        return True, int(match.group(1)) * UNITS[match.group(2)]
    if text in ("true", "false"):
        return True, text == "true"
    if text == "none":
        return True, None
    return False, None


def test_every_setting_is_documented_with_its_default() -> None:
    code = dict(setting_leaves(Settings))
    documented: dict[str, str] = {}
    section = (DOCS / "configuration.md").read_text().split("## Every setting", 1)[1]
    for row in table_rows(section):
        if row[0].startswith("`MLGRAPH_"):
            for name in expand(row[0].strip("`")):
                documented[name] = row[1]
    assert set(documented) - set(code) == set(), "documented, but no such setting"
    assert set(code) - set(documented) == set(), "settings missing from docs/configuration.md"
    for name, cell in documented.items():
        plain, value = documented_default(cell)
        if plain:
            default = code[name]
            if hasattr(default, "get_secret_value"):
                default = default.get_secret_value()
            assert value == default or (isinstance(value, float) and value == default), (name, cell, default)


def test_every_variable_the_docs_name_exists() -> None:
    known = {name for name, _ in setting_leaves(Settings)}
    in_code = {
        node.value
        for path in SRC.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    for page in PAGES:
        for name, star in re.findall(r"(MLGRAPH_(?:<PLATFORM>__)?[A-Z0-9_]*[A-Z0-9])(__\*)?", page.read_text()):
            for each in expand(name):
                if star:
                    assert any(k.startswith(each + "__") for k in known), (page.name, name)
                else:
                    assert each in known or any(each in text for text in in_code), (page.name, each)


#: The modules whose error paths give ``extensions.code``.
CODE_MODULES = ["graph/errors.py", "graph/limits.py", "http.py", "security.py", "persisted/apq.py", "admission.py"]
HTTP_WORDS = {"DELETE", "OPTIONS", "PATCH", "GET", "POST", "HEAD", "PUT"}


def codes_in_code() -> set[str]:
    import mlgraph.app  # noqa: F401  (imports every GatewayError subclass)
    from mlgraph.graph.errors import BACKEND_CODES, GatewayError

    found = set(BACKEND_CODES.values())
    stack = [GatewayError]
    while stack:
        cls = stack.pop()
        found.add(cls.code)
        stack.extend(cls.__subclasses__())
    for module in CODE_MODULES:
        tree = ast.parse((SRC / module).read_text())
        found |= {
            node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and re.fullmatch(r"[A-Z][A-Z_]{4,}", node.value) and node.value not in HTTP_WORDS
        }
    return found


def test_error_codes_in_the_docs_are_the_codes_of_the_code() -> None:
    text = (DOCS / "errors.md").read_text().split("## Codes", 1)[1].split("\n## ", 1)[0]
    documented = {row[0].strip("`") for row in table_rows(text) if row[0].startswith("`")}
    assert documented - codes_in_code() == set(), "docs/errors.md lists codes the code never gives"
    assert codes_in_code() - documented == set(), "codes missing from docs/errors.md"


def test_metrics_in_the_docs_are_the_instruments() -> None:
    from mlgraph.observability.metrics import Metrics

    families = {(family.name, family.type) for family in Metrics().registry.collect()}
    expected = {name + "_total" if kind == "counter" else name for name, kind in families}
    text = (DOCS / "operations.md").read_text().split("## Metrics", 1)[1].split("\n## ", 1)[0]
    documented = {name for row in table_rows(text) for name in re.findall(r"`(mlgraph_\w+)`", row[0])}
    assert documented == expected


def test_the_operations_table_names_every_file_of_queries() -> None:
    text = (DOCS / "persisted-operations.md").read_text().split("\n## ", 1)[0]
    documented = {row[0].strip("`").split("(")[0] for row in table_rows(text) if row[0].startswith("`")}
    assert documented == {path.stem for path in (ROOT / "queries").glob("*.graphql")}


def test_every_command_is_in_the_cli_page() -> None:
    import typer.main

    from mlgraph.cli import app

    def names(group: Any, prefix: str) -> Iterator[str]:
        for name, command in typer.main.get_command(group).commands.items():  # type: ignore[attr-defined]
            if hasattr(command, "commands"):
                for sub in command.commands:
                    yield f"{prefix}{name} {sub}"
            else:
                yield prefix + name

    documented = {row[0].strip("`") for row in table_rows((DOCS / "cli.md").read_text()) if row[0].startswith("`mlgraph")}
    assert documented == {f"mlgraph {name}" for name in names(app, "")}


# ---------------------------------------------------------------- links


def slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    inside, found = False, set()
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            inside = not inside
        elif not inside and line.startswith("#"):
            found.add(slug(line.lstrip("#")))
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), (page.name, target)
        if anchor and resolved.suffix == ".md":
            assert anchor in anchors(resolved), (page.name, target, sorted(anchors(resolved)))
