"""The rate limit shared through a real Redis: one count for every process
under a key prefix (two gateways, or the workers of one `mlgraph serve`),
and a Redis that fails or goes away degrading to a count per process, never
to an error or to no limit."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from mlgraph.demo import build_sandbox
from mlgraph.ratelimit import SharedRateLimiter
from mlgraph.settings import LimitSettings, Settings
from tests.loopback import silent_port as hung
from tests.redis_server import harness
from tests.redis_server.harness import GatewayProcess, RedisServer, free_port
from tests.test_serving import access_lines, mlgraph_command, process, wait_healthy

TYPENAME = {"query": "{ __typename }"}


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers: a hung Redis."""
    with hung() as port:
        yield port


def test_limiters_sharing_a_redis_and_prefix_share_one_count(redis_server: RedisServer) -> None:
    def limiter(prefix: str) -> SharedRateLimiter:
        return SharedRateLimiter(3, redis_server.url, prefix=prefix, timeout=1.0, retry_seconds=10.0)

    async def scenario() -> None:
        a, b, elsewhere = limiter("shared-test:"), limiter("shared-test:"), limiter("elsewhere-test:")
        waits = [await (a if turn % 2 else b).hit("ip:10.0.0.1") for turn in range(6)]
        assert waits[:3] == [0.0, 0.0, 0.0]  # three in all, not three each
        assert all(0 < wait <= 60 for wait in waits[3:])
        assert await a.hit("ip:10.0.0.2") == 0  # another client, another count
        assert await elsewhere.hit("ip:10.0.0.1") == 0  # another prefix, another count
        assert a.failures == b.failures == elsewhere.failures == 0 and a.away_since is None
        for each in (a, b, elsewhere):
            await each.aclose()

    asyncio.run(scenario())
    raw = redis.Redis.from_url(redis_server.url, decode_responses=True)
    keys = list(raw.scan_iter("shared-test:*"))
    assert keys and all("10.0.0." in key for key in keys)
    assert all(0 < raw.pttl(key) <= 120_000 for key in keys)  # two minutes at most
    assert not list(raw.scan_iter("LIMITS*"))  # the library's own prefix is not used
    raw.close()


