"""Drive the official `abacusai` SDK against the Abacus.AI emulator.

Why: the emulator (and so the gateway's Abacus.AI client written against it)
is only as right as its reading of the wire. The SDK is Abacus.AI's own
reading: how it builds `/api/v0/{method}` calls, which methods are GET or
POST, what `getApiEndpoint` and `version` must answer at start-up, how it
turns `{"success", "result"}` into its classes and `errorType` into its
exception classes. If the SDK can talk to the emulator, the emulator speaks
Abacus.AI.

Why this shape:

- The SDK lives in a virtualenv of its own (``$MLGRAPH_ABACUS_VENV``, default
  ``~/.cache/mlgraph/abacus-venv``): it pulls in pandas and requests, which
  the project's venv does not need. The venv is created once (``pip install
  "abacusai>=ABACUSAI_MIN_VERSION"``, ~25 s) and reused while ``import
  abacusai`` works and its version is at least :data:`ABACUSAI_MIN_VERSION`.
  Any failure raises with the tool's output tail: the suite must fail loudly,
  never skip.
- The emulator runs under uvicorn in a subprocess of the project's own
  python (``serve.py``), which binds port 0 and reports the port it got, so
  concurrent sessions never race for a port.
- ``sdk_calls.py`` runs in the SDK venv, performs a plan of SDK calls sent on
  stdin (JSON) and prints what the SDK objects hold as one JSON line; the
  tests compare that with the data set. Inherited ``ABACUS_*`` variables
  (which the SDK reads for the key, server, notebook and pipeline ids) are
  dropped so a developer's own settings cannot leak in.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

#: The SDK release the suite was written and verified against; newer ones are
#: accepted (and installed when the cached venv is older or missing).
ABACUSAI_MIN_VERSION = "1.4.119"

#: Where the SDK venv goes unless ``$MLGRAPH_ABACUS_VENV`` says otherwise.
DEFAULT_VENV_DIR = Path.home() / ".cache" / "mlgraph" / "abacus-venv"

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
SERVE_SCRIPT = HERE / "serve.py"
SDK_SCRIPT = HERE / "sdk_calls.py"
READY_PREFIX = "MLGRAPH_ABACUS_PORT "
RESULT_PREFIX = "MLGRAPH_SDK_RESULT "

_PIP_TIMEOUT_S = 600.0
_SCRIPT_TIMEOUT_S = 180.0
_READY_TIMEOUT_S = 30.0
_LOG_TAIL_LINES = 60


class AbacusSdkError(RuntimeError):
    """The SDK venv, the emulator server or the SDK script failed; the message says why."""


def abacus_venv_dir() -> Path:
    """The SDK venv's directory: ``$MLGRAPH_ABACUS_VENV`` or the default."""
    override = os.environ.get("MLGRAPH_ABACUS_VENV")
    return Path(override).expanduser() if override else DEFAULT_VENV_DIR


def _tail(text: str, lines: int = _LOG_TAIL_LINES) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _version_key(version: str) -> tuple[int, ...]:
    """`1.4.119` -> (1, 4, 119); anything after the numeric release is ignored."""
    match = re.match(r"\d+(?:\.\d+)*", version.strip())
    return tuple(int(part) for part in match.group(0).split(".")) if match else ()


