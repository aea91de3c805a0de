"""The server as deployed: graceful drain on SIGTERM, several workers.

Real processes on real ports: uvicorn's shutdown and its worker supervisor
are what is under test, and neither runs inside a TestClient.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.redis_server.harness import free_port

REPO = Path(__file__).resolve().parents[1]
USERS = "query Users { zenml { users(first: 2) { nodes { name } } } }"


def mlgraph_command() -> list[str]:
    script = Path(sys.executable).with_name("mlgraph")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from mlgraph.cli import app; app()"]


@contextmanager
def process(command: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """A process over a clean MLGRAPH_* environment; killed (its group) if still running at the end."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MLGRAPH_")}
    clean.update(env or {}, PYTHONUNBUFFERED="1")
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command, cwd=REPO, env=clean, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not start:\n{log.read_text(errors='replace')[-3000:]}")


def test_sigterm_lets_a_request_in_flight_finish(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "demo.log"
    command = [*mlgraph_command(), "demo", "--port", str(port), "--latency-ms", "1000"]
    with process(command, log, {"MLGRAPH_LIMITS__RATE_PER_MINUTE": "0"}) as proc:
        wait_healthy(url, proc, log)
        answers: list[httpx.Response] = []
        request = threading.Thread(
            target=lambda: answers.append(httpx.post(f"{url}/graphql", json={"query": USERS}, timeout=30))
        )
        started = time.monotonic()
        request.start()
        time.sleep(0.4)  # the request is waiting on the emulator's 1 s
        proc.send_signal(signal.SIGTERM)
        request.join(timeout=30)
        assert proc.wait(timeout=30) == 0, log.read_text(errors="replace")[-3000:]
    (answer,) = answers
    assert answer.status_code == 200
    assert answer.json()["data"]["zenml"]["users"]["nodes"]
    assert time.monotonic() - started >= 1.0


EMULATOR = (
    "import sys, uvicorn\n"
    "from mlgraph.sandbox.zenml import create_zenml_emulator\n"
    "from mlgraph.sandbox.zenml_data import ZenMLDataset\n"
    "app = create_zenml_emulator(ZenMLDataset.generate(seed=7, pipelines=2, runs_per_pipeline=2, steps_per_run=2))\n"
    "uvicorn.run(app, host='127.0.0.1', port=int(sys.argv[1]), log_level='warning')\n"
)


def test_two_workers_both_serve(tmp_path: Path) -> None:
    emulator_port, port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    emulator_log, log = tmp_path / "emulator.log", tmp_path / "serve.log"
    env = {
        "MLGRAPH_ZENML__URL": f"http://127.0.0.1:{emulator_port}",
        "MLGRAPH_LIMITS__RATE_PER_MINUTE": "0",
        "MLGRAPH_GRAPHIQL": "false",
    }
    serve = [*mlgraph_command(), "serve", "--workers", "2", "--port", str(port), "--log-format", "json"]
    with process([sys.executable, "-c", EMULATOR, str(emulator_port)], emulator_log) as emulator:
        wait_healthy_emulator = f"http://127.0.0.1:{emulator_port}"
        deadline = time.monotonic() + 30
        while emulator.poll() is None and time.monotonic() < deadline:
            try:
                httpx.get(f"{wait_healthy_emulator}/api/v1/info", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        with process(serve, log, env) as proc:
            wait_healthy(url, proc, log)

            def ask(_: int) -> dict[str, object]:
                with httpx.Client(timeout=30) as client:  # a connection each: the kernel spreads them
                    return client.post(f"{url}/graphql", json={"query": USERS}).json()

            pids: set[int] = set()
            deadline = time.monotonic() + 60
            while len(pids) < 2 and time.monotonic() < deadline:
                with ThreadPoolExecutor(8) as pool:
                    for body in pool.map(ask, range(32)):
                        assert body["data"]["zenml"]["users"]["nodes"], body  # type: ignore[index]
                time.sleep(0.2)  # the access lines are flushed
                pids = {line["pid"] for line in access_lines(log)}
            assert len(pids) == 2 and proc.pid not in pids, log.read_text(errors="replace")[-3000:]
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0


def access_lines(log: Path) -> list[dict[str, object]]:
    return [line for line in log_lines(log) if line.get("logger") == "mlgraph.access" and line.get("path") == "/graphql"]


def expected_cores() -> int:
    count = getattr(os, "process_cpu_count", None)  # Python 3.13+
    return (count() if count else len(os.sched_getaffinity(0))) or os.cpu_count() or 1


def test_workers_auto_starts_one_worker_per_core(tmp_path: Path) -> None:
    cores = expected_cores()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    serve = [*mlgraph_command(), "serve", "--workers", "auto", "--port", str(port), "--log-format", "json"]
    with process(serve, log, {"MLGRAPH_LIMITS__RATE_PER_MINUTE": "0"}) as proc:
        wait_healthy(url, proc, log)
        started: set[object] = set()
        deadline = time.monotonic() + 60
        while len(started) < cores and time.monotonic() < deadline:
            time.sleep(0.2)
            started = {line["pid"] for line in log_lines(log) if line.get("message") == "Application startup complete."}
        assert len(started) == cores, log.read_text(errors="replace")[-3000:]
        if cores > 1:
            assert proc.pid not in started  # workers, not the supervisor
        assert f"workers: {cores} (one per core)" in log.read_text(errors="replace").splitlines()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def test_workers_auto_counts_the_cores_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    import typer

    from mlgraph.cli import cores, worker_count

    monkeypatch.delattr(os, "process_cpu_count", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 2, 5}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert cores() == 3 and worker_count("auto") == 3 and worker_count("AUTO") == 3
    monkeypatch.delattr(os, "sched_getaffinity")  # macOS, Windows: every core of the machine
    assert cores() == 64
    monkeypatch.setattr(os, "process_cpu_count", lambda: 4, raising=False)  # 3.13 knows best
    assert cores() == 4
    assert worker_count("6") == 6
    for bad in ("0", "-2", "many", ""):
        with pytest.raises(typer.BadParameter):
            worker_count(bad)


def log_lines(log: Path) -> list[dict[str, object]]:
    lines = []
    for raw in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if isinstance(entry, dict):
            lines.append(entry)
    return lines