def test_redis_going_away_counts_per_process_then_shares_again(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A count per process while Redis is away (warned once), Redis again once
    it answers, tried one request after ``retry_seconds``."""
    now = [0.0]
    with RedisServer() as server, caplog.at_level(logging.INFO, logger="mlgraph.ratelimit"):
        port = server.port

        async def scenario() -> None:
            limiter = SharedRateLimiter(
                2, server.url, prefix="away-test:", timeout=0.3, retry_seconds=5.0, clock=lambda: now[0]
            )
            assert [await limiter.hit("c") for _ in range(2)] == [0.0, 0.0]
            assert await limiter.hit("c") > 0
            server.stop()
            started = time.monotonic()
            # This process's memory never saw the two: it admits two of its own, then refuses.
            waits = [await limiter.hit("c") for _ in range(4)]
            assert waits[:2] == [0.0, 0.0] and all(wait > 0 for wait in waits[2:])
            assert time.monotonic() - started < 3
            assert limiter.failures == 1  # one request found Redis gone; the rest kept to memory
            monkeypatch.setattr(harness, "free_port", lambda: port)
            server.start()  # back, on the same address, empty
            assert await limiter.hit("d") == 0  # still counted in memory: not tried before 5 s
            assert await limiter.hit("d") == 0
            assert await limiter.hit("d") > 0
            now[0] += 5.0
            assert await limiter.hit("d") == 0  # this one tried Redis, which counts afresh
            assert limiter.away_since is None and limiter.failures == 1
            assert await limiter.hit("d") == 0 and await limiter.hit("d") > 0
            await limiter.aclose()

        asyncio.run(scenario())
        raw = redis.Redis.from_url(server.url)
        assert list(raw.scan_iter("away-test:*"))  # the count after the return is Redis'
        raw.close()
    messages = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "mlgraph.ratelimit"]
    assert len(messages) == 2, messages
    assert messages[0][0] == logging.WARNING and messages[0][1].startswith("rate limit: Redis rate count failed")
    assert "counting in this process's memory" in messages[0][1]
    assert messages[1] == (logging.INFO, "rate limit: Redis answers again; the limit is shared across processes again")


@pytest.mark.parametrize("kind", ["refused", "silent"])
def test_a_failing_redis_limits_per_process_and_never_fails_a_request(
    kind: str, silent_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port() if kind == "refused" else silent_port
    settings = Settings(
        redis_url=f"redis://127.0.0.1:{port}/0", limits=LimitSettings(rate_per_minute=3, rate_redis_timeout=0.2)
    )
    with caplog.at_level(logging.WARNING, logger="mlgraph.ratelimit"), TestClient(build_sandbox(settings=settings).app) as client:
        started = time.monotonic()
        answers = [client.post("/graphql", json=TYPENAME) for _ in range(5)]
        assert time.monotonic() - started < 3  # one timeout at most, then memory
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429, 429]
    for limited in answers[3:]:
        assert limited.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
    warnings = [r.getMessage() for r in caplog.records if r.name == "mlgraph.ratelimit"]
    assert len(warnings) == 1 and warnings[0].startswith("rate limit: Redis rate count failed")


def test_two_gateways_share_the_rate_and_keep_limiting_when_redis_goes_away(tmp_path: Path) -> None:
    rate = 5
    with RedisServer() as server:
        env = {"MLGRAPH_REDIS_URL": server.url, "MLGRAPH_LIMITS__RATE_PER_MINUTE": str(rate)}
        a, b = GatewayProcess(env, tmp_path / "a.log"), GatewayProcess(env, tmp_path / "b.log")
        a.start()
        b.start()
        try:
            a.wait_ready()
            b.wait_ready()
            with httpx.Client(timeout=30) as client:
                shared = [client.post(f"{(a, b)[turn % 2].url}/graphql", json=TYPENAME) for turn in range(2 * rate)]
                statuses = [answer.status_code for answer in shared]
                assert statuses.count(200) == rate and statuses.count(429) == rate, statuses  # not twice the rate
                assert statuses[:rate] == [200] * rate
                raw = redis.Redis.from_url(server.url, decode_responses=True)
                assert list(raw.scan_iter("mlgraph:ratelimit:*"))
                raw.close()

                server.stop()  # Redis goes away under both gateways
                started = time.monotonic()
                for gateway in (a, b):
                    away = [client.post(f"{gateway.url}/graphql", json=TYPENAME) for _ in range(rate + 1)]
                    assert [answer.status_code for answer in away] == [200] * rate + [429]  # per process, still limited
                    assert away[-1].json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
                assert time.monotonic() - started < 10
        finally:
            a.stop()
            b.stop()
    for gateway in (a, b):
        output = gateway.output()
        assert output.count("rate limit: Redis rate count failed") == 1, output[-3000:]
        assert "Traceback" not in output


def test_the_workers_of_one_server_share_the_rate(tmp_path: Path) -> None:
    """``serve --workers 2``: requests reach both workers, and together they admit the rate once."""
    rate = 20
    log = tmp_path / "serve.log"
    with RedisServer() as server:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            "MLGRAPH_REDIS_URL": server.url,
            "MLGRAPH_LIMITS__RATE_PER_MINUTE": str(rate),
            "MLGRAPH_GRAPHIQL": "false",
        }
        serve = [*mlgraph_command(), "serve", "--workers", "2", "--port", str(port), "--log-format", "json"]
        with process(serve, log, env) as proc:
            wait_healthy(url, proc, log)
            started = time.monotonic()

            def ask(_: int) -> int:
                with httpx.Client(timeout=30) as client:  # a connection each: the kernel spreads them
                    return client.post(f"{url}/graphql", json=TYPENAME).status_code

            statuses: list[int] = []
            pids: set[object] = set()
            while len(pids) < 2 and len(statuses) < 10 * rate:
                with ThreadPoolExecutor(8) as pool:
                    statuses += pool.map(ask, range(2 * rate))
                time.sleep(0.2)  # the access lines are flushed
                pids = {line["pid"] for line in access_lines(log)}
            assert time.monotonic() - started < 50  # all within the first minute's window
            assert len(pids) == 2 and proc.pid not in pids, log.read_text(errors="replace")[-3000:]
            assert statuses.count(200) == rate, statuses  # not once per worker
            assert statuses.count(429) == len(statuses) - rate
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
    assert "Traceback" not in log.read_text(errors="replace")
