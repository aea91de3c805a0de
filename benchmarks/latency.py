"""Time: round trips, and what the record cache saves (issue 15's targets).

    python -m benchmarks.latency                      # N = 10 and 100, the peer, the replay, BEFORE (~5 minutes)
    python -m benchmarks.latency --n 10 --rounds 1 --samples 5 --replay-seconds 5 --no-before --no-peer   # smoke

For each N one run starts, each its own process: a ZenML, a Domino and an
Abacus.AI emulator (`benchmarks.servers`, `--latency-ms` a call, each counting
its calls and round trips at /__bench/calls), two mlgraph gateways over all
three, the record cache off in one (`MLGRAPH_CACHE__ENABLED=false`: cold,
every query reads the platforms) and on in the other (warm once the query has
run), the GraphQL Mesh / Hive Gateway peer over the ZenML emulator
(`benchmarks.peer`), and for the BEFORE figures a ZenML and a Domino emulator
and a gateway of an earlier commit (`--before`, a0ff840), run from a `git
archive` of it with PYTHONPATH at its src/. Per platform, each side first
answers the canonical query twice, its calls counted at its emulator (for the
warm gateway the first is the cold one), the answers compared; then the sides
take turns, `--rounds` rounds of `--samples` sequential queries, one client.

Then the dashboard replay: the queries of queries/ (not the mutations), with
ids from the demo's data, in a loop for `--replay-seconds` against the demo's
gateway (`benchmarks.servers demo`, the same latency), once with the record
cache off and once on; backend calls per query counted at the emulators.

Each target line of the report says PASS or MISS with the figure and the bound.
Results go to <out>/latency.json and <out>/latency.md; the Markdown is printed.
See benchmarks/README.md, "Latency: round trips and the record cache".
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from benchmarks.peer import (
    PEER_QUERY,
    PeerServer,
    answer,
    backend_calls,
    compose,
    fmt_bytes,
    per_round,
    ratios,
    rest_rows,
    rows_from_mlgraph,
    rows_from_peer,
    short,
    summary,
    take_turns,
)
from benchmarks.run import (
    QUICK,
    ROOT,
    SPECS,
    Harness,
    Op,
    Server,
    abacus_baseline_op,
    canonical_case,
    domino_baseline_op,
    free_port,
    gateway_op,
    source_fingerprint,
    zenml_baseline_op,
)
from benchmarks.servers import abacus_generate, abacus_referenced, abacus_version

#: ZenML's canonical query: the run with its steps, then the steps' user.
ZENML_ROUND_TRIPS = 2
ZENML_COLD_P50_MS = {10: 55.0, 100: 70.0}
#: Warm p50 at most this many times the hand-written client's.
ZENML_WARM_RATIO = {10: 1.0, 100: 0.5}
#: Domino's: the job list with the users, the tiers and the project at once.
DOMINO_ROUND_TRIPS = 1
DOMINO_COLD_P50_MS = {10: 35.0, 100: 50.0}
#: Backend calls per replayed query at least this many times fewer with the cache on.
REPLAY_FACTOR = 5.0
#: ZenML calls that must not be made warm: the run's and its steps' (`/runs…`, `/steps…`).
ZENML_RUN_PATHS = ("/api/v1/runs", "/api/v1/steps")
#: Abacus.AI describes of what cannot change once finished: the version (its step
#: versions embedded) and the versions its steps wrote. Deployments and batch
#: predictions are catalogues (kept 60 s), reported beside.
ABACUS_IMMUTABLE = ("describePipelineVersion", "describeDatasetVersion", "describeModelVersion", "describeFeatureGroupVersion")
DEBUG = {"X-Mlgraph-Debug": "1"}
PLATFORMS = ("zenml", "domino", "abacus")
COLD, WARM, PEER, CLIENT, BEFORE = "mlgraph cold", "mlgraph warm", "peer", "hand-written client", "before"


def log(message: str) -> None:
    print(f"[latency] {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ the BEFORE tree


def before_tree(rev: str, where: Path) -> dict[str, Any]:
    """`git archive REV` unpacked into `where` (once), and which mlgraph a
    process with PYTHONPATH at its src/ imports."""
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", f"{rev}^{{commit}}"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if not (where / "src" / "mlgraph").is_dir():
        where.mkdir(parents=True, exist_ok=True)
        archive = subprocess.Popen(["git", "-C", str(ROOT), "archive", commit], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", str(where)], stdin=archive.stdout, check=True)
        archive.stdout.close()
        if archive.wait():
            raise RuntimeError(f"git archive {commit} failed")
    env = {"PYTHONPATH": str(where / "src")}
    imported = subprocess.run(
        [sys.executable, "-c", "import mlgraph; print(mlgraph.__file__)"], env={**os.environ, **env},
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    if not imported.startswith(str(where)):
        raise RuntimeError(f"PYTHONPATH={where / 'src'} imports mlgraph from {imported}")
    return {"rev": rev, "commit": commit, "dir": str(where), "env": env, "imports": imported,
            "src_sha256": source_fingerprint(where)["src_sha256"]}


# ------------------------------------------------------------------ one N


@dataclass
class Stack:
    """The processes of one N."""

    emulators: dict[str, Server]
    cold: Server
    warm: Server
    peer: Server | None = None
    before_emulators: dict[str, Server] = field(default_factory=dict)
    before: Server | None = None


def start_stack(harness: Harness, n: int, latency_ms: float, peer: bool, before: dict[str, Any] | None) -> Stack:
    def emulators(names: tuple[str, ...], env: dict[str, str] | None = None) -> dict[str, Server]:
        return {
            name: harness.start(
                SPECS[name].emulator, [SPECS[name].size_flag, str(n), "--latency-ms", str(latency_ms), "--count-calls"],
                SPECS[name].probe, env,
            )
            for name in names
        }

    def gateway(over: dict[str, Server], env: dict[str, str]) -> Server:
        args = [arg for name, emulator in over.items() for arg in (SPECS[name].gateway_flag, emulator.url)]
        return harness.start("gateway", args, "/healthz", env)

    new = emulators(PLATFORMS)
    stack = Stack(new, gateway(new, {"MLGRAPH_CACHE__ENABLED": "false"}), gateway(new, {"MLGRAPH_CACHE__ENABLED": "true"}))
    if before is not None:
        # The commit's own emulators too: its gateway reads what they sent then.
        stack.before_emulators = emulators(("zenml", "domino"), before["env"])
        stack.before = gateway(stack.before_emulators, before["env"])
    if peer:
        server = PeerServer("peer", free_port(), [], zenml_url=new["zenml"].url)
        harness.servers.append(server)
        server.start()
        server.wait_ready("/readiness", timeout=120)
        stack.peer = server
    return stack


@dataclass
class Side:
    """One way of answering a platform's canonical query."""

    name: str
    op: Op
    #: Where its backend calls are counted.
    emulator: Server
    #: Its server process (CPU read from /proc); None for the hand-written client.
    process: Server | None = None
    #: An mlgraph gateway's URL: its ledger is read (X-Mlgraph-Debug) and its answer kept.
    gateway_url: str | None = None


