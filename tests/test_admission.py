"""Admission control (``mlgraph.admission``): requests executing at once, and
backend calls in flight per platform (docs/configuration.md, Admission control).

- the middleware alone, over a scripted ASGI app: a slot frees however a
  request ends, waiters are admitted in arrival order, a waiter past the
  deadline gets 503 ``OVERLOADED`` with ``Retry-After``, a waiter whose
  client leaves gives up its place;
- in the app: only GraphQL requests wait, a refused key takes no slot, a
  503 carries CORS headers and is counted;
- per platform: at most ``max_calls_in_flight`` exchanges at the emulator,
  across concurrent requests, and a call that finds no slot within its
  timeout fails its platform alone;
- a short load test over a real socket.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlgraph.admission import OVERLOADED, Admission, Slots
from mlgraph.demo import DOMINO_SANDBOX_KEY, DOMINO_SANDBOX_URL, ZENML_SANDBOX_URL, build_sandbox
from mlgraph.security import hash_key
from mlgraph.settings import AuthSettings, DominoSettings, LimitSettings, Settings, ZenMLSettings
from tests.loopback import serving

USERS = "{ zenml { users(first: 2) { nodes { name } } } }"
BOTH = "{ zenml { users(first: 2) { nodes { name } } } domino { projects(first: 1) { totalCount } } }"
DOMINO = "{ domino { projects(first: 1) { totalCount } } }"


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 20))  # type: ignore[arg-type]


# ---------------------------------------------------------------- the middleware alone


class Script:
    """An ASGI app whose requests (named by their query string) read their
    body, then wait until the test lets them finish, fail or go on."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.bodies: dict[str, bytes] = {}
        self.finish: dict[str, asyncio.Event] = {}
        self.fail: set[str] = set()
        self.read_disconnect: set[str] = set()

    def gate(self, name: str) -> asyncio.Event:
        return self.finish.setdefault(name, asyncio.Event())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = scope["query_string"].decode()
        self.started.append(name)
        request = Request(scope, receive)
        self.bodies[name] = await request.body()
        if name in self.read_disconnect:
            await receive()  # the client is gone: Starlette's own check says so
            raise ClientDisconnect()
        await self.gate(name).wait()
        if name in self.fail:
            raise RuntimeError("boom")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": name.encode()})


