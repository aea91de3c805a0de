"""Timeouts, retries, the circuit breaker and shared in-flight GETs.

The unit tests run the real platform clients over ``httpx.MockTransport``
with a fake clock whose sleep advances it, so no test waits for a backoff
or a cool-down; the last ones go through the gateway and the sandbox's
emulators with injected faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from mlgraph.backends import abacus as abacus_wire
from mlgraph.backends import zenml as wire
from mlgraph.backends.connections import Connections
from mlgraph.backends.errors import BackendError, NotFound, Rejected, Unavailable
from mlgraph.backends.ledger import Ledger
from mlgraph.backends.resilience import CircuitState, retry_after
from mlgraph.demo import ZENML_SANDBOX_URL, build_sandbox
from mlgraph.settings import AbacusSettings, Settings, ZenMLSettings
from tests.conftest import open_gateway

URL = "http://zenml.internal:8080"
USER = {"body": {"active": True}, "metadata": None, "resources": None, "id": "u1", "name": "ada"}
PAGE = {"index": 1, "max_size": 1, "total_pages": 1, "total": 1, "items": [USER]}
Handler = Callable[[httpx.Request], Any]


class FakeTime:
    """A monotonic clock that only sleeping moves; every sleep is kept."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(float(seconds))
        self.now += seconds


def connect(handler: Handler, fake: FakeTime, **settings: Any) -> wire.ZenMLConnection:
    api_key = settings.pop("api_key", None)
    connection = wire.ZenMLConnection(URL, timeout=1.0, api_key=api_key, transport=httpx.MockTransport(handler))
    connection.configure(ZenMLSettings(url=URL, **settings), sleep=fake.sleep, clock=fake.clock)
    return connection


def run(handler: Handler, calls: Callable[[wire.ZenMLClient], Awaitable[Any]], **settings: Any) -> tuple[Any, Ledger, FakeTime]:
    """``calls`` against one ZenML client; an error it raises is returned, not raised."""
    fake = FakeTime()

    async def main() -> Any:
        connection = connect(handler, fake, **settings)
        try:
            return await calls(wire.ZenMLClient(connection, ledger))
        except Exception as exc:  # the tests look at the error and the ledger both
            return exc
        finally:
            await connection.aclose()

    ledger = Ledger()
    return asyncio.run(main()), ledger, fake