def mlgraph_side(name: str, gateway: Server, emulator: Server, query: str, variables: dict[str, Any]) -> Side:
    return Side(name, gateway_op(gateway.url, query, variables), emulator, gateway, gateway.url)


def ledger_op(url: str, query: str, variables: dict[str, Any], into: dict[str, Any]) -> Op:
    """The query with X-Mlgraph-Debug: 1; its ledger's figures go into `into`."""

    async def op(client: httpx.AsyncClient) -> int:
        response = await client.post(url + "/graphql", json={"query": query, "variables": variables}, headers=DEBUG)
        payload = response.json()
        if response.status_code != 200 or payload.get("errors"):
            raise RuntimeError(f"gateway answered {response.status_code}: {str(payload)[:300]}")
        ledger = payload["extensions"]["ledger"]
        into.update({key: ledger.get(key) for key in ("calls", "roundTrips", "cached", "bytes")})
        return len(response.content)

    return op


async def measure_platform(
    client: httpx.AsyncClient, sides: list[Side], query: str, variables: dict[str, Any], rounds: int, samples: int
) -> dict[str, Any]:
    """Each side's query twice, its calls counted at its emulator (`first`
    and `again`: for the warm gateway, cold then warm); each mlgraph answer;
    then the sides' latency, taking turns."""
    out: dict[str, Any] = {}
    answers: dict[str, dict[str, Any]] = {}
    for side in sides:
        first = await backend_calls(client, side.emulator, side.op)
        ledger: dict[str, Any] = {}
        again_op = ledger_op(side.gateway_url, query, variables, ledger) if side.gateway_url else side.op
        again = await backend_calls(client, side.emulator, again_op)
        out[side.name] = {
            "first": {k: first[k] for k in ("backend_calls", "backend_round_trips", "backend_requests")},
            "backend_calls": again["backend_calls"],
            "backend_round_trips": again["backend_round_trips"],
            "backend_requests": again["backend_requests"],
            "response_bytes": first["response_bytes"],
            "ledger": ledger or None,
        }
        if side.gateway_url:
            answers[side.name] = (await answer(client, side.name, side.gateway_url, query, variables))["data"]
    for name, data in answers.items():
        out[name]["same_answer_as_cold"] = data == answers.get(COLD)
    timed = await take_turns(
        client, {s.name: s.op for s in sides}, {s.name: s.process for s in sides if s.process}, rounds, samples
    )
    for name, result in timed.items():
        out[name] |= result
    out["_answers"] = answers
    return out


