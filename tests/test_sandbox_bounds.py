"""The emulators' per-request logs are bounded: a demo serving for days keeps
its memory. Created runs and jobs are data and stay; the logs of calls and
fault injections keep their newest ``LOG_LIMIT`` entries."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette

from mlgraph.demo import Sandbox, build_sandbox
from mlgraph.sandbox.middleware import LOG_LIMIT, RecentLog

#: One cheap request per emulator, answered (or refused) without much work.
PATHS = {"zenml": "/api/v1/info", "domino": "/api/users/v1/self", "abacus": "/api/v0/describeUser"}


@pytest.fixture(scope="module")
def box() -> Sandbox:
    return build_sandbox(pipelines=1, runs_per_pipeline=1, steps_per_run=1, domino_projects=1, domino_jobs=1)


def emulators(box: Sandbox) -> dict[str, Starlette]:
    return {"zenml": box.zenml_emulator, "domino": box.domino_emulator, "abacus": box.abacus_emulator}


async def send(app: Starlette, path: str, count: int) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://emulator") as client:
        for i in range(count):
            await client.get(path, params={"n": i})


def test_the_demo_logs_are_bounded(box: Sandbox) -> None:
    logs = [app.state.calls for app in emulators(box).values()] + [box.faults.log]
    assert all(isinstance(log, RecentLog) and log.limit == LOG_LIMIT for log in logs)


@pytest.mark.parametrize("platform", PATHS)
def test_a_call_log_past_its_bound_keeps_the_newest_calls(box: Sandbox, platform: str) -> None:
    app = emulators(box)[platform]
    calls, injections = app.state.calls, box.faults.log
    calls.clear()
    injections.clear()
    calls.limit = injections.limit = 50  # the bound, not its size, is under test
    try:
        asyncio.run(send(app, PATHS[platform], 120))
        assert len(calls) == len(injections) == 50
        assert calls[-1] == ("GET", f"{PATHS[platform]}?n=119")
        assert calls[0] == ("GET", f"{PATHS[platform]}?n=70")
        assert [call[1] for call in calls] == [f"{PATHS[platform]}?n={i}" for i in range(70, 120)]
        assert injections[-1].path == PATHS[platform]
    finally:
        calls.limit = injections.limit = LOG_LIMIT


def test_at_its_real_size_the_log_stays_at_the_bound(box: Sandbox) -> None:
    app = box.zenml_emulator
    app.state.calls.clear()
    asyncio.run(send(app, PATHS["zenml"], LOG_LIMIT + 25))
    assert len(app.state.calls) == LOG_LIMIT
    assert app.state.calls[-1] == ("GET", f"{PATHS['zenml']}?n={LOG_LIMIT + 24}")
    assert app.state.calls[0] == ("GET", f"{PATHS['zenml']}?n=25")
    assert len(box.faults.log) == LOG_LIMIT


def test_a_recent_log_is_still_a_list() -> None:
    log: RecentLog[int] = RecentLog(3)
    for i in range(5):
        log.append(i)
    assert log == [2, 3, 4] and log[1:] == [3, 4] and log[-1] == 4
    log.clear()
    assert log == [] and len(log) == 0