def _hermetic_env(**extra: str) -> dict[str, str]:
    """The parent environment minus what could leak into the SDK or the server.

    ``ABACUS_*`` settings (API key, server, notebook/pipeline ids) and Python
    path/venv variables are dropped. Pip's own ``PIP_*`` configuration is
    kept so mirrors and certificates still apply.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ABACUS_")
        and k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    }
    env.update(PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def _venv_sdk_version(python: Path) -> str | None:
    """The SDK's version in the venv, or None if ``import abacusai`` fails."""
    if not python.exists():
        return None
    try:
        out = subprocess.run(
            [str(python), "-c", "import abacusai; print(abacusai.__version__)"],
            capture_output=True,
            text=True,
            timeout=120,
            env=_hermetic_env(),
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = out.stdout.strip().splitlines()
    return lines[-1].strip() if out.returncode == 0 and lines else None


def _base_python() -> str:
    """Interpreter to build the venv from (``$MLGRAPH_ABACUS_BASE_PYTHON``,
    else ``python3`` on PATH, else this interpreter)."""
    return os.environ.get("MLGRAPH_ABACUS_BASE_PYTHON") or shutil.which("python3") or sys.executable


def ensure_abacus_venv(venv_dir: Path | None = None, *, minimum: str = ABACUSAI_MIN_VERSION) -> tuple[Path, str]:
    """The python of a venv with ``abacusai>=minimum`` and the SDK version in it, building it if needed.

    A file lock next to the venv serialises concurrent sessions. Raises
    :class:`AbacusSdkError` with the tool's output tail on any failure.
    """
    venv = (venv_dir or abacus_venv_dir()).expanduser().resolve()
    python = venv / "bin" / "python"
    venv.parent.mkdir(parents=True, exist_ok=True)
    lock_path = venv.parent / f".{venv.name}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            found = _venv_sdk_version(python)
            if found is not None and _version_key(found) >= _version_key(minimum):
                return python, found
            steps: list[list[str]] = [
                [_base_python(), "-m", "venv", "--clear", str(venv)],
                [
                    str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
                    f"abacusai>={minimum}",
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
                    raise AbacusSdkError(
                        f"timed out after {_PIP_TIMEOUT_S:.0f}s: {' '.join(cmd)}\n{_tail(out or '')}"
                    ) from exc
                if proc.returncode != 0:
                    hint = "\n(hint: Debian needs `apt-get install python3-venv`)" if "venv" in cmd else ""
                    raise AbacusSdkError(
                        f"could not build the abacusai SDK venv in {venv}: `{' '.join(cmd)}` exited with "
                        f"{proc.returncode}:\n{_tail(proc.stdout)}{hint}"
                    )
            got = _venv_sdk_version(python)
            if got is None or _version_key(got) < _version_key(minimum):
                raise AbacusSdkError(
                    f"installed abacusai>={minimum} into {venv} but `import abacusai` gives version {got!r}"
                )
            return python, got
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class EmulatorServer:
    """The Abacus.AI emulator under uvicorn on a loopback port, in a subprocess.

    After :meth:`start`: ``port``, ``base_url`` (``http://127.0.0.1:<port>``)
    and ``api_key``. Serves ``AbacusData.generate(seed=seed)``.
    """

    def __init__(self, *, seed: int = 7, api_key: str | None = None, ready_timeout: float = _READY_TIMEOUT_S) -> None:
        self.seed = seed
        self.api_key = api_key or f"abacus-{secrets.token_hex(8)}"
        self.ready_timeout = ready_timeout
        self.port = 0
        self.base_url = ""
        self.workdir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def log_path(self) -> Path | None:
        return None if self.workdir is None else self.workdir / "server.log"

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        path = self.log_path
        if path is None or not path.exists():
            return "(no server log)"
        return _tail(path.read_text(errors="replace"), lines)

    def start(self) -> EmulatorServer:
        try:
            self.workdir = Path(tempfile.mkdtemp(prefix="mlgraph-abacus-"))
            atexit.register(self.stop)
            self._log = open(self.workdir / "server.log", "wb")
            env = _hermetic_env()
            env["PYTHONPATH"] = str(REPO_ROOT / "src")  # the repo's package, even when not installed
            self._proc = subprocess.Popen(
                [sys.executable, str(SERVE_SCRIPT), "--api-key", self.api_key, "--seed", str(self.seed)],
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() ends all of it
            )
            deadline = time.monotonic() + self.ready_timeout
            while time.monotonic() < deadline:
                text = (self.workdir / "server.log").read_text(errors="replace")
                found = re.search(rf"^{re.escape(READY_PREFIX)}(\d+)$", text, re.MULTILINE)
                if found:
                    self.port = int(found.group(1))
                    self.base_url = f"http://127.0.0.1:{self.port}"
                    return self
                if self._proc.poll() is not None:
                    break
                time.sleep(0.05)
            code = self._proc.poll()
            state = f"exited with code {code}" if code is not None else f"not ready within {self.ready_timeout:.0f}s"
            raise AbacusSdkError(f"Abacus.AI emulator server {state}.\n--- server log ---\n{self.log_tail()}")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """SIGTERM the server's process group, SIGKILL after 10 s; remove the temp dir. Idempotent."""
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
        if self._log is not None:
            self._log.close()
            self._log = None
        workdir, self.workdir = self.workdir, None
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
        atexit.unregister(self.stop)


def run_sdk_plan(python: Path, server: EmulatorServer, plan: list[dict[str, Any]]) -> dict[str, Any]:
    """Run ``sdk_calls.py`` in the SDK venv against ``server``; what each step of ``plan`` gave, by label.

    See ``sdk_calls.py`` for the plan's step kinds. Raises
    :class:`AbacusSdkError` when the script fails (not when an SDK call
    raises: that is recorded as the step's ``error``).
    """
    payload = json.dumps({"server": server.base_url, "api_key": server.api_key, "plan": plan})
    with tempfile.TemporaryDirectory(prefix="mlgraph-abacus-sdk-") as workdir:
        try:
            proc = subprocess.run(
                [str(python), str(SDK_SCRIPT)],
                input=payload,
                capture_output=True,
                text=True,
                timeout=_SCRIPT_TIMEOUT_S,
                cwd=workdir,
                env=_hermetic_env(HOME=workdir),
            )
        except subprocess.TimeoutExpired as exc:
            raise AbacusSdkError(
                f"sdk_calls.py timed out after {_SCRIPT_TIMEOUT_S:.0f}s\n--- server log ---\n{server.log_tail()}"
            ) from exc
    results = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not results:
        raise AbacusSdkError(
            f"sdk_calls.py failed (exit {proc.returncode}).\n--- stdout ---\n{_tail(proc.stdout, 20)}\n"
            f"--- stderr ---\n{_tail(proc.stderr)}\n--- server log ---\n{server.log_tail()}"
        )
    parsed: dict[str, Any] = json.loads(results[-1][len(RESULT_PREFIX) :])
    return parsed