async def measure_zenml(client: httpx.AsyncClient, n: int, stack: Stack, rounds: int, samples: int) -> dict[str, Any]:
    _, query, variables = canonical_case("zenml", n)
    emulator = stack.emulators["zenml"]
    sides = [mlgraph_side(COLD, stack.cold, emulator, query, variables), mlgraph_side(WARM, stack.warm, emulator, query, variables)]
    if stack.peer is not None:
        sides.append(Side(PEER, gateway_op(stack.peer.url, PEER_QUERY, variables), emulator, stack.peer))
    sides.append(Side(CLIENT, zenml_baseline_op(emulator.url, variables["id"], n), emulator))
    if stack.before is not None:
        sides.append(mlgraph_side(BEFORE, stack.before, stack.before_emulators["zenml"], query, variables))
    out = await measure_platform(client, sides, query, variables, rounds, samples)
    # The same rows on every side: the run's steps, outputs, producers and users.
    rows = {name: rows_from_mlgraph(data) for name, data in out.pop("_answers").items()}
    rows[CLIENT] = await rest_rows(client, emulator.url, variables["id"], n)
    if stack.peer is not None:
        rows[PEER] = rows_from_peer((await answer(client, PEER, stack.peer.url, PEER_QUERY, variables))["data"])
    wrong = [name for name, found in rows.items() if found != rows[CLIENT] or len(found) != n]
    if wrong:
        raise RuntimeError(f"ZenML N={n}: {', '.join(wrong)} disagree with the REST payloads on the run's rows")
    return {"n": n, "variables": variables, "same_rows": sorted(rows), **out}


async def measure_domino(client: httpx.AsyncClient, n: int, stack: Stack, rounds: int, samples: int) -> dict[str, Any]:
    _, query, variables = canonical_case("domino", n)
    emulator = stack.emulators["domino"]
    sides = [mlgraph_side(COLD, stack.cold, emulator, query, variables), mlgraph_side(WARM, stack.warm, emulator, query, variables)]
    sides.append(Side(CLIENT, domino_baseline_op(emulator.url, variables["project"], n), emulator))
    if stack.before is not None:
        sides.append(mlgraph_side(BEFORE, stack.before, stack.before_emulators["domino"], query, variables))
    out = await measure_platform(client, sides, query, variables, rounds, samples)
    for name, data in out.pop("_answers").items():
        jobs = data["domino"]["jobs"]
        complete = all(j["user"] and j["project"] and j["hardwareTier"] for j in jobs["nodes"])
        if len(jobs["nodes"]) != n or jobs["totalCount"] != n or not complete:
            raise RuntimeError(f"Domino N={n}: {name} answered {len(jobs['nodes'])} jobs (expected {n}) or left a link null")
    return {"n": n, "variables": variables, **out}


async def measure_abacus(client: httpx.AsyncClient, n: int, stack: Stack, rounds: int, samples: int) -> dict[str, Any]:
    _, query, variables = canonical_case("abacus", n)
    objects = abacus_referenced(abacus_version(abacus_generate(n), n)[1])
    emulator = stack.emulators["abacus"]
    sides = [
        mlgraph_side(COLD, stack.cold, emulator, query, variables),
        mlgraph_side(WARM, stack.warm, emulator, query, variables),
        Side(CLIENT, abacus_baseline_op(emulator.url, variables["id"], n, len(objects)), emulator),
    ]
    out = await measure_platform(client, sides, query, variables, rounds, samples)
    for name, data in out.pop("_answers").items():
        steps = data["abacus"]["pipelineVersion"]["steps"]
        targets = [ref["target"] for node in steps["nodes"] for ref in node["references"]]
        if len(steps["nodes"]) != n or not all(targets):
            raise RuntimeError(f"Abacus.AI N={n}: {name} answered {len(steps['nodes'])} steps (expected {n}) or a null target")
    return {"n": n, "variables": variables, "distinct_objects": len(objects), **out}


async def measure_n(
    n: int, latency_ms: float, rounds: int, samples: int, peer: bool, before: dict[str, Any] | None
) -> dict[str, Any]:
    harness = Harness(QUICK, latency_ms=latency_ms, tools=[])  # only its start / stop_all
    out: dict[str, Any] = {"n": n}
    try:
        stack = start_stack(harness, n, latency_ms, peer, before)
        async with httpx.AsyncClient(timeout=120) as client:
            for name, measure in (("zenml", measure_zenml), ("domino", measure_domino), ("abacus", measure_abacus)):
                log(f"N={n}: {name}")
                try:
                    out[name] = await measure(client, n, stack, rounds, samples)
                except Exception as exc:  # noqa: BLE001 - one broken platform must not hide the others
                    log(f"N={n} {name} failed: {exc}")
                    out[name] = {"n": n, "error": f"{type(exc).__name__}: {exc}"[:800]}
    finally:
        harness.stop_all()
    return out


