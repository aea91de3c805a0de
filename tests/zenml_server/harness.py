"""Run a real ZenML server, with authentication on, for the test suite.

Why a real server: the gateway's ZenML client is written against recorded
samples and an emulator; only a real server proves that routes, filters
(``oneof:``), paging, hydration and auth behave the way the client assumes.

Why this shape:

- ZenML lives in a virtualenv of its own (``$MLGRAPH_ZENML_VENV``, default
  ``~/.cache/mlgraph/zenml-venv``) because it pins its own FastAPI and
  pydantic; the project's venv never imports it. The venv is created once
  and reused while ``import zenml.zen_server`` works and the version matches
  :data:`ZENML_VERSION`. An install failure raises with pip's output tail:
  the suite must fail loudly in CI, never skip.
- The server is plain ``uvicorn zenml.zen_server.zen_server_api:app``, not
  ``zenml login --local``: the local daemon runs with ``NO_AUTH`` while a
  uvicorn-started server defaults to ``OAUTH2_PASSWORD_BEARER``, which is
  what deployed servers (and so the gateway) face.
- Everything lives in one temp dir (SQLite DB, server config, client config,
  logs), so runs are hermetic and ``stop()`` removes every trace. Inherited
  ``ZENML_*`` variables are dropped so a developer's own ZenML settings
  cannot leak in.
- The gateway authenticates as a service account with an API key, as it
  would in production. An API key works as a bearer token but costs ~1 s a
  request (the server hashes it), so the harness also exchanges it once at
  ``/api/v1/login`` for a JWT (``gateway_token``).
- The data comes from really running a pipeline (``populate.py``) with the
  ZenML venv's python against this server, so runs, steps, artifacts and
  model versions have the exact shapes ZenML itself produces.

Usage::

    with ZenMLServer() as zs:
        httpx.get(f"{zs.api_url}/runs",
                  headers={"Authorization": f"Bearer {zs.gateway_token}"})
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Iterator, TypedDict

import httpx

#: The ZenML version the suite is written and verified against. Bump it
#: deliberately: the gateway's wire models follow this server's layout.
ZENML_VERSION = "0.98.0"

#: Where the ZenML venv goes unless ``$MLGRAPH_ZENML_VENV`` says otherwise.
DEFAULT_VENV_DIR = Path.home() / ".cache" / "mlgraph" / "zenml-venv"

#: Name of the service account the gateway authenticates as.
SERVICE_ACCOUNT_NAME = "gateway-tests"

POPULATE_SCRIPT = Path(__file__).with_name("populate.py")
SUMMARY_PREFIX = "MLGRAPH_POPULATE_SUMMARY "

_PIP_TIMEOUT_S = 1200.0
_POPULATE_TIMEOUT_S = 300.0
_LOG_TAIL_LINES = 60


class ZenMLServerError(RuntimeError):
    """The ZenML venv, server or population failed; the message says why."""


# --------------------------------------------------------------------------
# What populate.py created (its JSON summary line, typed)
# --------------------------------------------------------------------------


class StepInfo(TypedDict):
    """One step run: id and status (``completed`` / ``failed``)."""

    id: str
    status: str


class ModelVersionRef(TypedDict):
    """The model version a run is linked to."""

    id: str
    name: str
    number: int


class RunInfo(TypedDict):
    """One pipeline run; ``steps`` is keyed by step name."""

    id: str
    name: str
    status: str
    tags: list[str]
    steps: dict[str, StepInfo]
    model_version: ModelVersionRef | None


class FailedRunInfo(TypedDict):
    """The run whose ``failed_step`` raised on purpose."""

    id: str
    name: str
    failed_step: str
    failed_step_id: str


class ModelVersionInfo(TypedDict):
    """A version of the demo model; ``stage`` is ``production`` or None."""

    id: str
    name: str
    number: int
    stage: str | None


class ModelInfo(TypedDict):
    """The demo model and all its versions, by ascending number."""

    id: str
    name: str
    versions: list[ModelVersionInfo]
    production_version_id: str


class FanOutInfo(TypedDict):
    """The wide pipeline: one source, ``width`` parallel branches, one join.

    ``runs`` holds ``ok`` (every step ran), ``cached`` (every step cached)
    and ``failed`` (``failed_step`` raised; the join never started).
    """

    pipeline_name: str
    width: int
    failed_step: str
    runs: dict[str, RunInfo]
    seconds: float


class PopulateSummary(TypedDict):
    """Everything ``populate.py`` created, for exact assertions in tests."""

    pipeline_name: str
    pipeline_id: str | None
    project_id: str
    step_names: list[str]
    runs: list[RunInfo]
    failed_run: FailedRunInfo
    model: ModelInfo
    artifact_names: list[str]
    fan_out: FanOutInfo
    seconds: float


class ServiceInfo(TypedDict):
    """The service the harness registered over REST for a model version."""

    id: str
    name: str
    model_version_id: str
    pipeline_run_id: str


# --------------------------------------------------------------------------
# The ZenML virtualenv
# --------------------------------------------------------------------------


def zenml_venv_dir() -> Path:
    """The ZenML venv's directory: ``$MLGRAPH_ZENML_VENV`` or the default."""
    override = os.environ.get("MLGRAPH_ZENML_VENV")
    return Path(override).expanduser() if override else DEFAULT_VENV_DIR