def answers(*responses: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A handler giving ``responses`` in turn (the last one again and again)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = responses[min(len(seen), len(responses)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler, seen


def statuses(ledger: Ledger) -> list[int | None]:
    return [call.status for call in ledger.calls]


# ---------------------------------------------------------------- retries


def test_503_then_success_costs_two_attempts() -> None:
    handler, _ = answers(httpx.Response(503), httpx.Response(200, json=PAGE))
    page, ledger, fake = run(handler, lambda client: client.list(wire.USERS))
    assert [user.name for user in page.items] == ["ada"]
    assert statuses(ledger) == [503, 200]
    (wait,) = fake.sleeps
    assert 0 <= wait <= 0.2  # full jitter under the default base


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_is_honoured(status: int) -> None:
    handler, _ = answers(httpx.Response(status, headers={"Retry-After": "3"}), httpx.Response(200, json=PAGE))
    page, ledger, fake = run(handler, lambda client: client.list(wire.USERS))
    assert page.total == 1 and statuses(ledger) == [status, 200]
    assert fake.sleeps == [3.0]


def test_retry_after_as_an_http_date_is_honoured() -> None:
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=4), usegmt=True)
    handler, _ = answers(httpx.Response(429, headers={"Retry-After": when}), httpx.Response(200, json=PAGE))
    _, ledger, fake = run(handler, lambda client: client.list(wire.USERS))
    assert statuses(ledger) == [429, 200]
    (wait,) = fake.sleeps
    assert 2.5 < wait <= 4.0


def test_retry_after_beyond_the_budget_ends_the_call_at_once() -> None:
    handler, _ = answers(httpx.Response(503, headers={"Retry-After": "60"}))
    started = time.perf_counter()
    error, ledger, fake = run(handler, lambda client: client.list(wire.USERS))
    assert time.perf_counter() - started < 1.0
    assert isinstance(error, Unavailable) and error.status == 503
    assert statuses(ledger) == [503] and fake.sleeps == []


def test_retries_are_bounded_in_count() -> None:
    handler, _ = answers(httpx.Response(502))
    error, ledger, fake = run(handler, lambda client: client.list(wire.USERS), retries=2)
    assert isinstance(error, Unavailable)
    assert statuses(ledger) == [502, 502, 502] and len(fake.sleeps) == 2
    handler, _ = answers(httpx.Response(504))
    _, ledger, fake = run(handler, lambda client: client.list(wire.USERS), retries=0)
    assert statuses(ledger) == [504] and fake.sleeps == []


def test_retries_are_bounded_in_time_waits_included() -> None:
    # Waits of 2 s in a 5 s budget: attempts at 0, 2 and 4 s; the next would start past 5.
    handler, _ = answers(httpx.Response(429, headers={"Retry-After": "2"}))
    _, ledger, fake = run(handler, lambda client: client.list(wire.USERS), retries=10, retry_budget_seconds=5)
    assert statuses(ledger) == [429, 429, 429] and fake.sleeps == [2.0, 2.0]


def test_backoff_grows_and_stays_jittered() -> None:
    handler, _ = answers(httpx.Response(503))
    _, _, fake = run(
        handler, lambda client: client.list(wire.USERS), retries=3, retry_backoff_seconds=1, retry_budget_seconds=100
    )
    assert len(fake.sleeps) == 3
    assert all(0 <= wait <= 2**n for n, wait in enumerate(fake.sleeps))


def test_connection_errors_and_timeouts_are_retried() -> None:
    handler, _ = answers(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.Response(200, json=PAGE))
    page, ledger, _ = run(handler, lambda client: client.list(wire.USERS))
    assert page.total == 1 and statuses(ledger) == [None, None, 200]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 500])
def test_other_statuses_are_not_retried(status: int) -> None:
    handler, _ = answers(httpx.Response(status, json={"detail": "no"}))
    error, ledger, fake = run(handler, lambda client: client.list(wire.USERS))
    assert isinstance(error, Exception) and statuses(ledger) == [status] and fake.sleeps == []


@pytest.mark.parametrize(
    "failure", [httpx.Response(503), httpx.ConnectError("refused"), httpx.ReadTimeout("slow")], ids=["503", "refused", "timeout"]
)
def test_writes_are_never_retried(failure: httpx.Response | Exception) -> None:
    for write in (
        lambda client: client.fetch("POST", "services", json_body={}),
        lambda client: client.update_step_run("s1", {"name": "x"}),
        lambda client: client.delete_service("s1"),
    ):
        handler, _ = answers(failure, httpx.Response(200, json={"id": "s1", "body": {}}))
        error, ledger, fake = run(handler, write)
        assert isinstance(error, Unavailable)
        assert len(ledger.calls) == 1 and fake.sleeps == []


def test_abacus_posts_are_never_retried() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(503, json={"success": False, "error": "busy", "errorType": "InternalServerError"})

    async def main() -> Exception:
        connection = abacus_wire.AbacusConnection("http://abacus.internal", timeout=1.0, transport=httpx.MockTransport(handler))
        fake = FakeTime()
        connection.configure(AbacusSettings(url="http://abacus.internal"), sleep=fake.sleep, clock=fake.clock)
        client = abacus_wire.AbacusClient(connection, Ledger())
        try:
            await client.run_pipeline("p1", None)
        except Unavailable as exc:
            return exc
        finally:
            await connection.aclose()
        raise AssertionError("no error")

    asyncio.run(main())
    assert seen == ["POST"]


