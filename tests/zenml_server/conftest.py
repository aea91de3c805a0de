"""Session fixture: one real, populated ZenML server (auth on) per session.

Starting the server costs ~30 s warm (plus a one-off ~1 min venv install),
so it is session-scoped and shared by every test under ``tests/zenml_server``.
Tests must treat it as read-mostly: anything they create stays visible to
later tests. Deselect the whole group with ``-m "not zenml_server"``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .harness import ZenMLServer


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker so ``-m "not zenml_server"`` works without warnings."""
    config.addinivalue_line(
        "markers",
        "zenml_server: needs the real ZenML server (session fixture `zenml_server`)",
    )


@pytest.fixture(scope="session")
def zenml_server() -> Iterator[ZenMLServer]:
    """A started, populated :class:`ZenMLServer`; stopped at session end.

    Start failures raise (never skip): a broken ZenML install or server must
    fail CI. ``stop()`` runs in ``finally`` so the server dies even when
    tests fail or the session is interrupted.
    """
    server = ZenMLServer()
    _started.append(server)
    try:
        server.start()
        yield server
    finally:
        server.stop()


_started: list[ZenMLServer] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Report where the session's time went (venv, ready, auth, populate)."""
    for server in _started:
        timings = ", ".join(f"{k} {v:.1f}s" for k, v in server.timings.items())
        terminalreporter.write_line(f"zenml_server timings: {timings}")