def _tail(text: str, lines: int = _LOG_TAIL_LINES) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _hermetic_env(**extra: str) -> dict[str, str]:
    """The parent environment minus anything that could leak into ZenML.

    Inherited ``ZENML_*`` settings (a developer's store URL, API key, ...)
    and Python path/venv variables are dropped: the ZenML venv must see only
    what the harness sets. Pip's own ``PIP_*`` configuration is kept so CI
    mirrors/certificates still apply.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ZENML_")
        and k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    }
    env.update(
        ZENML_ANALYTICS_OPT_IN="false",
        ZENML_AUTO_OPEN_DASHBOARD="false",
        ZENML_LOGGING_COLORS_DISABLED="true",
        ZENML_ENABLE_RICH_TRACEBACK="false",
        ZENML_DISABLE_INTERACTIVE_INPUT="true",
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra)
    return env


def _venv_zenml_version(python: Path) -> str | None:
    """ZenML's version in the venv, or None if the server can't be imported."""
    if not python.exists():
        return None
    try:
        out = subprocess.run(
            [
                str(python),
                "-c",
                "import zenml, zenml.zen_server; print(zenml.__version__)",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=_hermetic_env(),
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() else None


def _base_python() -> str:
    """Interpreter to build the venv from (``$MLGRAPH_ZENML_BASE_PYTHON``,
    else ``python3`` on PATH, else this interpreter)."""
    return (
        os.environ.get("MLGRAPH_ZENML_BASE_PYTHON")
        or shutil.which("python3")
        or sys.executable
    )


def ensure_zenml_venv(
    venv_dir: Path | None = None, *, version: str = ZENML_VERSION
) -> Path:
    """Return the python of a venv with ``zenml[server]==version``, building
    it if needed.

    Reused as is when ``import zenml.zen_server`` works and the version
    matches; otherwise recreated with ``python3 -m venv --clear`` and
    ``pip install``. A file lock next to the venv serialises concurrent
    sessions (e.g. pytest-xdist workers). Raises :class:`ZenMLServerError`
    with the tool's output tail on any failure.
    """
    venv = (venv_dir or zenml_venv_dir()).expanduser().resolve()
    python = venv / "bin" / "python"
    venv.parent.mkdir(parents=True, exist_ok=True)
    lock_path = venv.parent / f".{venv.name}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if _venv_zenml_version(python) == version:
                return python
            steps: list[list[str]] = [
                [_base_python(), "-m", "venv", "--clear", str(venv)],
                [
                    str(python), "-m", "pip", "install",
                    "--disable-pip-version-check", "--no-input",
                    f"zenml[server]=={version}",
                ],
            ]
            for cmd in steps:
                try:
                    proc = subprocess.run(
                        cmd,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                        text=True,
                        timeout=_PIP_TIMEOUT_S,
                        env=_hermetic_env(),
                        stdin=subprocess.DEVNULL,
                    )
                except subprocess.TimeoutExpired as exc:
                    out = exc.output if isinstance(exc.output, str) else ""
                    raise ZenMLServerError(
                        f"timed out after {_PIP_TIMEOUT_S:.0f}s: {' '.join(cmd)}\n"
                        f"{_tail(out or '')}"
                    ) from exc
                if proc.returncode != 0:
                    hint = (
                        "\n(hint: Debian needs `apt-get install python3-venv`)"
                        if "venv" in cmd
                        else ""
                    )
                    raise ZenMLServerError(
                        f"`{' '.join(cmd)}` failed with exit code "
                        f"{proc.returncode}:\n{_tail(proc.stdout)}{hint}"
                    )
            got = _venv_zenml_version(python)
            if got != version:
                raise ZenMLServerError(
                    f"installed zenml[server]=={version} into {venv} but "
                    f"`import zenml.zen_server` gives version {got!r}"
                )
            return python
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def find_free_port() -> int:
    """A loopback port that was free a moment ago (start retries on a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------


class ZenMLServer:
    """A populated ZenML server with auth on, on a free loopback port.

    After :meth:`start` (or entering the context manager) these are set:

    - ``base_url`` (``http://127.0.0.1:<port>``) and ``api_url`` (``.../api/v1``)
    - ``admin_username`` / ``admin_password`` / ``admin_token``: the
      auto-activated admin user ``default`` and its bearer JWT
    - ``api_key``: the gateway service account's ``ZENKEY_...`` key, and
      ``gateway_token``: that key exchanged once for a bearer JWT
    - ``service_account_id`` / ``service_account_name``
    - ``populated``: what ``populate.py`` created (:class:`PopulateSummary`)
    - ``service``: the service registered for the production model version
    - ``timings``: seconds spent in ``venv``, ``ready``, ``auth``,
      ``populate`` (``of which fan-out``), ``service``
    """

    def __init__(
        self,
        *,
        venv_dir: Path | None = None,
        ready_timeout: float = 60.0,
        populate: bool = True,
        keep_dir: bool | None = None,
    ) -> None:
        """Configure; nothing runs until :meth:`start`.

        ``keep_dir`` (default: ``$MLGRAPH_ZENML_KEEP`` is set) keeps the temp
        dir after stop, for reading the server and populate logs.
        """
        self.venv_dir = venv_dir
        self.ready_timeout = ready_timeout
        self.do_populate = populate
        self.keep_dir = (
            bool(os.environ.get("MLGRAPH_ZENML_KEEP")) if keep_dir is None else keep_dir
        )
        self.python: Path | None = None
        self.workdir: Path | None = None
        self.port: int = 0
        self.base_url: str = ""
        self.api_url: str = ""
        self.admin_username = "default"
        self.admin_password = secrets.token_urlsafe(18)
        self.jwt_secret = secrets.token_hex(32)
        self.admin_token: str = ""
        self.api_key: str = ""
        self.gateway_token: str = ""
        self.service_account_id: str = ""
        self.service_account_name = SERVICE_ACCOUNT_NAME
        self.populated: PopulateSummary | None = None
        self.service: ServiceInfo | None = None
        self.timings: dict[str, float] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self) -> ZenMLServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> ZenMLServer:
        """Venv, server, auth, population; on any failure stop() and raise."""
        try:
            t = time.monotonic()
            self.python = ensure_zenml_venv(self.venv_dir)
            self.timings["venv"] = time.monotonic() - t

            self.workdir = Path(tempfile.mkdtemp(prefix="mlgraph-zenml-"))
            atexit.register(self.stop)
            t = time.monotonic()
            self._start_server()
            self.timings["ready"] = time.monotonic() - t

            t = time.monotonic()
            self._setup_auth()
            self.timings["auth"] = time.monotonic() - t

            if self.do_populate:
                t = time.monotonic()
                self.populated = self._populate()
                self.timings["populate"] = time.monotonic() - t
                self.timings["of which fan-out"] = self.populated["fan_out"]["seconds"]
                t = time.monotonic()
                self.service = self._register_service(self.populated)
                self.timings["service"] = time.monotonic() - t
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """SIGTERM the server's process group, SIGKILL after 10 s; rm temp dir.

        Idempotent, and registered with atexit as a last resort.
        """
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if proc is not None:
            # Reap any stragglers left in the group (none expected).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        workdir, self.workdir = self.workdir, None
        if workdir is not None and not self.keep_dir:
            shutil.rmtree(workdir, ignore_errors=True)
        atexit.unregister(self.stop)

    # -- helpers for tests -------------------------------------------------

    @property
    def log_path(self) -> Path | None:
        """The server's combined stdout/stderr log (inside the temp dir)."""
        return self.workdir / "server.log" if self.workdir else None

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """Last lines of the server log, for failure messages."""
        path = self.log_path
        if path is None or not path.exists():
            return "(no server log)"
        return _tail(path.read_text(errors="replace"), lines)

    def headers(self, token: str | None = None) -> dict[str, str]:
        """``Authorization`` header with ``token`` (default: gateway token)."""
        return {"Authorization": f"Bearer {token or self.gateway_token}"}

    def login(self, username: str, password: str) -> str:
        """``POST /api/v1/login`` with the password grant; returns the JWT."""
        return self._login({"username": username, "password": password})

    def exchange_api_key(self, api_key: str) -> str:
        """``POST /api/v1/login`` with ``password=<key>`` only (ZenML infers
        the ``zenml-api-key`` grant); returns a JWT that does not expire."""
        return self._login({"password": api_key})

    # -- internals ---------------------------------------------------------

    def _server_env(self, workdir: Path) -> dict[str, str]:
        return _hermetic_env(
            ZENML_STORE_URL=f"sqlite:///{workdir / 'zenml.db'}",
            ZENML_CONFIG_PATH=str(workdir / "server-cfg"),
            ZENML_SERVER_AUTO_ACTIVATE="true",
            ZENML_DEFAULT_USER_NAME=self.admin_username,
            ZENML_DEFAULT_USER_PASSWORD=self.admin_password,
            ZENML_SERVER_JWT_SECRET_KEY=self.jwt_secret,
            # Explicit, although it is the default for a uvicorn-run server:
            # the whole point is to test with auth on.
            ZENML_SERVER_AUTH_SCHEME="OAUTH2_PASSWORD_BEARER",
            ZENML_SERVER_RATE_LIMIT_ENABLED="false",
        )

    def _start_server(self) -> None:
        assert self.python is not None and self.workdir is not None
        last_error, code = "", None
        for _attempt in range(3):
            self.port = find_free_port()
            self.base_url = f"http://127.0.0.1:{self.port}"
            self.api_url = f"{self.base_url}/api/v1"
            if self._log_file is not None:
                self._log_file.close()
            self._log_file = open(self.workdir / "server.log", "wb")
            self._proc = subprocess.Popen(
                [
                    str(self.python), "-m", "uvicorn",
                    "zenml.zen_server.zen_server_api:app",
                    "--host", "127.0.0.1", "--port", str(self.port),
                ],
                cwd=self.workdir,
                env=self._server_env(self.workdir),
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() kills all
            )
            if self._wait_ready():
                return
            code = self._proc.poll()
            last_error = self.log_tail()
            if code is None or "address already in use" not in last_error.lower():
                break
            self._proc = None  # lost a port race; try another port
        state = (
            f"exited with code {code}" if code is not None
            else f"not ready within {self.ready_timeout:.0f}s"
        )
        raise ZenMLServerError(
            f"ZenML server on {self.base_url} {state}.\n"
            f"--- server log tail ---\n{last_error}"
        )

    def _wait_ready(self) -> bool:
        """Poll ``/api/v1/info`` (no auth needed) until 200 or timeout/exit."""
        assert self._proc is not None
        deadline = time.monotonic() + self.ready_timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    return False
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.api_url}/info").status_code == 200:
                        return True
                time.sleep(0.25)
        return False

    def _client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.api_url, headers=headers, timeout=30.0)

    def _check(self, resp: httpx.Response, what: str) -> Any:
        if resp.status_code >= 400:
            raise ZenMLServerError(
                f"{what}: HTTP {resp.status_code} {resp.text[:2000]}\n"
                f"--- server log tail ---\n{self.log_tail(30)}"
            )
        return resp.json()

    def _login(self, form: dict[str, str]) -> str:
        with self._client() as c:
            body = self._check(c.post("/login", data=form), "login")
        token = body.get("access_token")
        if not token:
            raise ZenMLServerError(f"login returned no access_token: {body}")
        return str(token)

    def _setup_auth(self) -> None:
        """Admin login, service account + API key, key-for-JWT exchange."""
        self.admin_token = self.login(self.admin_username, self.admin_password)
        with self._client(self.admin_token) as c:
            sa = self._check(
                c.post(
                    "/service_accounts",
                    json={
                        "name": self.service_account_name,
                        "description": "mlgraph gateway under test",
                        "active": True,
                    },
                ),
                "create service account",
            )
            self.service_account_id = str(sa["id"])
            key = self._check(
                c.post(
                    f"/service_accounts/{self.service_account_id}/api_keys",
                    json={"name": "gateway", "description": "mlgraph tests"},
                ),
                "create API key",
            )
        # The plain key is only ever returned by this create call.
        self.api_key = str(key["body"]["key"])
        self.gateway_token = self.exchange_api_key(self.api_key)
        with self._client(self.gateway_token) as c:
            me = self._check(c.get("/current-user"), "current-user via API key token")
        if str(me["id"]) != self.service_account_id or not me["body"].get(
            "is_service_account"
        ):
            raise ZenMLServerError(f"API key token authenticates as {me!r}")

    def _populate(self) -> PopulateSummary:
        """Run populate.py in the ZenML venv as the gateway service account."""
        assert self.python is not None and self.workdir is not None
        log_path = self.workdir / "populate.log"
        env = _hermetic_env(
            ZENML_STORE_URL=self.base_url,
            ZENML_STORE_API_KEY=self.api_key,
            ZENML_CONFIG_PATH=str(self.workdir / "client-cfg"),
        )
        with open(log_path, "w") as log:
            try:
                proc = subprocess.run(
                    [str(self.python), str(POPULATE_SCRIPT)],
                    cwd=self.workdir,  # no .zen repo / git repo around
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                    timeout=_POPULATE_TIMEOUT_S,
                )
            except subprocess.TimeoutExpired as exc:
                raise ZenMLServerError(
                    f"populate.py timed out after {_POPULATE_TIMEOUT_S:.0f}s\n"
                    f"{_tail(log_path.read_text(errors='replace'))}"
                ) from exc
        stdout = proc.stdout or ""
        (self.workdir / "populate.out").write_text(stdout)
        summary_lines = [
            ln for ln in stdout.splitlines() if ln.startswith(SUMMARY_PREFIX)
        ]
        if proc.returncode != 0 or not summary_lines:
            raise ZenMLServerError(
                f"populate.py failed (exit {proc.returncode}).\n--- stdout ---\n"
                f"{_tail(stdout, 20)}\n--- stderr ---\n"
                f"{_tail(log_path.read_text(errors='replace'))}"
            )
        summary: PopulateSummary = json.loads(
            summary_lines[-1][len(SUMMARY_PREFIX) :]
        )
        return summary

    def _register_service(self, summary: PopulateSummary) -> ServiceInfo:
        """``POST /api/v1/services`` for the production model version.

        ZenML has no real model server here; a ``fake`` flavor with dead
        URLs (port 9, discard) is enough to give the graph a service linked
        to a model version and a run.
        """
        mv_id = summary["model"]["production_version_id"]
        run = next(
            r
            for r in summary["runs"]
            if r["model_version"] and r["model_version"]["id"] == mv_id
        )
        name = "gateway-demo-deployment"
        with self._client(self.gateway_token) as c:
            body = self._check(
                c.post(
                    "/services",
                    json={
                        "name": name,
                        "project": summary["project_id"],
                        "service_type": {
                            "type": "model-serving",
                            "flavor": "fake",
                            "name": "fake-model-server",
                            "description": "fake service for gateway tests",
                        },
                        "service_source": "zenml.services.service.BaseService",
                        "config": {
                            "service_name": name,
                            "model_name": summary["model"]["name"],
                        },
                        "labels": {"env": "test"},
                        "status": {"state": "active"},
                        "prediction_url": "http://127.0.0.1:9/predict",
                        "health_check_url": "http://127.0.0.1:9/health",
                        "model_version_id": mv_id,
                        "pipeline_run_id": run["id"],
                    },
                ),
                "register service",
            )
        return {
            "id": str(body["id"]),
            "name": name,
            "model_version_id": mv_id,
            "pipeline_run_id": run["id"],
        }


@contextlib.contextmanager
def running_zenml_server(**kwargs: Any) -> Iterator[ZenMLServer]:
    """``with running_zenml_server() as zs:`` — same as ``with ZenMLServer()``."""
    with ZenMLServer(**kwargs) as server:
        yield server


def _raise_exit(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":  # manual use: start, print details, wait for ^C/TERM
    # Background jobs inherit SIGINT as ignored; make INT and TERM both
    # unwind through stop() so the server never outlives this process.
    signal.signal(signal.SIGINT, _raise_exit)
    signal.signal(signal.SIGTERM, _raise_exit)
    with ZenMLServer(keep_dir=True) as zs:
        print(
            json.dumps(
                {
                    "base_url": zs.base_url,
                    "admin_password": zs.admin_password,
                    "api_key": zs.api_key,
                    "gateway_token": zs.gateway_token,
                    "workdir": str(zs.workdir),
                    "timings": zs.timings,
                    "service": zs.service,
                },
                indent=2,
            ),
            flush=True,
        )
        signal.pause()