def test_zenml_login_is_never_retried() -> None:
    handler, seen = answers(httpx.Response(503, json={"detail": ["ServiceUnavailable", "down"]}))
    error, ledger, fake = run(handler, lambda client: client.list(wire.USERS), api_key="ZENKEY_x")
    assert isinstance(error, Unavailable)
    assert [call.path for call in ledger.calls] == ["/api/v1/login"] and fake.sleeps == []


# ---------------------------------------------------------------- timeouts


def test_a_timeout_is_backend_unavailable_naming_the_platform_not_the_url() -> None:
    async def never(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)  # the mock transport has no timeouts: the gateway's deadline ends it
        raise AssertionError("not reached")

    started = time.perf_counter()
    error, ledger, _ = run(never, lambda client: client.list(wire.USERS), timeout=0.05, retries=0)
    assert time.perf_counter() - started < 2
    assert isinstance(error, Unavailable)
    assert str(error) == "ZenML did not answer in time (0.05 s)"
    assert "zenml.internal" not in str(error) and "8080" not in str(error)
    assert statuses(ledger) == [None]


def test_a_timed_out_attempt_is_retried_within_the_budget() -> None:
    calls = []

    async def slow_once(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            await asyncio.sleep(30)
        return httpx.Response(200, json=PAGE)

    page, ledger, _ = run(slow_once, lambda client: client.list(wire.USERS), timeout=0.05)
    assert page.total == 1 and statuses(ledger) == [None, 200]


def test_settings_timeout_bounds_each_phase_of_the_http_client() -> None:
    connection = wire.ZenMLConnection(URL, timeout=10.0)
    connection.configure(ZenMLSettings(url=URL, timeout=2.5))
    assert connection.http.timeout == httpx.Timeout(2.5)
    assert connection.timeout == 2.5
    asyncio.run(connection.aclose())


# ---------------------------------------------------------------- circuit breaker


def circuit_after(handler: Handler, count: int, **settings: Any) -> tuple[CircuitState, Ledger]:
    """The circuit's state after ``count`` calls one after the other, whatever each answered."""

    async def calls(client: wire.ZenMLClient) -> CircuitState:
        for _ in range(count):
            with contextlib.suppress(BackendError):
                await client.list(wire.USERS)
        return client.connection.circuit_state

    state, ledger, _ = run(handler, calls, **settings)
    return state, ledger


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_4xx_never_opens_the_circuit(status: int) -> None:
    handler, _ = answers(httpx.Response(status, json={"detail": ["KeyError", "gone"]}))
    state, ledger = circuit_after(handler, 10, breaker_failures=2)
    assert state is CircuitState.CLOSED and statuses(ledger) == [status] * 10


def test_circuit_opens_fails_fast_probes_and_closes() -> None:
    fake = FakeTime()
    healthy = False

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=PAGE) if healthy else httpx.Response(500)

    async def main() -> None:
        nonlocal healthy
        connection = connect(handler, fake, breaker_failures=3, breaker_cooldown_seconds=30)
        ledger = Ledger()
        client = wire.ZenMLClient(connection, ledger)
        for _ in range(3):
            with pytest.raises(Unavailable, match=r"failed to answer \(500\)"):
                await client.list(wire.USERS)
        assert connection.circuit_state is CircuitState.OPEN and len(ledger.calls) == 3
        started = time.perf_counter()
        with pytest.raises(Unavailable, match="circuit open") as raised:
            await client.list(wire.USERS)
        assert time.perf_counter() - started < 0.1 and "zenml.internal" not in str(raised.value)
        assert len(ledger.calls) == 3  # no network call while open

        fake.now += 30
        assert connection.circuit_state is CircuitState.HALF_OPEN
        with pytest.raises(Unavailable, match="500"):  # the probe fails: open again
            await client.list(wire.USERS)
        assert connection.circuit_state is CircuitState.OPEN and len(ledger.calls) == 4
        with pytest.raises(Unavailable, match="circuit open"):
            await client.list(wire.USERS)

        fake.now += 30
        healthy = True
        assert (await client.list(wire.USERS)).total == 1  # the probe succeeds: closed
        assert connection.circuit_state is CircuitState.CLOSED
        # The next request's call goes through (this one's would be answered by the probe's).
        assert (await wire.ZenMLClient(connection, ledger).list(wire.USERS)).total == 1
        assert len(ledger.calls) == 6
        await connection.aclose()

    asyncio.run(main())


