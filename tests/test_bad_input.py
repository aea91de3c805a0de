"""The bad-input suite: each case gets a clear coded error at once, on both
executors; no crash, no hang, no credential or backend address in the answer
or the log; and the next ordinary request is answered as usual.

docs/errors.md's "Bad input" table lists the same cases.
"""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from mlgraph.demo import ABACUS_SANDBOX_KEY, DOMINO_SANDBOX_KEY
from mlgraph.graph.ids import global_id
from tests.conftest import Gateway

#: What must never show: the emulators' host names and credentials.
NEVER = ("zenml.sandbox", "domino.sandbox", "abacus.sandbox", DOMINO_SANDBOX_KEY, ABACUS_SANDBOX_KEY, "Traceback")
USERS = "query($first: Int!) { zenml { users(first: $first) { totalCount nodes { name } } } }"
ONE_MB = 1_000_000


def forged(type_name: str, native_id: str) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{native_id}".encode()).decode().rstrip("=")


def node(id: str) -> dict[str, Any]:
    return {"json": {"query": f'{{ node(id: "{id}") {{ id }} }}'}}


def raw(body: bytes, content_type: str = "application/json") -> dict[str, Any]:
    return {"content": body, "headers": {"content-type": content_type}}


@dataclass
class Case:
    name: str
    request: dict[str, Any]
    status: int
    code: str
    method: str = "POST"
    extensions: dict[str, Any] = field(default_factory=dict)
    #: Whether the document ran (its errors then carry a path).
    ran: bool = False


DEPTH_50 = "{ zenml { stepRuns(first: 1) { nodes { outputs { " + "producer { outputs { " * 25 + "uri" + " } }" * 25 + " } } } } }"

