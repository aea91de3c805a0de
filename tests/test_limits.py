"""Each limit on what a request may ask, its code, on both executors: depth,
aliases (also hidden in fragment spreads), circular and exponential fragments,
tokens, the estimated cost, page size, and the per-client rate limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from graphql import parse, validate
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

from mlgraph.demo import build_sandbox
from mlgraph.graph.schema import schema
from mlgraph.ratelimit import RateLimiter
from mlgraph.security import hash_key
from mlgraph.settings import AuthSettings, LimitSettings, Settings
from tests.test_persisted_http import Client as SandboxClient

USERS = "{ zenml { users(first: 2) { totalCount nodes { name } } } }"
CIRCULAR = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"


def deep(levels: int) -> str:
    chain = "producer { outputs { " * levels + "uri" + " } }" * levels
    return "{ zenml { stepRuns(first: 1) { nodes { outputs { " + chain + " } } } } }"


def aliases(count: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"


#: 10 aliases in a fragment spread 4 times: 40 aliases, though 10 are written.
ALIASES_IN_SPREADS = (
    "query { ...Ten ...Ten zenml { __typename } ...Ten ...Ten } "
    "fragment Ten on Query { " + " ".join(f"t{i}: __typename" for i in range(10)) + " }"
)


def fan_out(levels: int) -> str:
    """Fragments that each spread the one before twice: 2**levels fields from a few hundred tokens."""
    fragments = ["fragment F0 on Query { platforms { platform } }"]
    fragments += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels)]
    return f"{{ ...F{levels - 1} }} " + " ".join(fragments)


def chain(length: int) -> str:
    """Fragments that each spread the next: nesting without a field."""
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(length)]
    return "{ ...F0 } " + " ".join(fragments) + f" fragment F{length} on Query {{ __typename }}"


class Client(SandboxClient):
    def gql(self, query: str, variables: dict[str, Any] | None = None, debug: bool = False) -> dict[str, Any]:
        headers = {"X-Mlgraph-Debug": "1"} if debug else {}
        response = self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()


def open_client(settings: Settings) -> Iterator[Client]:
    sandbox = build_sandbox(settings=settings)
    with TestClient(sandbox.app) as client:
        yield Client(client, sandbox)


@pytest.fixture(scope="module", params=[True, False], ids=["level-by-level", "generic"])
def gateway(request: pytest.FixtureRequest) -> Iterator[Client]:
    yield from open_client(Settings(compiled_execution=request.param))


@pytest.fixture(scope="module", params=[True, False], ids=["level-by-level", "generic"])
def tight(request: pytest.FixtureRequest) -> Iterator[Client]:
    """Small limits, to reach each one with a small document."""
    limits = LimitSettings(max_depth=4, max_aliases=3, max_tokens=200, max_cost=100)
    yield from open_client(Settings(compiled_execution=request.param, limits=limits))


def refused(body: dict[str, Any], code: str, limit: str) -> dict[str, Any]:
    """The one error of a request refused before it ran."""
    assert "data" not in body, body
    error = body["errors"][0]
    assert error["extensions"]["code"] == code, body
    assert error["extensions"]["limit"] == limit, body
    return error


def test_depth_50_is_refused(gateway: Client) -> None:
    before = gateway.calls()
    error = refused(gateway.gql(deep(50)), "GRAPHQL_VALIDATION_FAILED", "depth")
    assert "exceeds maximum operation depth of 15" in error["message"]
    assert gateway.calls() == before


def test_depth_limit_is_a_setting(tight: Client) -> None:
    refused(tight.gql("{ zenml { stepRuns(first: 1) { nodes { outputs { producer { name } } } } } }"),
            "GRAPHQL_VALIDATION_FAILED", "depth")
    assert tight.gql("{ zenml { users(first: 1) { totalCount } } }")["data"]["zenml"]["users"]["totalCount"] == 3


def test_1000_aliases_are_refused(gateway: Client) -> None:
    error = refused(gateway.gql(aliases(1000)), "GRAPHQL_VALIDATION_FAILED", "aliases")
    assert error["message"] == "1000 aliases found. Allowed: 30"
    assert gateway.gql(aliases(30))["data"]["a29"] == "Query"


def test_aliases_hidden_in_fragment_spreads_count_once_per_spread(gateway: Client) -> None:
    error = refused(gateway.gql(ALIASES_IN_SPREADS), "GRAPHQL_VALIDATION_FAILED", "aliases")
    assert error["message"] == "40 aliases found. Allowed: 30"
    # Strawberry's own rule, as pinned (>= 0.315.7), counts them so: before it counted 10.
    rules = MaxAliasesLimiter(max_alias_count=30).validation_rules
    assert [e.message for e in validate(schema._schema, parse(ALIASES_IN_SPREADS), rules)] == ["40 aliases found. Allowed: 30"]


def test_circular_fragments_are_a_validation_error_not_a_crash(gateway: Client) -> None:
    body = gateway.gql(CIRCULAR)
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "Cannot spread fragment 'A' within itself" in body["errors"][0]["message"]
    # Strawberry's depth and alias rules alone (>= 0.315.7) walk the cycle without crashing.
    document = parse(CIRCULAR)
    for extension in (QueryDepthLimiter(max_depth=15), MaxAliasesLimiter(max_alias_count=30)):
        validate(schema._schema, document, extension.validation_rules)
    assert gateway.gql(USERS)["data"]["zenml"]["users"]["totalCount"] == 3


def test_exponential_fragments_are_refused_at_once(gateway: Client) -> None:
    started = time.perf_counter()
    error = refused(gateway.gql(fan_out(40)), "COST_LIMIT_EXCEEDED", "cost")
    assert time.perf_counter() - started < 2  # Strawberry's rules alone walk 2**40 spreads
    assert error["extensions"]["cost"] == {"estimated": 2**39 * 2, "limit": 250_000}
    assert gateway.gql(fan_out(6))["data"]["platforms"]


def test_fragment_chains_too_deep_to_walk_are_refused(gateway: Client) -> None:
    error = refused(gateway.gql(chain(400)), "GRAPHQL_VALIDATION_FAILED", "depth")
    assert "more than 150 levels" in error["message"]
    assert gateway.gql(chain(20))["data"] == {"__typename": "Query"}


def test_tokens_over_the_limit_stop_parsing(gateway: Client, tight: Client) -> None:
    error = refused(gateway.gql("{ " + "__typename " * 6000 + "}"), "GRAPHQL_PARSE_FAILED", "tokens")
    assert "more than 5000 tokens" in error["message"]
    refused(tight.gql(aliases(3).replace("}", "__typename " * 200 + "}")), "GRAPHQL_PARSE_FAILED", "tokens")


def test_cost_is_estimated_before_execution_and_shown_when_debugging(gateway: Client) -> None:
    query = "query($n: Int) { zenml { pipelineRuns(first: $n) { nodes { name steps(first: 5) { nodes { name status } } } } } }"
    body = gateway.gql(query, {"n": 2}, debug=True)
    # pipelineRuns: 1 + 2 x (nodes: 1 + 1 x (name 1 + steps: 1 + 5 x (nodes: 1 + 2)))
    assert body["extensions"]["cost"] == {"estimated": 1 + 1 + 2 * (1 + 1 + 1 + 5 * 3), "limit": 250_000}
    assert "cost" not in (gateway.gql(query, {"n": 2}).get("extensions") or {})
    bigger = gateway.gql(query, {"n": 4}, debug=True)["extensions"]["cost"]["estimated"]
    assert bigger == 1 + 1 + 4 * 18


def test_cost_over_the_limit_is_refused_before_any_backend_call(tight: Client) -> None:
    query = "query($n: Int) { zenml { users(first: $n) { nodes { name email } } } }"
    assert tight.gql(query, {"n": 10}, debug=True)["extensions"]["cost"]["estimated"] == 1 + 1 + 10 * 3
    before = tight.calls()
    body = tight.http.post("/graphql", json={"query": query, "variables": {"n": 50}}, headers={"X-Mlgraph-Debug": "1"}).json()
    error = refused(body, "COST_LIMIT_EXCEEDED", "cost")
    assert error["extensions"]["cost"] == {"estimated": 1 + 1 + 50 * 3, "limit": 100}
    assert body["extensions"]["cost"] == {"estimated": 152, "limit": 100}
    assert tight.calls() == before
    accept = {"Accept": "application/graphql-response+json"}
    strict = tight.http.post("/graphql", json={"query": query, "variables": {"n": 50}}, headers=accept)
    assert strict.status_code == 400  # a request error under GraphQL over HTTP's own media type


def test_unpaged_lists_count_the_default_page_size_and_introspection_is_free(gateway: Client) -> None:
    body = gateway.gql("{ platforms { platform host } __schema { types { name fields { name } } } }", debug=True)
    assert body["extensions"]["cost"]["estimated"] == (1 + 20 * 2) + 1


def test_page_size_over_the_largest_is_bad_user_input(gateway: Client) -> None:
    body = gateway.gql("{ zenml { users(first: 5000) { totalCount } } }")
    assert body["data"]["zenml"]["users"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "at most 1000" in body["errors"][0]["message"]


def test_rate_limiter_admits_a_burst_then_one_per_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    """limits' sliding window counter reads ``time.time()``: a fake one walks it."""
    now = [6_000_000.5]  # half a second into a minute
    monkeypatch.setattr(time, "time", lambda: now[0])

    async def scenario() -> None:
        limiter = RateLimiter(60)  # bursts of 60, then about one a second
        assert [await limiter.hit("a") for _ in range(60)] == [0.0] * 60
        assert await limiter.hit("a") == pytest.approx(59.5)  # this minute is spent
        assert await limiter.hit("b") == 0  # each client on its own
        now[0] += 60  # the minute before weighs 59.5 of its 60: one more fits
        assert await limiter.hit("a") == 0
        assert await limiter.hit("a") == pytest.approx(0.5)  # the next when the weight drops by one
        now[0] += 1.0
        assert await limiter.hit("a") == 0 and await limiter.hit("a") > 0
        now[0] += 3600
        assert [await limiter.hit("a") for _ in range(60)] == [0.0] * 60
        await limiter.aclose()

    async def bounded() -> None:
        small = RateLimiter(1, max_counts=2)
        assert await small.hit("x") == 0 and await small.hit("y") == 0
        assert await small.hit("x") > 0
        assert await small.hit("z") == 0  # a third count: all are forgotten
        assert await small.hit("x") == 0

    asyncio.run(scenario())
    asyncio.run(bounded())
    with pytest.raises(ValueError):
        RateLimiter(0)


