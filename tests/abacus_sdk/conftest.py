"""Session fixtures: the `abacusai` SDK venv and the emulator served over HTTP.

The venv is built once (~25 s, cached at ``~/.cache/mlgraph/abacus-venv``)
and the server starts in about a second, so both are session-scoped. A
failure to build either raises (never skips): a broken SDK install must fail
the run. Deselect the group with ``-m "not abacus_sdk"``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import EmulatorServer, ensure_abacus_venv

_timings: dict[str, float] = {}
_versions: dict[str, str] = {}


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker so ``-m "not abacus_sdk"`` works without warnings."""
    config.addinivalue_line("markers", "abacus_sdk: drives the official abacusai SDK against the emulator")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.abacus_sdk)


@pytest.fixture(scope="session")
def abacus_sdk_python() -> Path:
    """The python of the SDK venv (built on first use)."""
    started = time.monotonic()
    python, version = ensure_abacus_venv()
    _timings["venv"] = time.monotonic() - started
    _versions["abacusai"] = version
    return python


@pytest.fixture(scope="session")
def abacus_server() -> Iterator[EmulatorServer]:
    """The emulator over `AbacusData.generate(seed=7)` on a loopback port; stopped at session end."""
    started = time.monotonic()
    server = EmulatorServer(seed=7)
    try:
        server.start()
        _timings["server"] = time.monotonic() - started
        yield server
    finally:
        server.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Report the SDK version and where the session's time went."""
    if _versions or _timings:
        timings = ", ".join(f"{k} {v:.1f}s" for k, v in _timings.items())
        terminalreporter.write_line(f"abacus_sdk: abacusai {_versions.get('abacusai', '?')}; {timings}")


def record_timing(name: str, seconds: float) -> None:
    _timings[name] = seconds