# ------------------------------------------------------------------ the dashboard replay


def replay_variables() -> dict[str, dict[str, Any]]:
    """Variables for the queries of queries/, ids picked from the demo's data
    as tests/test_persisted_queries.py picks them; the others use their defaults."""
    from mlgraph.demo import build_sandbox

    sandbox = build_sandbox()
    zenml, domino, abacus = sandbox.zenml, sandbox.domino, sandbox.abacus
    run = next(r for r in zenml.runs if r.model_version_id and r.status == "completed")
    project = next(p for p in domino.projects if domino.can_access(p.id))
    return {
        "RunOverview": {"run": run.id},
        "RecentPipelineRuns": {"first": 5},
        "ModelVersionLineage": {"modelVersion": run.model_version_id},
        "StepRunDetail": {"step": next(s.id for s in zenml.steps if s.pipeline_run_id == run.id and s.inputs)},
        "DominoProjectJobs": {"project": project.id},
        "DominoJobLogs": {"job": next(j.id for j in domino.jobs if j.project_id == project.id and j.logs)},
        "AbacusPipelineVersions": {"pipeline": abacus.pipelines[0].id},
        "FailedExecutions": {"startedAfter": "2025-01-01T00:00:00Z", "startedBefore": "2026-01-01T00:00:00Z"},
    }


def replay_operations() -> list[tuple[Any, dict[str, Any]]]:
    """The queries of queries/ with their variables; a required one left out
    fails here, as `mlgraph query --demo` would."""
    from mlgraph.persisted.client import require_variables, request_body
    from mlgraph.persisted.manifest import load_manifest

    chosen = replay_variables()
    out = []
    for operation in load_manifest(ROOT / "queries"):
        if operation.type == "query":
            require_variables(operation, chosen.get(operation.name, {}), ROOT / "queries")
            out.append((operation, request_body(operation, chosen.get(operation.name, {}))))
    return out


async def replay(seconds: float, latency_ms: float, cache: bool) -> dict[str, Any]:
    """The queries in order, one at a time, in whole passes until `seconds`
    have gone, against a fresh demo gateway with the record cache on or off.
    Calls are counted at the emulators (in total) and by the ledger (by query)."""
    operations = replay_operations()
    harness = Harness(QUICK, latency_ms=latency_ms, tools=[])
    per_op: dict[str, dict[str, Any]] = {
        op.name: {"queries": 0, "calls": 0, "cached": 0, "first_pass_calls": None, "errors": 0, "times_ms": []}
        for op, _ in operations
    }
    first_error = None
    try:
        server = harness.start(
            "demo", ["--latency-ms", str(latency_ms)], "/healthz", {"MLGRAPH_CACHE__ENABLED": str(cache).lower()}
        )
        async with httpx.AsyncClient(timeout=120) as client:
            await client.post(server.url + "/__bench/calls/reset")
            started = time.perf_counter()
            passes = 0
            while passes == 0 or time.perf_counter() - started < seconds:
                for operation, body in operations:
                    row = per_op[operation.name]
                    t0 = time.perf_counter()
                    response = await client.post(server.url + "/graphql", json=body, headers=DEBUG)
                    row["times_ms"].append(round((time.perf_counter() - t0) * 1000, 2))
                    payload = response.json()
                    ledger = (payload.get("extensions") or {}).get("ledger") or {}
                    row["queries"] += 1
                    row["calls"] += ledger.get("calls", 0)
                    row["cached"] += ledger.get("cached", 0)
                    if row["first_pass_calls"] is None:
                        row["first_pass_calls"] = ledger.get("calls", 0)
                    if payload.get("errors") or response.status_code != 200:
                        row["errors"] += 1
                        first_error = first_error or f"{operation.name}: {str(payload.get('errors'))[:300]}"
                passes += 1
            elapsed = time.perf_counter() - started
            counted = (await client.get(server.url + "/__bench/calls")).json()
    finally:
        harness.stop_all()
    queries = sum(row["queries"] for row in per_op.values())
    calls = sum(counted.values())
    for row in per_op.values():
        row["calls_per_query"] = round(row["calls"] / row["queries"], 3)
        row["p50_ms"] = summary(row.pop("times_ms"))["p50_ms"]
    return {
        "cache": cache, "seconds": round(elapsed, 1), "passes": passes, "queries": queries,
        "emulator_calls": counted, "calls": calls, "calls_per_query": round(calls / queries, 3),
        "ledger_calls": sum(row["calls"] for row in per_op.values()),
        "ledger_cached": sum(row["cached"] for row in per_op.values()),
        "errors": sum(row["errors"] for row in per_op.values()), "first_error": first_error,
        "operations": per_op,
    }