def test_over_the_rate_is_429_with_retry_after() -> None:
    settings = Settings(limits=LimitSettings(rate_per_minute=2))
    with TestClient(build_sandbox(settings=settings).app) as client:
        assert all(client.post("/graphql", json={"query": "{ __typename }"}).status_code == 200 for _ in range(2))
        limited = client.post("/graphql", json={"query": "{ __typename }"})
        assert limited.status_code == 429
        # Until the minute of the first two frees one: at most a minute, in whole seconds.
        retry_after = int(limited.headers["retry-after"])
        assert 1 <= retry_after <= 60
        error = limited.json()["errors"][0]
        assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": retry_after}
        assert client.get("/healthz").status_code == 200  # probes are never limited
        assert client.get("/readyz").status_code == 429


def test_the_rate_is_per_key_when_authenticated() -> None:
    keys = ["first-key-0123456789", "second-key-0123456789"]
    settings = Settings(
        limits=LimitSettings(rate_per_minute=1), auth=AuthSettings(api_key_hashes=[hash_key(k) for k in keys])
    )
    with TestClient(build_sandbox(settings=settings).app) as client:
        def post(headers: dict[str, str]) -> int:
            return client.post("/graphql", json={"query": "{ __typename }"}, headers=headers).status_code

        assert post({"X-Api-Key": keys[0]}) == 200
        assert post({"X-Api-Key": keys[0]}) == 429
        assert post({"X-Api-Key": keys[1]}) == 200  # another key, another client
        assert post({"X-Api-Key": "wrong"}) == 401  # counted against the address
        assert post({"X-Api-Key": "wrong again"}) == 429


def test_limits_hold_on_both_executors_with_the_same_errors() -> None:
    """The level-by-level executor validates with the very rules Strawberry's does."""
    answers = []
    for compiled in (True, False):
        sandbox = build_sandbox(settings=Settings(compiled_execution=compiled))
        with TestClient(sandbox.app) as client:
            answers.append([
                client.post("/graphql", json={"query": query}).json()
                for query in (deep(50), aliases(1000), ALIASES_IN_SPREADS, CIRCULAR, fan_out(30), chain(400))
            ])
    assert answers[0] == answers[1]