async def cooled_down(healthy: Callable[[], Awaitable[object]]) -> tuple[wire.ZenMLConnection, wire.ZenMLClient]:
    """A ZenML connection whose circuit one 503 opened and whose cool-down is
    over; from then on the backend answers a page once ``healthy()`` returns."""
    fake = FakeTime()
    failing = True

    async def handler(request: httpx.Request) -> httpx.Response:
        if failing:
            return httpx.Response(503)
        await healthy()
        return httpx.Response(200, json=PAGE)

    connection = connect(handler, fake, breaker_failures=1, retries=0)
    client = wire.ZenMLClient(connection, Ledger())
    with pytest.raises(Unavailable):
        await client.list(wire.USERS)
    failing = False
    fake.now += 60
    assert connection.circuit_state is CircuitState.HALF_OPEN
    return connection, client


def test_half_open_lets_one_probe_through_and_refuses_the_rest() -> None:
    async def main() -> None:
        release = asyncio.Event()
        connection, client = await cooled_down(release.wait)
        probe = asyncio.ensure_future(client.list(wire.USERS))
        await asyncio.sleep(0.01)  # the probe is in flight
        with pytest.raises(Unavailable, match="probe"):
            await wire.ZenMLClient(connection, Ledger()).list(wire.USERS, size=2)
        release.set()
        assert (await probe).total == 1
        assert connection.circuit_state is CircuitState.CLOSED
        await connection.aclose()

    asyncio.run(main())


def test_a_probe_may_log_in_first() -> None:
    fake = FakeTime()
    down = True

    def handler(request: httpx.Request) -> httpx.Response:
        if down:
            raise httpx.ConnectError("refused")
        if request.url.path == "/api/v1/login":
            return httpx.Response(200, json={"access_token": "t1"})
        return httpx.Response(200, json=PAGE)

    async def main() -> None:
        nonlocal down
        connection = connect(handler, fake, api_key="ZENKEY_x", breaker_failures=1)
        ledger = Ledger()
        client = wire.ZenMLClient(connection, ledger)
        with pytest.raises(Unavailable, match="unreachable"):
            await client.list(wire.USERS)
        assert connection.circuit_state is CircuitState.OPEN
        down = False
        fake.now += 60
        assert (await client.list(wire.USERS)).total == 1  # the login is part of the probe
        assert connection.circuit_state is CircuitState.CLOSED
        assert [call.path.split("?")[0] for call in ledger.calls][-2:] == ["/api/v1/login", "/api/v1/users"]
        await connection.aclose()

    asyncio.run(main())


def test_retries_of_one_call_count_as_one_failure() -> None:
    handler, _ = answers(httpx.Response(503))
    state, ledger = circuit_after(handler, 2, breaker_failures=3)
    assert len(ledger.calls) == 6 and state is CircuitState.CLOSED
    state, _ = circuit_after(handler, 3, breaker_failures=3)
    assert state is CircuitState.OPEN  # 429 and 5xx after their retries count


def test_a_success_resets_the_count() -> None:
    handler, _ = answers(httpx.Response(500), httpx.Response(500), httpx.Response(200, json=PAGE), httpx.Response(500))
    state, _ = circuit_after(handler, 4, breaker_failures=3)
    assert state is CircuitState.CLOSED


