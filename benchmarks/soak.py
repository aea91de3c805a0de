"""Soak: does the gateway's memory settle under a long mixed load? (issue 14)

    python -m benchmarks.soak [--requests 20000] [--warmup 2000] [--every 2000] [--concurrency 8]

The three emulators run as their own uvicorn processes (`benchmarks.servers`,
no injected latency) and the gateway as another, served as `mlgraph serve`
serves it (one worker, in its own process), so the gateway's RSS counts the
gateway alone. Requests go over loopback in a fixed rotation of kinds: each
platform's nested benchmark query, merged lists over all three, queries that
fail (bad and unknown ids, an invalid and an unparsable document, a failing
non-null root), automatic persisted queries by hash (registered on a miss, as
Apollo's client does), the `queries/` manifest's operations by `documentId`,
and documents never seen before (a new alias each time, half of them
registered by APQ) so the parse and plan caches and the APQ store keep
taking new entries.

RSS is read from ``/proc/<pid>/status`` (VmRSS; VmHWM for the peak): before
the first request, after the warm-up, after every `every` requests and at the
end, between batches, with no request in flight. What matters is the growth
after the warm-up: caches fill during it, and a gateway that does not leak
stays flat from there, its bounded caches (512 plans, the APQ store's bytes)
full.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Annotated

import httpx
import typer
from graphql import NonNullTypeNode, OperationDefinitionNode, parse

from benchmarks.run import ABACUS_QUERY, DOMINO_QUERY, QUICK, ROOT, RUN_QUERY, SPECS, Harness, Server
from benchmarks.servers import abacus_generate, abacus_version, domino_generate, domino_project, generate
from mlgraph.graph.ids import global_id
from mlgraph.persisted.manifest import load_manifest, sha256_hex

#: Rows of the nested queries: steps of the ZenML run and of the Abacus.AI version, Domino jobs.
SIZE = 20
MERGED = (
    "{ executions(first: 10) { nodes { platform name status user { name } } } "
    "pipelineRuns(first: 5) { nodes { platform name } } hardwareTiers(first: 5) { nodes { name gpuCount } } }"
)
FAILING = [
    '{ node(id: "garbage!") { id } }',
    '{ node(id: "%s") { id } }' % global_id("ZenMLStepRun", "00000000-0000-4000-8000-000000000000"),
    "{ zenml { nope } }",
    "{ zenml { ",
    '{ person(email: "x") { email } platforms { code } }',
]
#: New documents: a fresh alias on each of these (`{alias}`), one platform after another.
UNIQUE = [
    "{ {alias}: zenml { users(first: 2) { nodes { name email } } } }",
    "{ {alias}: domino { hardwareTiers(first: 2) { nodes { name cpuCores } } } }",
    "{ {alias}: abacus { projects(first: 2) { nodes { name } } } }",
]

app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0])


@dataclass
class Mix:
    """The request bodies of each kind, by the kind's request number."""

    nested: list[dict[str, Any]]
    manifest: list[dict[str, Any]]
    persisted: list[dict[str, Any]]
    #: The texts of the persisted documents by hash, sent again on a miss.
    texts: dict[str, str]

    def kinds(self) -> list[tuple[str, Callable[[int], dict[str, Any]]]]:
        return [
            ("nested", lambda n: self.nested[n % len(self.nested)]),
            ("merged", lambda n: {"query": MERGED}),
            ("failing", lambda n: {"query": FAILING[n % len(FAILING)]}),
            ("apq", lambda n: self.persisted[n % len(self.persisted)]),
            ("manifest", lambda n: self.manifest[n % len(self.manifest)]),
            ("unique", self.unique),
        ]

    def unique(self, n: int) -> dict[str, Any]:
        query = UNIQUE[n % len(UNIQUE)].replace("{alias}", f"u{n}")
        return by_hash(query, {}) | {"query": query} if n % 2 else {"query": query}


def by_hash(query: str, variables: dict[str, Any]) -> dict[str, Any]:
    return {"variables": variables, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(query)}}}


