"""Run a real ``redis-server`` for the tests of the shared APQ store.

Why a real server: the store's contract is redis-py's against Redis
(namespaced keys, TTLs, connection failures surfacing as exceptions), and
two gateway processes sharing registrations only mean something over a
real socket.

Why this shape:

- The binary is Debian's ``redis-server``, found on PATH (or in
  /usr/bin and /usr/sbin) or installed with ``apt-get install -y
  redis-server`` (non-interactive, ``apt-get update`` first if the first try
  fails). Debian's post-install may start the system service; in
  containers ``/usr/sbin/policy-rc.d`` usually forbids that, and the tests
  never use it: every run starts its own server. When installing is
  impossible (not root, no apt-get, no network), ``RedisServerError`` says
  why and the tests fail: they never skip quietly.
- The server listens on a free loopback port, saves nothing (``--save ""``,
  ``--appendonly no``) and keeps its log in a temp dir that ``stop()``
  removes, so runs are hermetic.
- ``stop()`` is also how a test takes Redis away from running gateways.

``GatewayProcess`` runs ``mlgraph demo --port P`` (the gateway over its
in-process emulators, the same seeded data in every process) as a real
server process, so several replicas can share one Redis.

Usage::

    with RedisServer() as server, GatewayProcess({"MLGRAPH_REDIS_URL": server.url}, log) as gateway:
        httpx.post(f"{gateway.url}/graphql", json={...})
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx
import redis

_INSTALL_TIMEOUT_S = 900.0
_READY_TIMEOUT_S = 15.0
_BINARY_DIRS = (Path("/usr/bin"), Path("/usr/sbin"), Path("/usr/local/bin"))
_REPO = Path(__file__).resolve().parents[2]


class RedisServerError(RuntimeError):
    """redis-server could not be found, installed or started; the message says why."""


def _find_binary() -> str | None:
    found = shutil.which("redis-server")
    if found:
        return found
    for folder in _BINARY_DIRS:
        candidate = folder / "redis-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _apt_get(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        return subprocess.run(
            ["apt-get", *args], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=_INSTALL_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        raise RedisServerError(f"apt-get {' '.join(args)} timed out after {_INSTALL_TIMEOUT_S:.0f}s") from exc


def redis_server_binary() -> str:
    """The path of redis-server, installing Debian's package when it is missing."""
    found = _find_binary()
    if found:
        return found
    if shutil.which("apt-get") is None:
        raise RedisServerError("redis-server is not installed and there is no apt-get to install it with")
    if os.geteuid() != 0:
        raise RedisServerError("redis-server is not installed; run `apt-get install -y redis-server` as root")
    install = ("install", "-y", "--no-install-recommends", "redis-server")
    result = _apt_get(*install)
    if result.returncode != 0:
        _apt_get("update")
        result = _apt_get(*install)
    found = _find_binary()
    if result.returncode != 0 or not found:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise RedisServerError(f"`apt-get install -y redis-server` failed (exit {result.returncode}):\n{tail}")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """One redis-server on a free loopback port, without persistence."""

    def __init__(self) -> None:
        self.port = 0
        self.workdir: Path | None = None
        self.timings: dict[str, float] = {}
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        began = time.monotonic()
        binary = redis_server_binary()
        self.timings["install_s"] = time.monotonic() - began
        self.workdir = Path(tempfile.mkdtemp(prefix="mlgraph-redis-"))
        atexit.register(self.stop)
        started = time.monotonic()
        self.port = free_port()
        self._proc = subprocess.Popen(
            [
                binary, "--port", str(self.port), "--bind", "127.0.0.1", "--protected-mode", "yes",
                "--save", "", "--appendonly", "no", "--dir", str(self.workdir),
                "--logfile", str(self.workdir / "redis.log"), "--daemonize", "no",
            ],
            cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()
        self.timings["start_s"] = time.monotonic() - started

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + _READY_TIMEOUT_S
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    break
                with contextlib.suppress(redis.RedisError):
                    if client.ping():
                        return
                time.sleep(0.05)
        finally:
            client.close()
        code = self._proc.poll()
        log = self.log_tail()
        self.stop()
        state = f"exited with code {code}" if code is not None else f"not ready within {_READY_TIMEOUT_S:.0f}s"
        raise RedisServerError(f"redis-server on port {self.port} {state}\n--- log ---\n{log}")

    def log_tail(self, lines: int = 30) -> str:
        path = self.workdir / "redis.log" if self.workdir else None
        if path is None or not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        workdir, self.workdir = self.workdir, None
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
        atexit.unregister(self.stop)


class GatewayProcess:
    """``mlgraph demo --port P`` with ``env`` over a clean ``MLGRAPH_*`` environment."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> GatewayProcess:
        self.start()
        self.wait_ready()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        script = Path(sys.executable).with_name("mlgraph")
        command = [str(script)] if script.exists() else [sys.executable, "-c", "from mlgraph.cli import app; app()"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLGRAPH_")}
        env.update(self.env, PYTHONUNBUFFERED="1")
        with open(self.log, "wb") as out:
            self._proc = subprocess.Popen(
                [*command, "demo", "--port", str(self.port)], cwd=_REPO, env=env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._proc.poll() is None:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gateway at {self.url} did not start:\n{self.output()[-3000:]}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
