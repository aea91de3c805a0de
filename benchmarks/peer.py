"""A peer in the benchmark: GraphQL Mesh / Hive Gateway over the same ZenML emulator.

    python -m benchmarks.peer                  # install if needed, compose, measure N = 10 and 100 (about a minute)
    python -m benchmarks.peer --n 10 --rounds 1 --samples 5      # smoke pass
    python -m benchmarks.peer install          # npm ci into benchmarks/peer (once; ~1 minute, ~530 MB)
    python -m benchmarks.peer compose          # mesh-compose -> benchmarks/peer/supergraph.graphql
    python -m benchmarks.peer serve --zenml-url http://127.0.0.1:8237 [--port 4000]   # the peer alone, until Ctrl-C

The peer (benchmarks/peer/) is Hive Gateway serving a supergraph that GraphQL
Mesh composes from a hand-written OpenAPI description of the emulator's REST
API (`zenml.openapi.yaml`, `@omnigraph/openapi`), with the relations of the
canonical run query added by hand as batched `@resolveTo` joins
(`mesh.config.ts`) and one resolver for a step's outputs (`gateway.config.ts`).
It answers the canonical query in its own schema shape
(`benchmarks/peer/zenml_run.graphql`) with the same data.

One measurement starts, for each N, a ZenML emulator (the data set and
latency of `benchmarks.servers emulator`, plus its call counter at
`/__bench/calls`: `--count-calls`), the mlgraph gateway (`benchmarks.servers gateway`, as
`benchmarks.run` starts it) and the peer, both pointed at that emulator, and
measures three sides on the same run: mlgraph, the peer, and the hand-written
REST client of `benchmarks.run` (`zenml_baseline_op`). For each side: backend
calls per query (counted at the emulator), the backend paths, response bytes,
and sequential latency over `--rounds` rounds of `--samples` queries after a
warm-up, the sides taking turns within each round; p50 and p90 per round and
over all rounds; gateway CPU ms per query from /proc. Results go to
<out>/peer.json and <out>/peer.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks.run import (
    RUN_QUERY,
    Op,
    Server,
    free_port,
    gateway_op,
    percentile,
    source_fingerprint,
    zenml_baseline_op,
)
from benchmarks.servers import dataset_args, generate

ROOT = Path(__file__).resolve().parent.parent
PEER_DIR = Path(__file__).resolve().parent / "peer"
PEER_QUERY = (PEER_DIR / "zenml_run.graphql").read_text()
SUPERGRAPH = "supergraph.graphql"
GATEWAY_BIN = PEER_DIR / "node_modules" / ".bin" / "hive-gateway"
COMPOSE_BIN = PEER_DIR / "node_modules" / ".bin" / "mesh-compose"
SIDES = ("mlgraph", "peer", "baseline")


# ------------------------------------------------------------------ the peer's setup


def log(message: str) -> None:
    print(f"[peer] {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def ensure_installed() -> None:
    """`npm ci` (or `npm install` without a lock file) into benchmarks/peer
    when its node_modules is missing. Needs node >= 20 and npm on PATH."""
    if GATEWAY_BIN.exists() and COMPOSE_BIN.exists():
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise RuntimeError("the peer needs Node.js 20+ and npm on PATH")
    command = [npm, "ci" if (PEER_DIR / "package-lock.json").exists() else "install", "--no-audit", "--no-fund"]
    log(f"{' '.join(command[1:])} in {PEER_DIR.relative_to(ROOT)} (about a minute)")
    subprocess.run(command, cwd=PEER_DIR, check=True, timeout=900)


def compose() -> Path:
    """Compose the supergraph from mesh.config.ts (Mesh reads the OpenAPI file
    itself; the emulator's URL is read at run time from ZENML_URL)."""
    ensure_installed()
    subprocess.run(
        [str(COMPOSE_BIN), "-o", SUPERGRAPH], cwd=PEER_DIR, check=True, timeout=300,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    path = PEER_DIR / SUPERGRAPH
    if "list_users_by_ids" not in path.read_text():
        raise RuntimeError(f"mesh-compose wrote no usable {path}")
    return path


def gateway_command(port: int) -> list[str]:
    return [
        str(GATEWAY_BIN), "supergraph", SUPERGRAPH, "--config-path", "gateway.config.ts",
        "--host", "127.0.0.1", "--port", str(port), "--fork", "1",
    ]


@dataclass
class PeerServer(Server):
    """Hive Gateway, one Node process (`--fork 1`) in its own process group."""

    zenml_url: str = ""

    def start(self) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="mlgraph-bench-peer-", suffix=".log", delete=False)
        env = {**os.environ, "ZENML_URL": self.zenml_url}
        self.proc = subprocess.Popen(
            gateway_command(self.port), cwd=PEER_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )


# ------------------------------------------------------------------ measuring


def rows_from_mlgraph(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    steps = data["zenml"]["pipelineRun"]["steps"]["nodes"]
    return [
        (s["name"], tuple(
            (o["uri"], o["producer"]["name"], o["producer"]["user"]["name"], o["producer"]["user"]["email"])
            for o in s["outputs"]
        ))
        for s in steps
    ]


def rows_from_peer(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    steps = data["get_run"]["steps"]["items"]
    return [
        (s["name"], tuple(
            (o["body"]["uri"], o["producer"]["name"], o["producer"]["user"]["name"],
             o["producer"]["user"]["metadata"]["email"])
            for o in s["outputs"]
        ))
        for s in steps
    ]


def compact(answer: dict[str, Any]) -> bytes:
    return json.dumps(answer, separators=(",", ":"), ensure_ascii=False).encode()


def without_join_keys(answer: dict[str, Any]) -> dict[str, Any]:
    """The peer's answer less the two join keys its query selects only as a
    workaround (`metadata { producer_step_run_id }`, `producer { body { user { id } } }`)."""
    answer = json.loads(json.dumps(answer))
    for step in answer["data"]["get_run"]["steps"]["items"]:
        for output in step["outputs"]:
            output.pop("metadata", None)
            output["producer"].pop("body", None)
    return answer


def rows_from_rest(steps: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The same rows out of the baseline's hydrated steps: a hydrated output
    names its producer step; that step's hydrated user carries the email."""
    by_id = {s["id"]: s for s in steps}
    rows = []
    for s in steps:
        outs = []
        for versions in s["body"]["outputs"].values():
            for v in versions if isinstance(versions, list) else [versions]:
                producer = by_id[v["metadata"]["producer_step_run_id"]]
                user = producer["body"]["user"]
                outs.append((v["body"]["uri"], producer["name"], user["name"], user["metadata"]["email"]))
        rows.append((s["name"], tuple(outs)))
    return rows


async def answer(
    client: httpx.AsyncClient, name: str, url: str, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """A GraphQL server's answer, after checking it has data and no errors."""
    payload = (await client.post(url + "/graphql", json={"query": query, "variables": variables})).json()
    if payload.get("errors") or not payload.get("data"):
        raise RuntimeError(f"{name} answered errors: {str(payload.get('errors'))[:500]}")
    return payload


async def rest_rows(client: httpx.AsyncClient, emulator_url: str, run_id: str, n: int) -> list[tuple[Any, ...]]:
    """The rows out of the run's hydrated steps, read from the emulator as the baseline reads them."""
    steps = (await client.get(
        emulator_url + "/api/v1/steps",
        params={"pipeline_run_id": run_id, "hydrate": "true", "size": str(n), "sort_by": "created"},
    )).json()["items"]
    return rows_from_rest(steps)


async def backend_calls(client: httpx.AsyncClient, emulator: Server, op: Op) -> dict[str, Any]:
    """One `op` between two reads of the emulator's counter: its calls, the
    requests (raw path and query, in arrival order), the round trips they
    took and the op's response bytes."""
    await client.post(emulator.url + "/__bench/calls/reset")
    size = await op(client)
    seen = (await client.get(emulator.url + "/__bench/calls")).json()
    return {
        "backend_calls": seen["count"], "backend_round_trips": seen["round_trips"],
        "backend_requests": seen["calls"], "response_bytes": size,
    }


def summary(times: list[float]) -> dict[str, float]:
    return {
        "samples": len(times),
        "p50_ms": round(percentile(times, 50), 2),
        "p90_ms": round(percentile(times, 90), 2),
        "p99_ms": round(percentile(times, 99), 2),
        "mean_ms": round(statistics.fmean(times), 2),
    }


async def take_turns(
    client: httpx.AsyncClient, ops: dict[str, Op], processes: dict[str, Server], rounds: int, samples: int
) -> dict[str, dict[str, Any]]:
    """Sequential latency, one client: a warm-up of 3 each, then `rounds`
    rounds in which the sides take turns, `samples` queries each. Per side:
    every round's summary with its times, all rounds pooled, and the CPU ms a
    query of its process in `processes` (/proc)."""
    out: dict[str, dict[str, Any]] = {side: {"rounds": []} for side in ops}
    for op in ops.values():
        for _ in range(3):
            await op(client)
    for _ in range(rounds):
        for side, op in ops.items():
            cpu = processes[side].cpu_seconds() if side in processes else None
            times = []
            for _ in range(samples):
                t0 = time.perf_counter()
                await op(client)
                times.append((time.perf_counter() - t0) * 1000)
            result = summary(times)
            if cpu is not None:
                result["gateway_cpu_ms_per_query"] = round((processes[side].cpu_seconds() - cpu) * 1000 / samples, 2)
            out[side]["rounds"].append(result | {"times_ms": [round(t, 2) for t in times]})
    for side in ops:
        pooled = [t for r in out[side]["rounds"] for t in r["times_ms"]]
        out[side]["all_rounds"] = summary(pooled)
        cpu = [r["gateway_cpu_ms_per_query"] for r in out[side]["rounds"] if "gateway_cpu_ms_per_query" in r]
        if cpu:
            out[side]["all_rounds"]["gateway_cpu_ms_per_query"] = round(statistics.fmean(cpu), 2)
    return out


async def measure_n(n: int, latency_ms: float, rounds: int, samples: int) -> dict[str, Any]:
    dataset = generate(n)
    run = next(r for r in dataset.runs if r.status == "completed")
    servers: list[Server] = []

    def started(server: Server, probe: str) -> Server:
        servers.append(server)
        server.start()
        server.wait_ready(probe, timeout=120)
        return server

    try:
        emulator = started(
            Server("emulator", free_port(), ["--steps", str(n), "--latency-ms", str(latency_ms), "--count-calls"]),
            "/api/v1/info",
        )
        mlgraph = started(Server("gateway", free_port(), ["--zenml-url", emulator.url]), "/healthz")
        peer = started(PeerServer("peer", free_port(), [], zenml_url=emulator.url), "/readiness")
        ops: dict[str, Op] = {
            "mlgraph": gateway_op(mlgraph.url, RUN_QUERY, {"id": run.id}),
            "peer": gateway_op(peer.url, PEER_QUERY, {"id": run.id}),
            "baseline": zenml_baseline_op(emulator.url, run.id, n),
        }
        processes = {"mlgraph": mlgraph, "peer": peer}
        out: dict[str, Any] = {"n": n, "run_id": run.id}
        async with httpx.AsyncClient(timeout=120) as client:
            # Same data on all three sides.
            ml = await answer(client, "mlgraph", mlgraph.url, RUN_QUERY, {"id": run.id})
            pe = await answer(client, "peer", peer.url, PEER_QUERY, {"id": run.id})
            rows = {
                "mlgraph": rows_from_mlgraph(ml["data"]), "peer": rows_from_peer(pe["data"]),
                "baseline": await rest_rows(client, emulator.url, run.id, n),
            }
            if not (rows["mlgraph"] == rows["peer"] == rows["baseline"]) or len(rows["mlgraph"]) != n:
                raise RuntimeError("the three sides disagree on the run's steps, outputs, producers or users")
            out["outputs"] = sum(len(outs) for _, outs in rows["mlgraph"])
            out["same_data"] = True
            out["peer_bytes_without_join_keys"] = len(compact(without_join_keys(pe)))
            out["mlgraph_bytes_compact"] = len(compact(ml))
            for side, op in ops.items():
                out[side] = await backend_calls(client, emulator, op)
            for side, timed in (await take_turns(client, ops, processes, rounds, samples)).items():
                out[side] |= timed
        out["ratio_mlgraph_over_peer"] = ratios(out["mlgraph"], out["peer"])
        out["ratio_mlgraph_over_baseline"] = ratios(out["mlgraph"], out["baseline"])
        return out
    except Exception as exc:
        logs = []
        for server in servers:
            try:
                tail = Path(server.log.name).read_text(errors="replace")[-1500:]
            except (OSError, AttributeError):
                continue
            if tail.strip():
                logs.append(f"--- {server.kind} log ---\n{tail}")
        raise RuntimeError(f"{exc}\n" + "\n".join(logs)) from exc
    finally:
        for server in reversed(servers):
            server.stop()


def ratios(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float | None]:
    def r(x: float | None, y: float | None) -> float | None:
        return round(x / y, 3) if x is not None and y else None

    out = {
        "backend_calls": r(a["backend_calls"], b["backend_calls"]),
        "response_bytes": r(a["response_bytes"], b["response_bytes"]),
        "p50_ms": r(a["all_rounds"]["p50_ms"], b["all_rounds"]["p50_ms"]),
        "p90_ms": r(a["all_rounds"]["p90_ms"], b["all_rounds"]["p90_ms"]),
    }
    if "gateway_cpu_ms_per_query" in a["all_rounds"] and "gateway_cpu_ms_per_query" in b["all_rounds"]:
        out["gateway_cpu_ms_per_query"] = r(a["all_rounds"]["gateway_cpu_ms_per_query"], b["all_rounds"]["gateway_cpu_ms_per_query"])
    return out


def package_versions() -> dict[str, str]:
    wanted = json.loads((PEER_DIR / "package.json").read_text())["dependencies"]
    found = {}
    for name in wanted:
        try:
            found[name] = json.loads((PEER_DIR / "node_modules" / name / "package.json").read_text())["version"]
        except OSError:
            found[name] = "missing"
    return found


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    ensure_installed()
    log("composing the supergraph")
    compose()
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    started = time.perf_counter()
    loadavg_before = round(os.getloadavg()[0], 2)
    source_before = source_fingerprint()
    per_n = []
    for n in args.n:
        log(f"N={n}: {args.rounds} rounds of {args.samples} queries a side")
        try:
            per_n.append(await measure_n(n, args.latency_ms, args.rounds, args.samples))
        except Exception as exc:  # noqa: BLE001 - one broken size must not hide the others
            log(f"N={n} failed: {exc}")
            per_n.append({"n": n, "error": f"{type(exc).__name__}: {exc}"[:800]})
    return {
        "meta": {
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "latency_ms": args.latency_ms,
            "rounds": args.rounds,
            "samples_per_round": args.samples,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "node": node,
            "peer_packages": package_versions(),
            "platform": platform.platform(),
            "dataset": dataset_args(0) | {"steps_per_run": "N"},
            "loadavg_before": loadavg_before,
            "loadavg_after": round(os.getloadavg()[0], 2),
            "elapsed_s": round(time.perf_counter() - started, 1),
            "source_before": source_before,
            "source_after": source_fingerprint(),
        },
        "results": per_n,
    }


# ------------------------------------------------------------------ report


def fmt_bytes(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB" if n >= 1e3 else f"{n} B"


def short(request: str, limit: int = 110) -> str:
    from urllib.parse import unquote

    text = unquote(request)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def per_round(rounds: list[dict[str, Any]], key: str) -> str:
    return " / ".join(f"{r[key]:.1f}" for r in rounds)


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    source = meta["source_before"]
    changed = " (src/ changed during the run)" if meta["source_after"]["src_sha256"] != source["src_sha256"] else ""
    packages = ", ".join(f"{k} {v}" for k, v in meta["peer_packages"].items())
    lines = [
        "# mlgraph vs a GraphQL Mesh / Hive Gateway peer (ZenML run query)",
        "",
        f"{meta['date']}; commit {str(source['commit'])[:12]}, src {source['src_sha256']}{changed}; "
        f"{meta['cpus']} CPUs, load {meta['loadavg_before']} → {meta['loadavg_after']}; "
        f"Python {meta['python']}, Node {meta['node']}; {packages}.",
        "",
        f"Emulator latency {meta['latency_ms']:g} ms a call. Sequential latency, one client: "
        f"{meta['rounds']} rounds of {meta['samples_per_round']} queries per side after a warm-up, the sides "
        "taking turns each round. Backend calls counted at the emulator; response bytes are what the "
        "client receives (baseline: its two hydrated REST payloads). See benchmarks/README.md, "
        "\"A peer: GraphQL Mesh / Hive Gateway\".",
        "",
        "| N | side | backend calls | round trips | response bytes | p50 ms | p90 ms | p50 per round | p90 per round "
        "| gateway CPU ms/query |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for m in results["results"]:
        if "error" in m:
            lines.append(f"| {m['n']} | error | {m['error'][:200]} | | | | | | | |")
            continue
        for side in SIDES:
            s = m[side]
            rounds = s["rounds"]
            cpu = s["all_rounds"].get("gateway_cpu_ms_per_query")
            lines.append(
                f"| {m['n']} | {side} | {s['backend_calls']} | {s['backend_round_trips']} | {fmt_bytes(s['response_bytes'])} | "
                f"{s['all_rounds']['p50_ms']:.1f} | {s['all_rounds']['p90_ms']:.1f} | "
                f"{per_round(rounds, 'p50_ms')} | {per_round(rounds, 'p90_ms')} | "
                f"{'' if cpu is None else f'{cpu:.1f}'} |"
            )
    lines += [""]
    for m in results["results"]:
        if "error" not in m:
            lines.append(
                f"N = {m['n']}: {m['outputs']} outputs; same rows on all three sides. Without the two join keys its "
                f"query selects as a workaround, the peer's answer is {fmt_bytes(m['peer_bytes_without_join_keys'])} "
                f"(mlgraph's, serialised the same way: {fmt_bytes(m['mlgraph_bytes_compact'])})."
            )
    lines += ["", "Ratios (all rounds pooled; below 1: mlgraph makes fewer calls, sends fewer bytes, answers sooner):", ""]
    lines += ["| N | ratio | backend calls | response bytes | p50 | p90 | gateway CPU |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for m in results["results"]:
        if "error" in m:
            continue
        for label, key in (("mlgraph / peer", "ratio_mlgraph_over_peer"), ("mlgraph / baseline", "ratio_mlgraph_over_baseline")):
            r = m[key]
            cell = lambda v: "" if v is None else f"{v:.2f}"  # noqa: E731
            lines.append(
                f"| {m['n']} | {label} | {cell(r['backend_calls'])} | {cell(r['response_bytes'])} | "
                f"{cell(r['p50_ms'])} | {cell(r['p90_ms'])} | {cell(r.get('gateway_cpu_ms_per_query'))} |"
            )
    lines += ["", "Backend requests per query, in arrival order (decoded; long ones cut; whole in peer.json):", ""]
    for m in results["results"]:
        if "error" in m:
            continue
        for side in SIDES:
            lines.append(f"- N = {m['n']}, {side}: " + ", ".join(f"`{short(p)}`" for p in m[side]["backend_requests"]))
    lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------------ CLI


def serve(zenml_url: str, port: int) -> None:
    compose()
    server = PeerServer("peer", port, [], zenml_url=zenml_url)
    server.start()
    try:
        server.wait_ready("/readiness", timeout=120)
        log(f"Hive Gateway on {server.url}/graphql over {zenml_url}; Ctrl-C stops it")
        server.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        log_path = server.log.name
        server.stop()
        if server.proc.returncode not in (0, -signal.SIGTERM, None):
            log(f"the gateway exited with {server.proc.returncode} (log was {log_path})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.peer", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("install", help="npm ci into benchmarks/peer when node_modules is missing")
    sub.add_parser("compose", help="compose benchmarks/peer/supergraph.graphql")
    serve_cmd = sub.add_parser("serve", help="run the peer gateway in the foreground")
    serve_cmd.add_argument("--zenml-url", required=True)
    serve_cmd.add_argument("--port", type=int, default=4000)
    parser.add_argument("--latency-ms", type=float, default=20.0, help="injected backend latency per call")
    parser.add_argument("--n", type=int, nargs="+", default=[10, 100], help="step counts to measure")
    parser.add_argument("--rounds", type=int, default=3, help="latency rounds per side")
    parser.add_argument("--samples", type=int, default=20, help="queries per side per round")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    if args.command == "install":
        ensure_installed()
    elif args.command == "compose":
        print(compose())
    elif args.command == "serve":
        serve(args.zenml_url, args.port)
    else:
        results = asyncio.run(main_async(args))
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "peer.json").write_text(json.dumps(results, indent=2) + "\n")
        text = markdown(results)
        (args.out / "peer.md").write_text(text)
        print(text)


if __name__ == "__main__":
    main()