def build_mix() -> Mix:
    """Bodies over the data sets the emulators generate (`benchmarks.servers`)."""
    zenml, domino, abacus = generate(SIZE), domino_generate(SIZE), abacus_generate(SIZE)
    run = next(r for r in zenml.runs if r.status == "completed")
    project = domino_project(domino)
    version, _ = abacus_version(abacus, SIZE)
    nested = [
        {"query": RUN_QUERY, "variables": {"id": run.id}},
        {"query": DOMINO_QUERY, "variables": {"project": project, "first": SIZE}},
        {"query": ABACUS_QUERY, "variables": {"id": version.id}},
    ]
    known = {
        "run": run.id,
        "step": zenml.steps[0].id,
        "modelVersion": zenml.model_versions[0].id,
        "project": project,
        "job": next(j.id for j in domino.jobs if j.project_id == project),
        "pipeline": abacus.pipelines[0].id,
    }
    manifest = []
    for operation in load_manifest(ROOT / "queries"):
        definition = parse(operation.body).definitions[0]
        assert isinstance(definition, OperationDefinitionNode)
        required = [
            v.variable.name.value for v in definition.variable_definitions
            if isinstance(v.type, NonNullTypeNode) and v.default_value is None
        ]
        if operation.type == "query" and all(name in known for name in required):
            manifest.append({"documentId": f"sha256:{operation.id}", "variables": {name: known[name] for name in required}})
    texts = {sha256_hex(body["query"]): body["query"] for body in [*nested, {"query": MERGED}]}
    persisted = [by_hash(body["query"], body.get("variables", {})) for body in [*nested, {"query": MERGED}]]
    return Mix(nested=nested, manifest=manifest, persisted=persisted, texts=texts)


def rss_mib(pid: int, key: str = "VmRSS") -> float:
    """A figure of /proc/<pid>/status, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} for process {pid}")


@dataclass(frozen=True)
class Sample:
    point: str
    sent: int
    seconds: float
    rss: float


@dataclass
class Outcomes:
    """Answers by kind: without errors, with GraphQL errors, by HTTP status otherwise."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    sent: int = 0

    def record(self, kind: str, response: httpx.Response) -> None:
        if response.status_code != 200:
            outcome = f"HTTP {response.status_code}"
        else:
            outcome = "errors" if response.json().get("errors") else "data"
        self.counts[(kind, outcome)] += 1


async def send(client: httpx.AsyncClient, url: str, mix: Mix, kind: str, body: dict[str, Any], outcomes: Outcomes) -> None:
    """One request; an APQ miss is answered by registering, as Apollo's client does."""
    response = await client.post(url, json=body)
    outcomes.sent += 1
    codes = {e.get("extensions", {}).get("code") for e in response.json().get("errors", [])} if response.status_code == 200 else set()
    if "PERSISTED_QUERY_NOT_FOUND" in codes:
        response = await client.post(url, json=body | {"query": mix.texts[body["extensions"]["persistedQuery"]["sha256Hash"]]})
        outcomes.sent += 1
    outcomes.record(kind, response)