# ------------------------------------------------------------------ targets


def measured_platform(m: dict[str, Any], name: str) -> dict[str, Any]:
    """One platform's figures at one N, or its error (the whole N's when it failed)."""
    return m.get(name) or {"error": m.get("error", "not measured")}


def target(what: str, measured: str, bound: str, ok: bool) -> dict[str, Any]:
    return {"target": what, "measured": measured, "bound": bound, "pass": ok}


def rounds_text(side: dict[str, Any]) -> str:
    return f"{side['all_rounds']['p50_ms']:.1f} ms (rounds {per_round(side['rounds'], 'p50_ms')})"


def trips_text(side: dict[str, Any]) -> tuple[int | None, str]:
    """The ledger's round trips (None from a gateway without them) and the emulator's."""
    by_ledger = (side.get("ledger") or {}).get("roundTrips")
    return by_ledger, f"ledger {by_ledger if by_ledger is not None else 'n/a'}, emulator {side['backend_round_trips']}"


def cold_targets(label: str, m: dict[str, Any], trips: int, p50_ms: dict[int, float]) -> list[dict[str, Any]]:
    cold, n = m[COLD], m["n"]
    by_ledger, text = trips_text(cold)
    out = [target(
        f"{label} cold, N = {n}: round trips", f"{text} ({cold['backend_calls']} calls)", f"= {trips}",
        by_ledger == trips and cold["backend_round_trips"] == trips,
    )]
    if n in p50_ms:
        out.append(target(f"{label} cold, N = {n}: p50", rounds_text(cold), f"≤ {p50_ms[n]:g} ms",
                          cold["all_rounds"]["p50_ms"] <= p50_ms[n]))
    return out


def zenml_warm_targets(m: dict[str, Any]) -> list[dict[str, Any]]:
    warm, client, n = m[WARM], m[CLIENT], m["n"]
    run_calls = [p for p in warm["backend_requests"] if p.startswith(ZENML_RUN_PATHS)]
    out = [target(
        f"ZenML warm, N = {n}: backend calls for the run and its steps",
        f"{len(run_calls)} (all calls: {warm['backend_calls']}, cached reads {warm['ledger']['cached']}; "
        f"cold first query {warm['first']['backend_calls']}; answer {'same as' if warm['same_answer_as_cold'] else 'DIFFERS from'} cold)",
        "= 0, same answer", not run_calls and warm["same_answer_as_cold"],
    )]
    if n in ZENML_WARM_RATIO:
        ratio = warm["all_rounds"]["p50_ms"] / client["all_rounds"]["p50_ms"]
        per = " / ".join(f"{w['p50_ms'] / c['p50_ms']:.2f}" for w, c in zip(warm["rounds"], client["rounds"]))
        out.append(target(
            f"ZenML warm, N = {n}: p50 / hand-written client's p50",
            f"{ratio:.2f}× ({warm['all_rounds']['p50_ms']:.1f} / {client['all_rounds']['p50_ms']:.1f} ms; rounds {per})",
            f"≤ {ZENML_WARM_RATIO[n]:g}×", ratio <= ZENML_WARM_RATIO[n],
        ))
    return out


def abacus_method(request: str) -> str:
    return request.split("?", 1)[0].rsplit("/", 1)[-1]


def abacus_targets(m: dict[str, Any]) -> list[dict[str, Any]]:
    warm, n = m[WARM], m["n"]
    immutable = [r for r in warm["backend_requests"] if abacus_method(r) in ABACUS_IMMUTABLE]
    others = sorted({abacus_method(r) for r in warm["backend_requests"]} - set(ABACUS_IMMUTABLE))
    return [target(
        f"Abacus.AI warm, N = {n}: calls for finished versions and immutable objects",
        f"{len(immutable)} (warm: {warm['backend_calls']} calls in all{', ' + ', '.join(others) if others else ''}; "
        f"cold: {m[COLD]['backend_calls']} = 1 + {m['distinct_objects']} objects, first query on the warm gateway "
        f"{warm['first']['backend_calls']}; answer {'same as' if warm['same_answer_as_cold'] else 'DIFFERS from'} cold)",
        "= 0, same answer", not immutable and warm["same_answer_as_cold"],
    )]


