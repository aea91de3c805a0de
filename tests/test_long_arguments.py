"""Arguments that cannot become a valid backend request are the client's error.

A 70,000-character name once made httpx raise "URL component 'query' too
long", answered as INTERNAL_SERVER_ERROR. Every argument that reaches a URL
(query strings and path segments, on all three platforms) is now refused as
BAD_USER_INPUT before any backend call: an id by its platform's id check, any
other text by the shared client layer's bound on the URL it would make.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest

from mlgraph.backends import domino as domino_wire
from mlgraph.backends import zenml as zenml_wire
from mlgraph.backends.errors import Rejected
from mlgraph.backends.ledger import Ledger
from tests.conftest import Gateway

LONG = "x" * 70_000
#: What a refusal must never show: the emulators' addresses, or the argument.
LEAKS = ("http", "sandbox", "/api", "x" * 100)


def emulator_calls(gateway: Gateway) -> int:
    box = gateway.sandbox
    return sum(len(app.state.calls) for app in (box.zenml_emulator, box.domino_emulator, box.abacus_emulator))


def assert_refused(gateway: Gateway, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The answer: one BAD_USER_INPUT, no backend asked, nothing leaked."""
    before = emulator_calls(gateway)
    answer = gateway(query, variables)
    assert answer.codes() == ["BAD_USER_INPUT"], answer.errors
    assert answer.calls == 0
    assert emulator_calls(gateway) == before
    (error,) = answer.errors
    for leak in LEAKS:
        assert leak not in error["message"]
    return error


QUERIES = {
    "zenml name filter": "query($n: String!) { zenml { users(name: $n, first: 1) { totalCount } } }",
    "zenml id": "query($n: ID!) { zenml { stepRun(id: $n) { name } } }",
    "domino search": "query($n: String!) { domino { registeredModels(search: $n, first: 1) { totalCount } } }",
    "domino model name (a path segment)": "query($n: String!) { domino { registeredModel(name: $n) { name } } }",
    "domino id": "query($n: ID!) { domino { job(id: $n) { title } } }",
    "abacus id": "query($n: ID!) { abacus { pipeline(id: $n) { name } } }",
}


@pytest.mark.parametrize("query", QUERIES.values(), ids=QUERIES.keys())
def test_a_70000_character_argument_is_bad_user_input(gateway: Gateway, query: str) -> None:
    assert_refused(gateway, query, {"n": LONG})


def test_a_long_tag_filter_is_refused_by_the_client_layer(gateway: Gateway) -> None:
    project = gateway.sandbox.domino.projects[0].id
    query = "query($p: ID!, $n: String!) { domino { jobs(project: $p, tag: $n, first: 1) { totalCount } } }"
    error = assert_refused(gateway, query, {"p": project, "n": LONG})
    assert error["message"] == "an argument is too long for a domino request (its URL would pass 8 KiB)"
    assert error["extensions"]["platform"] == "domino"


def test_a_name_just_over_the_bound_is_refused_too(gateway: Gateway) -> None:
    """Short of httpx's own 64 KiB limit, the gateway's 8 KiB one still holds."""
    error = assert_refused(gateway, QUERIES["domino search"], {"n": "y" * 9_000})
    assert "too long" in error["message"]


@pytest.mark.parametrize("text", ["a\x00b", "line\nbreak", "tab\there", "del\x7f"])
def test_a_control_character_in_a_name_is_bad_user_input(gateway: Gateway, text: str) -> None:
    error = assert_refused(gateway, QUERIES["zenml name filter"], {"n": text})
    assert "control character" in error["message"]
    assert_refused(gateway, QUERIES["domino model name (a path segment)"], {"n": text})


def test_a_merged_list_refuses_the_platform_the_filter_reaches(gateway: Gateway) -> None:
    """ZenML filters names on its server, the others in the gateway: only
    ZenML's part is refused, unasked, and the others still answer."""
    query = """query($n: String!) { executions(filter: {nameContains: $n}, first: 1) {
                 edges { cursor } failures { platform code message } } }"""
    answer = gateway(query, {"n": LONG})
    assert answer.ledger["byPlatform"].get("zenml", 0) == 0
    (failure,) = answer.data["executions"]["failures"]
    assert (failure["platform"], failure["code"]) == ("ZENML", "BAD_USER_INPUT")
    (error,) = answer.errors
    assert error["extensions"] == {"platform": "zenml", "code": "BAD_USER_INPUT"}
    assert "too long" in error["message"]


def test_an_ordinary_name_is_still_sent(gateway: Gateway) -> None:
    answer = gateway(QUERIES["zenml name filter"], {"n": "a" * 2_000})
    assert answer.errors == [] and answer.calls == 1


# ------------------------------------------------------------ the client layer


def over_mock(client_type: type[Any], connection_type: type[Any], **extra: Any) -> tuple[Any, list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"index": 1, "max_size": 1, "total_pages": 1, "total": 0, "items": []})

    connection = connection_type("http://backend.internal", timeout=1.0, transport=httpx.MockTransport(handler), **extra)
    return client_type(connection, Ledger()), sent


def test_a_refused_request_is_not_sent_retried_recorded_or_held_against_the_circuit() -> None:
    async def main() -> None:
        client, sent = over_mock(domino_wire.DominoClient, domino_wire.DominoConnection, api_key="k")
        for _ in range(client.connection.breaker.threshold + 1):
            with pytest.raises(Rejected) as refused:
                await client.send("GET", "/api/registeredmodels/v1", params={"search": "z" * 10_000})
            assert refused.value.status is None and refused.value.platform == "domino"
        assert sent == [] and client.ledger.calls == []
        assert client.connection.breaker.failures == 0 and client.connection.circuit_state == "closed"
        await client.send("GET", "/api/registeredmodels/v1", params={"search": "z"})
        assert len(sent) == 1
        await client.connection.aclose()

    asyncio.run(main())


def test_zenml_batches_of_500_uuids_still_fit() -> None:
    """ZenML's many-ids call is the longest URL the gateway makes itself (23 KB)."""

    async def main() -> None:
        client, sent = over_mock(zenml_wire.ZenMLClient, zenml_wire.ZenMLConnection)
        ids = [str(uuid.UUID(int=i)) for i in range(zenml_wire.ONEOF_CHUNK)]
        await client.get_many(zenml_wire.USERS, ids)
        (request,) = sent
        assert len(json.loads(request.url.params["id"].removeprefix("oneof:"))) == zenml_wire.ONEOF_CHUNK
        assert len(str(request.url)) > domino_wire.DominoClient.max_url_bytes
        await client.connection.aclose()

    asyncio.run(main())