def test_zero_breaker_failures_never_opens() -> None:
    handler, _ = answers(httpx.Response(500))
    state, ledger = circuit_after(handler, 20, breaker_failures=0)
    assert state is CircuitState.CLOSED and len(ledger.calls) == 20


# ---------------------------------------------------------------- identical GETs in flight


async def _slow_page(request: httpx.Request) -> httpx.Response:
    await asyncio.sleep(0.01)
    return httpx.Response(200, json=PAGE)


def test_identical_concurrent_gets_cost_one_call() -> None:
    async def both(client: wire.ZenMLClient) -> list[Any]:
        return await asyncio.gather(client.get(wire.USERS, "u1"), client.get(wire.USERS, "u1"))

    async def slow_user(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)
        return httpx.Response(200, json=USER)

    (one, two), ledger, _ = run(slow_user, both)
    assert one.id == two.id == "u1" and len(ledger.calls) == 1


def test_different_params_are_separate_calls_and_a_later_identical_get_is_not() -> None:
    async def calls(client: wire.ZenMLClient) -> None:
        await asyncio.gather(client.list(wire.USERS, size=1), client.list(wire.USERS, size=2))
        await client.list(wire.USERS, size=1)  # answered already in this request
        await wire.ZenMLClient(client.connection, client.ledger).list(wire.USERS, size=1)  # another request

    _, ledger, _ = run(_slow_page, calls)
    assert len(ledger.calls) == 3


def test_a_failed_get_is_asked_again() -> None:
    answers_left = [httpx.Response(404, json={"detail": ["KeyError", "gone"]}), httpx.Response(200, json=PAGE)]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers_left.pop(0)

    async def calls(client: wire.ZenMLClient) -> int:
        with pytest.raises(NotFound):
            await client.list(wire.USERS)
        return (await client.list(wire.USERS)).total

    total, ledger, _ = run(handler, calls)
    assert total == 1 and statuses(ledger) == [404, 200]


def test_writes_are_not_shared() -> None:
    handler, seen = answers(httpx.Response(200, json={"id": "s1", "body": {}}))

    async def calls(client: wire.ZenMLClient) -> None:
        await asyncio.gather(*(client.update_step_run("s1", {"name": "x"}) for _ in range(2)))

    run(handler, calls)
    assert len(seen) == 2


def test_a_shared_failure_reaches_every_asker() -> None:
    handler, _ = answers(httpx.Response(404, json={"detail": "gone"}))

    async def calls(client: wire.ZenMLClient) -> list[Any]:
        return await asyncio.gather(*(client.get(wire.USERS, "u9") for _ in range(3)), return_exceptions=True)

    errors, ledger, _ = run(handler, calls)
    assert all(isinstance(error, NotFound) for error in errors) and len(ledger.calls) == 1


def test_a_joiner_outlives_the_cancelled_first_asker() -> None:
    async def calls(client: wire.ZenMLClient) -> Any:
        first = asyncio.ensure_future(client.list(wire.USERS))
        await asyncio.sleep(0)
        second = asyncio.ensure_future(client.list(wire.USERS))
        await asyncio.sleep(0.001)
        first.cancel()
        return await second

    page, ledger, _ = run(_slow_page, calls)
    assert page.total == 1
    assert len(ledger.calls) == 1  # the cancelled call never answered; the joiner asked again


# ---------------------------------------------------------------- parts


@pytest.mark.parametrize(
    ("status", "header", "seconds"),
    [(429, "7", 7.0), (503, "0", 0.0), (503, "-3", 0.0), (429, "soon", None), (500, "7", None), (429, None, None)],
)
def test_retry_after_parsing(status: int, header: str | None, seconds: float | None) -> None:
    headers = {"Retry-After": header} if header is not None else {}
    assert retry_after(httpx.Response(status, headers=headers)) == seconds


def test_retry_after_in_the_past_is_no_wait() -> None:
    past = format_datetime(datetime(2001, 1, 1, tzinfo=timezone.utc), usegmt=True)
    assert retry_after(httpx.Response(503, headers={"Retry-After": past})) == 0.0