def replay_target(off: dict[str, Any], on: dict[str, Any]) -> dict[str, Any]:
    factor = off["calls_per_query"] / on["calls_per_query"] if on["calls_per_query"] else float("inf")
    return target(
        "dashboard replay: backend calls per query, cache off / on",
        f"{factor:.2f}× ({off['calls_per_query']:.2f} off over {off['queries']} queries, "
        f"{on['calls_per_query']:.2f} on over {on['queries']})",
        f"≥ {REPLAY_FACTOR:g}×", factor >= REPLAY_FACTOR and not off["errors"] and not on["errors"],
    )


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    measured: dict[str, list[dict[str, Any]]] = {name: [] for name in PLATFORMS}
    for m in results["per_n"]:
        for name in PLATFORMS:
            found = measured_platform(m, name)
            if "error" in found:
                out.append(target(f"{SPECS[name].title}, N = {m['n']}", f"failed: {found['error'][:200]}", "", False))
            else:
                measured[name].append(found)
    zenml, domino, abacus = (measured[name] for name in PLATFORMS)
    for m in zenml:
        out += cold_targets("ZenML", m, ZENML_ROUND_TRIPS, ZENML_COLD_P50_MS)
    for m in zenml:
        out += zenml_warm_targets(m)
    for m in domino:
        out += cold_targets("Domino", m, DOMINO_ROUND_TRIPS, DOMINO_COLD_P50_MS)
    for m in abacus:
        out += abacus_targets(m)
    replayed = results.get("replay") or {}
    if "off" in replayed and "on" in replayed:
        out.append(replay_target(replayed["off"], replayed["on"]))
    elif replayed.get("error"):
        out.append(target("dashboard replay", f"failed: {replayed['error'][:200]}", f"≥ {REPLAY_FACTOR:g}×", False))
    return out


# ------------------------------------------------------------------ report