CASES = [
    Case("malformed GraphQL", {"json": {"query": "{ zenml { users(first: 2) { "}}, 200, "GRAPHQL_PARSE_FAILED"),
    Case("control characters", {"json": {"query": "\x00\x01 {{{ ???"}}, 200, "GRAPHQL_PARSE_FAILED"),
    Case("a 1 MB document", {"json": {"query": "{ " + "__typename " * (ONE_MB // 11) + "}"}}, 200,
         "GRAPHQL_PARSE_FAILED", extensions={"limit": "tokens"}),
    Case("a 1 MB id", node("a" * ONE_MB), 200, "BAD_USER_INPUT", ran=True),
    Case("depth 50", {"json": {"query": DEPTH_50}}, 200, "GRAPHQL_VALIDATION_FAILED", extensions={"limit": "depth"}),
    Case("1000 aliases", {"json": {"query": "{ " + " ".join(f"a{i}: __typename" for i in range(1000)) + " }"}}, 200,
         "GRAPHQL_VALIDATION_FAILED", extensions={"limit": "aliases"}),
    Case("a variable of the wrong type", {"json": {"query": USERS, "variables": {"first": "two"}}}, 200, "BAD_USER_INPUT"),
    Case("a missing variable", {"json": {"query": USERS, "variables": {}}}, 200, "BAD_USER_INPUT"),
    Case("variables not an object", {"json": {"query": USERS, "variables": [2]}}, 400, "BAD_REQUEST"),
    Case("a page over the largest", {"json": {"query": USERS, "variables": {"first": 100_000}}}, 200, "BAD_USER_INPUT",
         ran=True),
    Case("a forged id of no type", node(forged("Secret", "1")), 200, "BAD_USER_INPUT", ran=True),
    Case("a forged id with a path", node(forged("ZenMLStepRun", "../../info")), 200, "BAD_USER_INPUT", ran=True),
    Case("a forged id with a query string", node(forged("DominoJob", "x?limit=1#")), 200, "BAD_USER_INPUT", ran=True),
    Case("a forged id of nothing", node(global_id("ZenMLStepRun", "00000000-0000-0000-0000-000000000000")), 200,
         "NOT_FOUND", ran=True),
    Case("a malformed id", node("!!not-base64!!"), 200, "BAD_USER_INPUT", ran=True),
    Case("a forged cursor", {"json": {"query": '{ zenml { users(first: 2, after: "b2Zmc2V0Oi0x") { totalCount } } }'}},
         200, "BAD_USER_INPUT", ran=True),
    Case("PUT", {"json": {"query": "{ __typename }"}}, 405, "BAD_REQUEST", method="PUT"),
    Case("DELETE", {}, 405, "BAD_REQUEST", method="DELETE"),
    Case("a mutation by GET", {"params": {"query": 'mutation { deleteService(id: "x") { id } }'}}, 405, "BAD_REQUEST",
         method="GET"),
    Case("a body over 1 MiB", raw(b'{"query": "' + b" " * 2_000_000 + b'{ __typename }"}'), 413, "BAD_REQUEST"),
    Case("a non-JSON body", raw(b"{not json"), 400, "BAD_REQUEST"),
    Case("a body that is not UTF-8", raw(b'\xff\xfe{"query": 1}'), 400, "BAD_REQUEST"),
    Case("JSON nested 100 000 deep", raw(b"[" * 100_000), 400, "BAD_REQUEST"),
    Case("a JSON array", {"json": [{"query": "{ __typename }"}]}, 400, "BAD_REQUEST"),
    Case("a query that is not a string", {"json": {"query": 42}}, 400, "BAD_REQUEST"),
    Case("no query", {"json": {}}, 400, "BAD_REQUEST"),
    Case("another content type", raw(b'{"query": "{ __typename }"}', "text/plain"), 400, "BAD_REQUEST"),
    Case("an unknown operation", {"json": {"query": "query A { __typename }", "operationName": "B"}}, 400, "BAD_REQUEST"),
    Case("malformed extensions", {"json": {"query": "{ __typename }", "extensions": "x"}}, 400, "BAD_REQUEST"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_gets_a_clear_coded_error(gateway: Gateway, case: Case, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="mlgraph")
    started = time.perf_counter()
    response = gateway.client.request(case.method, "/graphql", **case.request)
    elapsed = time.perf_counter() - started
    assert elapsed < 5, f"{case.name} took {elapsed:.1f} s"
    assert response.status_code == case.status, response.text[:500]
    assert response.headers["content-type"].startswith("application/json")
    assert len(response.content) < 4096  # nothing of a huge input is echoed
    body = response.json()
    (error, *_) = body["errors"]
    assert error["extensions"]["code"] == case.code, body
    assert error["message"] and "Internal" not in error["message"]
    for key, value in case.extensions.items():
        assert error["extensions"][key] == value
    assert ("path" in error) is case.ran
    if not case.ran:
        assert "data" not in body  # refused before it ran
    text = response.text + str(response.headers) + caplog.text
    for secret in NEVER:
        assert secret not in text, f"{secret!r} leaked for {case.name}"
    after = gateway.client.post("/graphql", json={"query": USERS, "variables": {"first": 2}})
    assert after.status_code == 200 and "errors" not in after.json()
    users = after.json()["data"]["zenml"]["users"]
    assert users["totalCount"] == 3 and len(users["nodes"]) == 2


def test_an_unexpected_exception_is_masked_with_an_error_id(
    gateway: Gateway, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("detail only the log may see")

    monkeypatch.setattr("mlgraph.backends.zenml.ZenMLClient.list", broken)
    with caplog.at_level(logging.ERROR, logger="mlgraph"):
        body = gateway.client.post("/graphql", json={"query": USERS, "variables": {"first": 2}}).json()
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    error_id = error["extensions"]["errorId"]
    assert len(error_id) == 12 and error_id in error["message"]
    assert "detail only the log may see" not in str(body)
    (record,) = [r for r in caplog.records if error_id in r.getMessage()]
    assert record.exc_info is not None and "detail only the log may see" in caplog.text
    monkeypatch.undo()
    assert gateway.client.post("/graphql", json={"query": USERS, "variables": {"first": 2}}).json()["data"]["zenml"]["users"]


def test_a_crash_outside_graphql_is_a_coded_500(gateway: Gateway, monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the endpoint itself broke")

    monkeypatch.setattr("mlgraph.http.operation_type", broken)
    with caplog.at_level(logging.ERROR, logger="mlgraph"):
        response = gateway.client.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 500
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["extensions"]["errorId"] in caplog.text and "the endpoint itself broke" in caplog.text
    assert "the endpoint itself broke" not in response.text