def test_settings_reach_every_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLGRAPH_ZENML__URL", URL)
    monkeypatch.setenv("MLGRAPH_ZENML__RETRIES", "4")
    monkeypatch.setenv("MLGRAPH_ZENML__RETRY_BUDGET_SECONDS", "2.5")
    monkeypatch.setenv("MLGRAPH_ZENML__BREAKER_FAILURES", "7")
    monkeypatch.setenv("MLGRAPH_ABACUS__URL", "http://abacus.internal")
    monkeypatch.setenv("MLGRAPH_ABACUS__BREAKER_COOLDOWN_SECONDS", "9")
    monkeypatch.setenv("MLGRAPH_ABACUS__TIMEOUT", "3")
    connections = Connections.from_settings(Settings())
    assert connections.zenml is not None and connections.abacus is not None
    assert (connections.zenml.retry.retries, connections.zenml.retry.budget) == (4, 2.5)
    assert connections.zenml.breaker.threshold == 7
    assert connections.abacus.retry.retries == 2 and connections.abacus.retry.backoff == 0.2
    assert connections.abacus.breaker.cooldown == 9 and connections.abacus.timeout == 3
    asyncio.run(connections.aclose())


# ---------------------------------------------------------------- through the gateway


RUNS = "{ zenml { pipelineRuns(first: 2) { nodes { name } } } domino { hardwareTiers { totalCount } } }"


def quick(**zenml: Any) -> Settings:
    """Sandbox settings whose ZenML backoff is short: these tests sleep for real."""
    return Settings(zenml=ZenMLSettings(url=ZENML_SANDBOX_URL, retry_backoff_seconds=0.001, **zenml))


def run_calls(answer: Any) -> list[int | None]:
    return [e["status"] for e in answer.ledger["entries"] if e["path"].startswith("/api/v1/runs")]


def test_gateway_answers_a_coded_error_then_the_next_request() -> None:
    sandbox = build_sandbox(pipelines=1, runs_per_pipeline=3, steps_per_run=1, settings=quick())
    for gateway in open_gateway(sandbox):
        sandbox.faults.set("/api/v1/runs", status=503, retry_after=0)
        failed = gateway(RUNS)
        assert failed.data["zenml"] is None or failed.data["zenml"]["pipelineRuns"] is None
        assert [(e["extensions"]["code"], e["extensions"]["platform"]) for e in failed.errors] == [("BACKEND_UNAVAILABLE", "zenml")]
        assert "sandbox" not in failed.raw.decode()
        assert run_calls(failed) == [503, 503, 503]
        assert failed.data["domino"]["hardwareTiers"]["totalCount"] > 0  # the other platform answered
        sandbox.faults.clear()
        healthy = gateway(RUNS)
        assert healthy.errors == [] and len(healthy.data["zenml"]["pipelineRuns"]["nodes"]) == 2
        assert run_calls(healthy) == [200]


def test_gateway_retries_a_passing_failure_unseen() -> None:
    sandbox = build_sandbox(pipelines=1, runs_per_pipeline=3, steps_per_run=1, settings=quick())
    for gateway in open_gateway(sandbox):
        sandbox.faults.set("/api/v1/runs", status=502, times=1)
        answer = gateway(RUNS)
        assert answer.errors == [] and len(answer.data["zenml"]["pipelineRuns"]["nodes"]) == 2
        assert run_calls(answer) == [502, 200]