def row(*cells: Any) -> str:
    """A Markdown table row."""
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def side_rows(m: dict[str, Any]) -> list[str]:
    """One line a side: calls (first query / again), round trips, bytes, p50 and p90 pooled and per round, CPU."""
    lines = [
        "| side | calls (1st / again) | round trips (ledger; emulator 1st / again) | cached reads | response bytes "
        "| p50 ms | p90 ms | p50 per round | gateway CPU ms/query |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in (COLD, WARM, PEER, CLIENT, BEFORE):
        side = m.get(name)
        if side is None:
            continue
        ledger = side.get("ledger") or {}
        by_ledger = ("n/a" if ledger.get("roundTrips") is None else ledger["roundTrips"]) if ledger else "—"
        trips = f"{by_ledger}; {side['first']['backend_round_trips']} / {side['backend_round_trips']}"
        cpu = side["all_rounds"].get("gateway_cpu_ms_per_query")
        lines.append(
            f"| {name} | {side['first']['backend_calls']} / {side['backend_calls']} | {trips} | "
            f"{('n/a' if ledger.get('cached') is None else ledger['cached']) if ledger else '—'} | "
            f"{fmt_bytes(side['response_bytes'])} | "
            f"{side['all_rounds']['p50_ms']:.1f} | {side['all_rounds']['p90_ms']:.1f} | "
            f"{per_round(side['rounds'], 'p50_ms')} | {'' if cpu is None else f'{cpu:.1f}'} |"
        )
    return lines


def platform_sections(results: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for name, title in (("zenml", "ZenML: run → steps → outputs → producer → user"),
                        ("domino", "Domino: a project's jobs → user, project, hardware tier"),
                        ("abacus", "Abacus.AI: a pipeline version → steps → references → objects")):
        lines += [f"## {title}", ""]
        for m in results["per_n"]:
            found = measured_platform(m, name)
            lines += [f"### N = {m['n']}", ""]
            if "error" in found:
                lines += [f"Failed: `{found['error'][:500]}`", ""]
                continue
            lines += side_rows(found) + [""]
            warm = found[WARM]
            lines.append(f"Warm calls (after one query): {', '.join(f'`{short(p)}`' for p in warm['backend_requests']) or 'none'}.")
            before = found.get(BEFORE)
            if before is not None:
                lines.append(f"Before's calls: {', '.join(f'`{short(p)}`' for p in before['backend_requests'])}.")
            lines.append("")
    return lines


def peer_section(results: dict[str, Any]) -> list[str]:
    measured = [(m["n"], m["zenml"]) for m in results["per_n"] if PEER in m.get("zenml", {})]
    if not measured:
        return []
    lines = [
        "## The peer (GraphQL Mesh / Hive Gateway) beside mlgraph, ZenML canonical query", "",
        "| N | side | backend calls | round trips | response bytes | p50 ms | p50 per round | ratio to the peer: calls / bytes / p50 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for n, z in measured:
        for name in (PEER, COLD, WARM):
            side = z[name]
            r = ratios(side, z[PEER]) if name != PEER else None
            lines.append(row(
                n, name, side["backend_calls"], side["backend_round_trips"], fmt_bytes(side["response_bytes"]),
                f"{side['all_rounds']['p50_ms']:.1f}", per_round(side["rounds"], "p50_ms"),
                "" if r is None else f"{r['backend_calls']:.2f} / {r['response_bytes']:.2f} / {r['p50_ms']:.2f}",
            ))
    return lines + [""]


def before_section(results: dict[str, Any]) -> list[str]:
    meta = results["meta"].get("before")
    if not meta:
        return []
    lines = [
        f"## Before ({meta['rev']}, {meta['commit'][:12]}) and after, cold", "",
        f"The gateway and emulators of {meta['rev']} (src sha256 {meta['src_sha256']}), run from a `git archive` "
        "of it in the same run, the sides taking turns; round trips counted at the emulator (that commit's "
        "ledger has none); after = the gateway on disk with the record cache off.", "",
        "| platform | N | before: calls | before: round trips | before: p50 ms (per round) | after: calls | "
        "after: round trips (ledger; emulator) | after: p50 ms (per round) | p50 after / before |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for m in results["per_n"]:
        for name, label in (("zenml", "ZenML"), ("domino", "Domino")):
            found = m.get(name, {})
            if "error" in found or BEFORE not in found:
                continue
            b, a = found[BEFORE], found[COLD]
            lines.append(row(
                label, m["n"], b["backend_calls"], b["backend_round_trips"], rounds_text(b), a["backend_calls"],
                trips_text(a)[1], rounds_text(a), f"{a['all_rounds']['p50_ms'] / b['all_rounds']['p50_ms']:.2f}",
            ))
    return lines + [""]


def replay_section(results: dict[str, Any]) -> list[str]:
    replayed = results.get("replay") or {}
    if "off" not in replayed or "on" not in replayed:
        return [f"## Dashboard replay\n\nFailed: `{replayed.get('error', 'not run')}`\n"] if replayed else []
    off, on = replayed["off"], replayed["on"]
    lines = [
        "## Dashboard replay", "",
        f"The {len(off['operations'])} queries of `queries/` in order, one at a time, in whole passes for "
        f"{results['meta']['replay_seconds']:g} s against the demo's gateway and data ({results['meta']['latency_ms']:g} ms "
        "a backend call), cache off then on, each a fresh gateway. Calls counted at the emulators; by query from the ledger.", "",
        "| cache | passes | queries | seconds | backend calls (zenml / domino / abacus) | calls per query | ledger calls / cached reads | errors |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in (off, on):
        e = r["emulator_calls"]
        lines.append(
            f"| {'on' if r['cache'] else 'off'} | {r['passes']} | {r['queries']} | {r['seconds']} | "
            f"{r['calls']} ({e.get('zenml')} / {e.get('domino')} / {e.get('abacus')}) | {r['calls_per_query']:.2f} | "
            f"{r['ledger_calls']} / {r['ledger_cached']} | {r['errors']} |"
        )
    lines += [
        "", "| query | calls per query, off | on | on, first pass | off / on | p50 ms off | p50 ms on |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, o in off["operations"].items():
        w = on["operations"][name]
        factor = f"{o['calls_per_query'] / w['calls_per_query']:.1f}" if w["calls_per_query"] else "∞"
        lines.append(
            f"| {name} | {o['calls_per_query']:.2f} | {w['calls_per_query']:.2f} | {w['first_pass_calls']} | {factor} | "
            f"{o['p50_ms']:.1f} | {w['p50_ms']:.1f} |"
        )
    for r in (off, on):
        if r["first_error"]:
            lines.append(f"\nFirst error with the cache {'on' if r['cache'] else 'off'}: `{r['first_error']}`")
    return lines + [""]


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    source = meta["source_before"]
    changed = ""
    if meta["source_after"]["src_sha256"] != source["src_sha256"]:
        by_phase = meta.get("source_by_phase")
        moved = [name for name, sha in (by_phase or {}).items() if sha != source["src_sha256"]]
        changed = f" (**src/ changed during the run**, to {meta['source_after']['src_sha256']} by its end; " + (
            "its hash at each phase was not recorded)" if by_phase is None
            else f"phases that started their processes on other code: {'; '.join(moved)})" if moved
            else "after the last phase had started its processes)"
        )
    lines = [
        "# mlgraph latency: round trips and the record cache", "",
        f"{meta['date']}; commit {str(source['commit'])[:12]}, src {source['src_sha256']}{changed}; "
        f"{meta['cpus']} CPUs, load {meta['loadavg_before']} → {meta['loadavg_after']}; Python {meta['python']}; "
        f"{meta['elapsed_s']} s.", "",
        f"Emulator latency {meta['latency_ms']:g} ms a call. Sequential latency, one client: {meta['rounds']} rounds "
        f"of {meta['samples']} queries a side after a warm-up, the sides taking turns each round; every round's p50 "
        "is shown, the figure is all rounds pooled. Cold = the gateway with the record cache off; warm = the "
        "gateway with it on, after one query. Calls counted at the emulator (1st query / again). "
        "See benchmarks/README.md, \"Latency: round trips and the record cache\".", "",
        "## Targets", "", "| target | measured | bound | result |", "| --- | --- | --- | --- |",
    ]
    for t in results["targets"]:
        lines.append(f"| {t['target']} | {t['measured']} | {t['bound']} | {'PASS' if t['pass'] else 'MISS'} |")
    lines.append("")
    lines += before_section(results) + peer_section(results) + replay_section(results) + platform_sections(results)
    return "\n".join(lines)


# ------------------------------------------------------------------ CLI


async def run(
    ns: list[int], latency_ms: float, rounds: int, samples: int, replay_seconds: float, peer: bool,
    before: dict[str, Any] | None,
) -> dict[str, Any]:
    started = time.perf_counter()
    loadavg_before = round(os.getloadavg()[0], 2)
    source_before = source_fingerprint()
    by_phase: dict[str, str] = {}

    def phase(name: str) -> None:
        """src/'s hash as a phase starts its processes: they run the code they import then."""
        by_phase[name] = source_fingerprint()["src_sha256"]
        log(name)

    if peer:
        log("composing the peer's supergraph")
        compose()
    per_n = []
    for n in ns:
        phase(f"N={n}: starting the emulators and gateways")
        try:
            per_n.append(await measure_n(n, latency_ms, rounds, samples, peer, before))
        except Exception as exc:  # noqa: BLE001 - one broken size must not hide the others
            log(f"N={n} failed: {exc}")
            per_n.append({"n": n, "error": f"{type(exc).__name__}: {exc}"[:800]})
    replayed: dict[str, Any] = {}
    if replay_seconds > 0:
        for key, cache in (("off", False), ("on", True)):
            phase(f"dashboard replay, cache {key}, {replay_seconds:g} s")
            try:
                replayed[key] = await replay(replay_seconds, latency_ms, cache)
            except Exception as exc:  # noqa: BLE001 - reported as a MISS
                log(f"replay with the cache {key} failed: {exc}")
                replayed = {"error": f"cache {key}: {type(exc).__name__}: {exc}"[:800]}
                break
    results: dict[str, Any] = {
        "meta": {
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "latency_ms": latency_ms, "rounds": rounds, "samples": samples, "replay_seconds": replay_seconds,
            "n": ns, "cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "loadavg_before": loadavg_before, "loadavg_after": round(os.getloadavg()[0], 2),
            "elapsed_s": round(time.perf_counter() - started, 1),
            "source_before": source_before, "source_after": source_fingerprint(), "source_by_phase": by_phase,
            "before": {k: v for k, v in before.items() if k != "env"} if before else None,
        },
        "per_n": per_n,
        "replay": replayed,
    }
    results["targets"] = targets(results)
    return results


app = typer.Typer(add_completion=False)


@app.command()
def main(
    n: Annotated[list[int], typer.Option("--n", help="Step / job counts, repeatable.")] = [10, 100],  # noqa: B006
    latency_ms: Annotated[float, typer.Option(help="Injected backend latency per call.")] = 20.0,
    rounds: Annotated[int, typer.Option(min=1, help="Latency rounds; the sides take turns in each.")] = 5,
    samples: Annotated[int, typer.Option(min=1, help="Sequential queries per side per round.")] = 20,
    replay_seconds: Annotated[float, typer.Option(help="Length of each dashboard replay; 0 skips it.")] = 60.0,
    before: Annotated[str, typer.Option(help="The commit measured for the BEFORE figures.")] = "a0ff840",
    before_dir: Annotated[
        Path | None, typer.Option(help="Where `git archive` of --before goes (default /tmp/mlgraph-REV).")
    ] = None,
    no_before: Annotated[bool, typer.Option("--no-before", help="Skip the BEFORE gateway.")] = False,
    no_peer: Annotated[bool, typer.Option("--no-peer", help="Skip the GraphQL Mesh / Hive Gateway peer.")] = False,
    out: Annotated[Path, typer.Option(help="Where latency.json and latency.md go.")] = Path("benchmarks/results"),
) -> None:
    """Round trips, p50 cold and warm, the record cache's calls, the peer and BEFORE, in one run."""
    tree = None if no_before else before_tree(before, before_dir or Path(f"/tmp/mlgraph-{before}"))
    results = asyncio.run(run(n, latency_ms, rounds, samples, replay_seconds, not no_peer, tree))
    out.mkdir(parents=True, exist_ok=True)
    (out / "latency.json").write_text(json.dumps(results, indent=2) + "\n")
    text = markdown(results)
    (out / "latency.md").write_text(text)
    print(text)


if __name__ == "__main__":
    app()