async def batch(url: str, mix: Mix, start: int, count: int, concurrency: int, deadline: float, outcomes: Outcomes) -> None:
    """Requests `start`.. `start + count` in the kinds' rotation, `concurrency` at a time."""
    kinds = mix.kinds()
    numbers = iter(range(start, start + count))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def worker() -> None:
            for n in numbers:
                if time.monotonic() > deadline:
                    return
                kind, body = kinds[n % len(kinds)]
                await send(client, url, mix, kind, body(n // len(kinds)), outcomes)

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def start_servers(harness: Harness) -> Server:
    """The three emulators (no latency) and a gateway over them; the gateway."""
    flags: list[str] = []
    for spec in SPECS.values():
        emulator = harness.start(spec.emulator, [spec.size_flag, str(SIZE), "--latency-ms", "0"], spec.probe)
        flags += [spec.gateway_flag, emulator.url]
    return harness.start("gateway", flags, "/healthz")


def batch_sizes(requests: int, warmup: int, every: int) -> list[int]:
    """The warm-up, then batches of `every`, `requests` in all."""
    sizes = [min(warmup, requests)] if warmup else []
    while (left := requests - sum(sizes)) > 0:
        sizes.append(min(every, left))
    return sizes


def _growth(start: Sample, end: Sample) -> str:
    growth = end.rss - start.rss
    per_k = growth / max(1, end.sent - start.sent) * 1000
    return f"{growth:+.1f} MiB ({growth / start.rss:+.1%}) over {end.sent - start.sent:,} requests, {per_k:+.3f} MiB per 1,000"


def report(samples: list[Sample], peak: float, outcomes: Outcomes) -> str:
    """The RSS table, the growth after the warm-up (the first batch) and the answers by kind."""
    base = samples[1] if len(samples) > 2 else samples[0]
    lines = ["| point | requests sent | seconds | gateway RSS (MiB) | since warm-up (MiB) |", "| --- | ---: | ---: | ---: | ---: |"]
    lines += [
        f"| {s.point} | {s.sent:,} | {s.seconds:.1f} | {s.rss:.1f} | {s.rss - base.rss:+.1f} |" for s in samples
    ]
    end, middle = samples[-1], samples[(samples.index(base) + len(samples)) // 2]
    lines += [
        "",
        f"Growth after the warm-up: {_growth(base, end)}; over the second half, once the bounded caches are "
        f"full: {_growth(middle, end)}. Peak RSS (VmHWM) {peak:.1f} MiB; {end.sent / end.seconds:.0f} requests a second.",
    ]
    kinds = sorted({kind for kind, _ in outcomes.counts})
    columns = sorted({outcome for _, outcome in outcomes.counts})
    lines += ["", "| kind | " + " | ".join(columns) + " |", "| --- |" + " ---: |" * len(columns)]
    lines += [f"| {kind} | " + " | ".join(f"{outcomes.counts[(kind, c)]:,}" for c in columns) + " |" for kind in kinds]
    return "\n".join(lines)


@app.command()
def main(
    requests: Annotated[int, typer.Option(min=1, help="Requests to send (an APQ miss adds its registration).")] = 20_000,
    warmup: Annotated[int, typer.Option(min=0, help="Requests before the RSS growth is measured.")] = 2_000,
    every: Annotated[int, typer.Option(min=1, help="Requests between RSS samples.")] = 2_000,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight at once.")] = 8,
    max_minutes: Annotated[float, typer.Option(min=0.1, help="Stop sending after this long, whatever the count.")] = 20.0,
    out: Annotated[Path | None, typer.Option(help="Also write the Markdown here.")] = None,
) -> None:
    mix = build_mix()
    harness = Harness(QUICK, latency_ms=0.0, tools=[])
    try:
        gateway = start_servers(harness)
        pid = gateway.proc.pid  # type: ignore[union-attr]
        outcomes = Outcomes()
        started = time.monotonic()
        deadline = started + max_minutes * 60
        samples = [Sample("before", 0, 0.0, rss_mib(pid))]
        sizes = batch_sizes(requests, warmup, every)
        start = 0
        for index, size in enumerate(sizes):
            if time.monotonic() > deadline:
                break
            asyncio.run(batch(gateway.url + "/graphql", mix, start, size, concurrency, deadline, outcomes))
            start += size
            point = "after warm-up" if index == 0 and warmup else "end" if index == len(sizes) - 1 else f"batch {index}"
            samples.append(Sample(point, outcomes.sent, time.monotonic() - started, rss_mib(pid)))
            print(f"[soak] {point}: {outcomes.sent:,} sent, RSS {samples[-1].rss:.1f} MiB", flush=True)
        text = report(samples, rss_mib(pid, "VmHWM"), outcomes)
    finally:
        harness.stop_all()
    print(text)
    if out is not None:
        out.write_text(text + "\n")


if __name__ == "__main__":
    app()