def test_gateway_circuit_opens_and_spares_the_platform() -> None:
    sandbox = build_sandbox(pipelines=1, runs_per_pipeline=3, steps_per_run=1, settings=quick(retries=0, breaker_failures=2))
    for gateway in open_gateway(sandbox):
        sandbox.faults.set("/api/v1/runs", status=500)
        for _ in range(2):
            assert gateway(RUNS).errors[0]["extensions"]["code"] == "BACKEND_UNAVAILABLE"
        sandbox.faults.clear()
        before = len(sandbox.faults.log)
        refused = gateway(RUNS)
        assert refused.errors[0]["extensions"] == {"code": "BACKEND_UNAVAILABLE", "platform": "zenml"}
        assert "circuit open" in refused.errors[0]["message"]
        assert run_calls(refused) == [] and not any(i.path.startswith("/api/v1") for i in sandbox.faults.log[before:])
        assert refused.data["domino"]["hardwareTiers"]["totalCount"] > 0


def test_gateway_times_out_a_slow_platform_without_naming_its_url() -> None:
    sandbox = build_sandbox(pipelines=1, runs_per_pipeline=3, steps_per_run=1, settings=quick(timeout=0.1, retries=1))
    for gateway in open_gateway(sandbox):
        sandbox.faults.set("/api/v1/runs", latency_ms=5000)
        started = time.perf_counter()
        answer = gateway(RUNS)
        assert time.perf_counter() - started < 2
        (error,) = answer.errors
        assert error["extensions"] == {"code": "BACKEND_UNAVAILABLE", "platform": "zenml"}
        assert "sandbox" not in answer.raw.decode()
        assert error["message"] == "ZenML did not answer in time (0.1 s)"
        assert run_calls(answer) == [None, None]  # each attempt ended by the deadline, none answered


def test_gateway_maps_truncated_and_relabelled_bodies() -> None:
    sandbox = build_sandbox(pipelines=1, runs_per_pipeline=3, steps_per_run=1, settings=quick())
    for gateway in open_gateway(sandbox):
        sandbox.faults.set("/api/v1/runs", truncate=True)
        assert gateway(RUNS).codes() == ["BAD_BACKEND_RESPONSE"]
        sandbox.faults.set("/api/v1/runs", content_type="text/html")
        assert gateway(RUNS).codes() == ["BAD_BACKEND_RESPONSE"]  # not the platform's contract, whatever it holds
        sandbox.faults.set("/api/v1/runs", content_type="application/json; charset=utf-8")
        assert gateway(RUNS).errors == []
        sandbox.faults.clear()


def test_faults_heal_after_times_and_send_retry_after() -> None:
    from mlgraph.sandbox.faults import Faults

    faults = Faults()
    when = datetime(2030, 1, 1, tzinfo=timezone.utc)
    faults.set("/a", status=429, retry_after=when, times=2)
    assert faults.match("/a/b") is not None and faults.match("/a/b").retry_after == "Tue, 01 Jan 2030 00:00:00 GMT"
    assert faults.take("/a") is not None and faults.take("/a/b") is not None
    assert faults.take("/a") is None and faults.match("/a") is None
    faults.set("/b", status=503, retry_after=1.5)
    assert faults.match("/b").retry_after == "1.5"
    with pytest.raises(ValueError):
        faults.set("/c", retry_after=1)
    with pytest.raises(ValueError):
        faults.set("/c", status=503, times=0)


def test_rejected_is_not_unavailable() -> None:
    handler, _ = answers(httpx.Response(422, json={"detail": ["ValueError", "bad"]}))
    error, _, _ = run(handler, lambda client: client.list(wire.USERS), breaker_failures=1)
    assert isinstance(error, Rejected)


def test_a_cancelled_probe_lets_the_next_call_probe() -> None:
    async def main() -> None:
        connection, client = await cooled_down(lambda: asyncio.sleep(0.01))
        probe = asyncio.ensure_future(client.list(wire.USERS))
        await asyncio.sleep(0)
        probe.cancel()  # before its exchange ever ran
        with pytest.raises(asyncio.CancelledError):
            await probe
        await asyncio.sleep(0)
        assert (await client.list(wire.USERS, size=3)).total == 1
        assert connection.circuit_state is CircuitState.CLOSED
        await connection.aclose()

    asyncio.run(main())