class Client:
    """One request through an ASGI app: what it was sent, and a switch to disconnect."""

    def __init__(self, app: ASGIApp, name: str, path: str = "/graphql", body: bytes = b"") -> None:
        self.gone = asyncio.Event()
        self.messages: list[Message] = []
        scope = {"type": "http", "method": "POST", "path": path, "query_string": name.encode(), "headers": []}
        self.task = asyncio.ensure_future(app(scope, self._receive(body), self._send))

    def _receive(self, body: bytes) -> Callable[[], Awaitable[Message]]:
        chunks = [body[:3], body[3:]] if len(body) > 3 else [body]

        async def receive() -> Message:
            if chunks:
                chunk = chunks.pop(0)
                return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}
            await self.gone.wait()
            return {"type": "http.disconnect"}

        return receive

    async def _send(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int | None:
        return next((m["status"] for m in self.messages if m["type"] == "http.response.start"), None)

    @property
    def headers(self) -> dict[str, str]:
        start = next(m for m in self.messages if m["type"] == "http.response.start")
        return {k.decode(): v.decode() for k, v in start["headers"]}

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")


def gated(limit: int, timeout: float = 5.0) -> tuple[Script, Slots, Admission, list[str]]:
    script, slots, decisions = Script(), Slots(limit), []
    admission = Admission(
        script, slots=slots, timeout=timeout, applies=lambda scope: scope["path"] == "/graphql",
        max_body_bytes=1024, on_decision=decisions.append,
    )
    return script, slots, admission, decisions


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def test_a_slot_frees_on_completion_and_the_next_waiter_runs() -> None:
    async def main() -> None:
        script, slots, admission, decisions = gated(1)
        first, second = Client(admission, "a"), Client(admission, "b")
        await settle()
        assert script.started == ["a"] and (slots.held, slots.waiting) == (1, 1)
        script.gate("a").set()
        script.gate("b").set()
        await asyncio.gather(first.task, second.task)
        assert (first.status, second.status) == (200, 200) and second.body == b"b"
        assert (slots.held, slots.waiting) == (0, 0)
        assert decisions == ["admitted", "waited"]

    run(main())


def test_a_slot_frees_when_the_app_fails_or_is_cancelled() -> None:
    async def main() -> None:
        script, slots, admission, _ = gated(1)
        script.fail.add("a")
        failing = Client(admission, "a")
        waiting = Client(admission, "b")
        await settle()
        script.gate("a").set()
        with pytest.raises(RuntimeError):
            await failing.task
        await settle()
        assert script.started == ["a", "b"] and slots.held == 1
        waiting.task.cancel()  # a server that cancels the request of a client gone
        with pytest.raises(asyncio.CancelledError):
            await waiting.task
        assert (slots.held, slots.waiting) == (0, 0)
        script.gate("c").set()
        later = Client(admission, "c")
        await later.task
        assert later.status == 200

    run(main())


def test_a_slot_frees_when_the_client_of_a_running_request_disconnects() -> None:
    async def main() -> None:
        script, slots, admission, _ = gated(1)
        script.read_disconnect.add("a")
        running = Client(admission, "a")
        await settle()
        assert slots.held == 1
        running.gone.set()
        with pytest.raises(ClientDisconnect):
            await running.task
        assert slots.held == 0

    run(main())


def test_a_waiter_whose_client_leaves_gives_up_its_place() -> None:
    async def main() -> None:
        script, slots, admission, decisions = gated(1)
        holder = Client(admission, "a")
        leaving, staying = Client(admission, "b"), Client(admission, "c", body=b'{"q": 1}')
        await settle()
        assert slots.waiting == 2
        leaving.gone.set()
        await leaving.task
        assert slots.waiting == 1 and "b" not in script.started
        script.gate("a").set()
        script.gate("c").set()
        await asyncio.gather(holder.task, staying.task)
        assert script.started == ["a", "c"]
        assert script.bodies["c"] == b'{"q": 1}'  # read while waiting, replayed whole
        assert decisions == ["admitted", "abandoned", "waited"]
        assert (slots.held, slots.waiting) == (0, 0)

    run(main())


def test_waiters_are_admitted_in_the_order_they_came() -> None:
    async def main() -> None:
        script, slots, admission, _ = gated(2)
        clients = [Client(admission, name) for name in "abcdef"]
        await settle()
        assert script.started == ["a", "b"] and slots.waiting == 4
        for name in "bacdfe":  # finishing out of order frees slots in turn
            script.gate(name).set()
            await settle()
        await asyncio.gather(*(c.task for c in clients))
        assert script.started == list("abcdef")

    run(main())


def test_a_waiter_past_the_deadline_gets_503_overloaded_with_retry_after() -> None:
    async def main() -> None:
        script, slots, admission, decisions = gated(1, timeout=0.2)
        holder = Client(admission, "a")
        await settle()
        began = time.monotonic()
        refused = Client(admission, "b")
        await refused.task
        waited = time.monotonic() - began
        assert 0.15 < waited < 2
        assert refused.status == 503 and refused.headers["retry-after"] == "1"
        error = json.loads(refused.body)["errors"][0]
        assert error["extensions"] == {"code": OVERLOADED, "retryAfter": 1}
        assert "b" not in script.started and slots.waiting == 0
        assert not holder.task.done()  # what started goes on
        script.gate("a").set()
        await holder.task
        assert holder.status == 200 and decisions == ["admitted", "refused"]

    run(main())


def test_no_wait_at_all_refuses_at_once_and_other_paths_pass() -> None:
    async def main() -> None:
        script, slots, admission, _ = gated(1, timeout=0)
        holder = Client(admission, "a")
        await settle()
        refused = Client(admission, "b")
        await refused.task
        assert refused.status == 503
        script.gate("h").set()
        health = Client(admission, "h", path="/healthz")
        await health.task
        assert health.status == 200 and slots.held == 1
        script.gate("a").set()
        await holder.task

    run(main())


def test_no_bound_takes_no_slot() -> None:
    async def main() -> None:
        script, slots, admission, _ = gated(0)
        for name in "abc":
            script.gate(name).set()
        clients = [Client(admission, name) for name in "abc"]
        await asyncio.gather(*(c.task for c in clients))
        assert [c.status for c in clients] == [200, 200, 200]

    run(main())


# ---------------------------------------------------------------- in the app


def small(settings: Settings, **kwargs: Any) -> Any:
    return build_sandbox(
        settings=settings, pipelines=1, runs_per_pipeline=2, steps_per_run=2, domino_projects=1, domino_jobs=3,
        abacus_pipelines=1, abacus_versions_per_pipeline=1, **kwargs,
    )


def metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            series, value = line.rsplit(" ", 1)
            found = dict(re.findall(r'(\w+)="([^"]*)"', series))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(value)
    return 0.0


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        await asyncio.sleep(0.005)


def test_only_graphql_requests_wait_and_refusals_are_readable_and_counted() -> None:
    key, origin = "k" * 32, "https://dash.example.com"
    settings = Settings(
        cors_origins=[origin],
        auth=AuthSettings(api_key_hashes=[hash_key(key)]),
        limits=LimitSettings(max_concurrent_requests=1, admission_timeout_seconds=1.0, rate_per_minute=0),
    )
    sandbox = small(settings)
    sandbox.faults.set("/api/v1/users", latency_ms=2500)
    app = sandbox.app
    gate: Slots = app.state.admission
    keyed = {"Authorization": f"Bearer {key}", "Origin": origin}

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            slow = asyncio.ensure_future(client.post("/graphql", json={"query": USERS}, headers=keyed))
            await until(lambda: gate.held == 1)
            began = time.monotonic()
            for path, headers in [
                ("/healthz", {}), ("/metrics", keyed), ("/graphql", {"Accept": "text/html"}),
                ("/graphiql/graphiql.min.css", {}),
            ]:
                response = await client.get(path, headers=headers)
                assert response.status_code in (200, 404), (path, response.status_code)
                assert response.status_code == 200 or path.startswith("/graphiql/")
            # A refused key is answered at once, and takes no slot.
            refused_key = await client.post("/graphql", json={"query": USERS}, headers={"Authorization": "Bearer nope"})
            assert refused_key.status_code == 401
            # None of them waited for the slot, which would take the 1 s deadline.
            assert time.monotonic() - began < 0.9 and gate.waiting == 0
            overloaded = await client.post("/graphql", json={"query": USERS}, headers=keyed)
            assert overloaded.status_code == 503 and overloaded.headers["retry-after"] == "1"
            assert overloaded.json()["errors"][0]["extensions"]["code"] == OVERLOADED
            assert overloaded.headers["access-control-allow-origin"] == origin
            assert overloaded.headers["x-request-id"]
            exposition = (await client.get("/metrics", headers=keyed)).text
            assert metric(exposition, "mlgraph_admission_requests", state="executing") == 1
            assert metric(exposition, "mlgraph_admission_decisions_total", outcome="refused") == 1
            assert metric(exposition, "mlgraph_graphql_requests_total", outcome="refused") >= 2
            answer = await slow
            assert answer.status_code == 200 and "errors" not in answer.json()
            assert gate.held == 0

    run(main())


# ---------------------------------------------------------------- per platform


class InFlight:
    """ASGI middleware of an emulator: the most requests it ever had at once."""

    def __init__(self, app: ASGIApp, counter: dict[str, int]) -> None:
        self.app = app
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.counter["now"] += 1
        self.counter["most"] = max(self.counter["most"], self.counter["now"])
        try:
            await self.app(scope, receive, send)
        finally:
            self.counter["now"] -= 1


def counted(emulator: Any) -> dict[str, int]:
    counter = {"now": 0, "most": 0}
    emulator.add_middleware(InFlight, counter=counter)
    return counter


def test_at_most_max_calls_in_flight_per_platform_across_requests() -> None:
    settings = Settings(
        zenml=ZenMLSettings(url=ZENML_SANDBOX_URL, max_calls_in_flight=2),
        domino=DominoSettings(url=DOMINO_SANDBOX_URL, api_key=DOMINO_SANDBOX_KEY),
        limits=LimitSettings(rate_per_minute=0),
    )
    sandbox = small(settings, latency_ms=40)
    zenml, domino = counted(sandbox.zenml_emulator), counted(sandbox.domino_emulator)
    slots = sandbox.app.state.connections.zenml.slots

    async def main() -> list[dict[str, Any]]:
        transport = httpx.ASGITransport(app=sandbox.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=10) as client:
            answers = await asyncio.gather(*(client.post("/graphql", json={"query": BOTH}) for _ in range(10)))
        return [answer.json() for answer in answers]

    for answer in run(main()):
        assert "errors" not in answer, answer
    assert zenml["most"] == 2  # the bound was reached, never passed
    assert domino["most"] > 2  # Domino has its own bound (24)
    assert (slots.held, slots.waiting) == (0, 0)


def test_a_call_without_a_slot_in_its_timeout_fails_its_platform_alone() -> None:
    settings = Settings(
        zenml=ZenMLSettings(url=ZENML_SANDBOX_URL, max_calls_in_flight=1, timeout=0.3),
        domino=DominoSettings(url=DOMINO_SANDBOX_URL, api_key=DOMINO_SANDBOX_KEY),
        limits=LimitSettings(rate_per_minute=0),
    )
    sandbox = small(settings)
    connection = sandbox.app.state.connections.zenml

    async def main() -> None:
        transport = httpx.ASGITransport(app=sandbox.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=10) as client:
            taken = await connection.slots.acquire()  # every ZenML slot busy elsewhere
            try:
                began = time.monotonic()
                response = await client.post("/graphql", json={"query": BOTH}, headers={"X-Mlgraph-Debug": "1"})
                assert 0.25 < time.monotonic() - began < 3
                busy = (await client.get("/metrics")).text
                assert metric(busy, "mlgraph_backend_slots", platform="zenml", state="in_flight") == 1
            finally:
                connection.slots.release(taken)
            answer = response.json()
            assert answer["data"]["zenml"]["users"] is None
            assert answer["data"]["domino"]["projects"]["totalCount"] >= 1
            (error,) = answer["errors"]
            assert error["extensions"]["code"] == "BACKEND_UNAVAILABLE"
            assert error["extensions"]["platform"] == "zenml" and "busy" in error["message"]
            ledger = answer["extensions"]["ledger"]
            assert all(call["platform"] != "zenml" for call in ledger["entries"])  # never sent, never retried
            assert connection.breaker.failures == 0  # not the platform's failure
            metrics = (await client.get("/metrics")).text
            assert metric(metrics, "mlgraph_backend_slot_timeouts_total", platform="zenml") == 1
            assert metric(metrics, "mlgraph_backend_slots", platform="zenml", state="in_flight") == 0
            again = (await client.post("/graphql", json={"query": USERS})).json()
            assert "errors" not in again

    run(main())


# ---------------------------------------------------------------- over a real socket


@pytest.fixture
def overloadable() -> Iterator[tuple[str, dict[str, int]]]:
    """The demo on a free loopback port: 2 requests at once, 0.3 s of
    waiting, 50 ms a backend call."""
    settings = Settings(
        limits=LimitSettings(max_concurrent_requests=2, admission_timeout_seconds=0.3, rate_per_minute=0)
    )
    sandbox = small(settings, latency_ms=50)
    counter = counted(sandbox.zenml_emulator)
    with serving(sandbox.app) as url:
        yield url, counter


def test_a_burst_over_a_real_socket_is_bounded_and_refused_cleanly(
    overloadable: tuple[str, dict[str, int]],
) -> None:
    url, counter = overloadable
    deadline = 0.3

    async def timed(client: httpx.AsyncClient) -> tuple[httpx.Response, float]:
        began = time.monotonic()
        response = await client.post("/graphql", json={"query": USERS})
        return response, time.monotonic() - began

    async def main() -> tuple[float, list[tuple[httpx.Response, float]], httpx.Response, str]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=url, timeout=10, limits=limits) as client:
            solo, own = await timed(client)  # one request alone: its own run time
            assert solo.status_code == 200 and "errors" not in solo.json()
            burst = await asyncio.gather(*(timed(client) for _ in range(40)))
            after = await client.post("/graphql", json={"query": USERS})
            metrics = (await client.get("/metrics")).text
        return own, burst, after, metrics

    own, burst, after, metrics = run(main())
    ok = [r for r, _ in burst if r.status_code == 200]
    refused = [r for r, _ in burst if r.status_code != 200]
    slowest = max(seconds for _, seconds in burst)
    assert slowest < deadline + 3 * own + 1.0, (slowest, own)
    for response in refused:
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert response.json()["errors"][0]["extensions"]["code"] == OVERLOADED
    assert len(refused) >= 1 and len(ok) >= 6, (len(ok), len(refused))
    for response in ok:
        assert "errors" not in response.json()
    assert counter["most"] <= 2  # one ZenML call a request, two requests at once
    assert after.status_code == 200 and "errors" not in after.json()
    assert metric(metrics, "mlgraph_admission_decisions_total", outcome="refused") == len(refused)
    assert metric(metrics, "mlgraph_admission_requests", state="executing") == 0
    assert metric(metrics, "mlgraph_admission_requests", state="waiting") == 0
