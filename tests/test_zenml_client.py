"""The ZenML client: auth, batching, errors and the ledger, over a mock transport."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest

from mlgraph.backends import zenml as wire
from mlgraph.backends.errors import BadResponse, Forbidden, NotFound, Rejected, Unavailable
from mlgraph.backends.ledger import Ledger

Handler = Callable[[httpx.Request], httpx.Response]
USER = {"body": {"active": True}, "metadata": None, "resources": None, "id": "u1", "name": "ada"}


def page(items: list[dict]) -> dict:
    return {"index": 1, "max_size": max(len(items), 1), "total_pages": 1, "total": len(items), "items": items}


def run(handler: Handler, coro: Callable[[wire.ZenMLClient], object], **conn: object) -> tuple[object, Ledger]:
    async def main() -> tuple[object, Ledger]:
        connection = wire.ZenMLConnection(
            "http://zenml.internal:8080", timeout=1.0, transport=httpx.MockTransport(handler), **conn
        )
        ledger = Ledger()
        try:
            return await coro(wire.ZenMLClient(connection, ledger)), ledger
        finally:
            await connection.aclose()

    return asyncio.run(main())


def test_api_key_is_exchanged_once_and_again_after_401() -> None:
    tokens = iter(["t1", "t2"])
    seen: list[str | None] = []
    current = {"token": None}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/login":
            assert parse_qs(request.content.decode()) == {"password": ["ZENKEY_x"]}
            current["token"] = next(tokens)
            return httpx.Response(200, json={"access_token": current["token"], "token_type": "bearer"})
        seen.append(request.headers.get("authorization"))
        if request.headers.get("authorization") != f"Bearer {current['token']}" or len(seen) == 3:
            current["token"] = "expired" if len(seen) == 3 else current["token"]
            return httpx.Response(401, json={"detail": ["CredentialsNotValid", "expired"]})
        return httpx.Response(200, json=page([USER]))

    async def calls(client: wire.ZenMLClient) -> None:
        # Three requests, each with its client over the one connection.
        await client.list(wire.USERS)
        await wire.ZenMLClient(client.connection, client.ledger).list(wire.USERS)
        await wire.ZenMLClient(client.connection, client.ledger).list(wire.USERS)  # 401: logs in again, retries once

    _, ledger = run(handler, calls, api_key="ZENKEY_x")
    paths = [call.path.split("?")[0] for call in ledger.calls]
    assert paths.count("/api/v1/login") == 2
    assert seen == ["Bearer t1", "Bearer t1", "Bearer t1", "Bearer t2"]


def test_get_many_chunks_at_500_ids_and_drops_unknown() -> None:
    asked: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        ids = json.loads(request.url.params["id"].removeprefix("oneof:"))
        asked.append(len(ids))
        assert int(request.url.params["size"]) == len(ids)
        return httpx.Response(200, json=page([{**USER, "id": i} for i in ids if not i.endswith("x")]))

    ids = [f"id{i}" for i in range(1199)] + ["missing-x"]
    found, ledger = run(handler, lambda client: client.get_many(wire.USERS, ids))
    assert sorted(asked) == [200, 500, 500]
    assert ledger.count("zenml") == 3
    assert len(found) == 1199 and "missing-x" not in found


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(404, json={"detail": ["KeyError", "No step run with this ID found"]}), NotFound),
        (httpx.Response(401, json={"detail": "Not authenticated"}), Forbidden),
        (httpx.Response(403, json={"detail": ["IllegalOperationError", "no"]}), Forbidden),
        (httpx.Response(422, json={"detail": ["ValueError", "bad\n  File \"/srv/x.py\", line 2"]}), Rejected),
        (httpx.Response(500, text="Internal Server Error"), Unavailable),
        (httpx.Response(200, text="<html>not json</html>"), BadResponse),
        (httpx.Response(200, json={"items": "nope"}), BadResponse),
    ],
)
def test_failures_are_typed_and_leak_nothing(response: httpx.Response, error: type[Exception]) -> None:
    with pytest.raises(error) as raised:
        run(lambda request: response, lambda client: client.list(wire.STEP_RUNS), token="s3cret-token")
    message = str(raised.value)
    for leak in ("zenml.internal", "8080", "s3cret", "Traceback", "File \"", "/srv/"):
        assert leak not in message


def test_unreachable_and_timeout_are_unavailable() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused to http://zenml.internal:8080")

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out")

    for handler in (refused, slow):
        with pytest.raises(Unavailable) as raised:
            run(handler, lambda client: client.list(wire.STEP_RUNS))
        assert "zenml.internal" not in str(raised.value)


def test_ledger_records_path_without_host() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer tok"
        return httpx.Response(200, json=page([USER]))

    _, ledger = run(handler, lambda client: client.list(wire.USERS, size=5), token="tok")
    (call,) = ledger.calls
    assert call.platform == "zenml" and call.method == "GET" and call.status == 200
    assert call.path.startswith("/api/v1/users?") and "zenml.internal" not in call.path
    assert call.bytes > 0


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(200, text="<html>not json</html>"), "ZenML answered text/plain, not JSON"),
        (httpx.Response(200, content=b'{"items": [\xff]}'), "ZenML sent a body that is not JSON"),
        (httpx.Response(200, json={"items": "nope"}), "ZenML sent a malformed ZenMLPage[ZenMLUser] payload"),
        (httpx.Response(200, json=page([{"body": {}}])), "ZenML sent a malformed ZenMLPage[ZenMLUser] payload"),
    ],
)
def test_bodies_are_parsed_from_bytes_and_classified(response: httpx.Response, message: str) -> None:
    with pytest.raises(BadResponse) as raised:
        run(lambda request: response, lambda client: client.list(wire.USERS))
    assert str(raised.value) == message


def test_parsing_pauses_the_garbage_collector_only_while_it_runs() -> None:
    import gc

    body = json.dumps(page([USER])).encode()
    assert gc.isenabled()
    assert wire.parse_json(wire.ZenMLPage[wire.ZenMLUser], body).items[0].name == "ada"
    assert gc.isenabled()
    with pytest.raises(Exception):
        wire.parse_json(wire.ZenMLPage[wire.ZenMLUser], b"{")
    assert gc.isenabled()
    gc.disable()
    try:
        wire.parse_json(wire.ZenMLPage[wire.ZenMLUser], body)
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()


def test_get_and_update_parse_records() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={**USER, "metadata": {"email": "ada@example.com"}})

    user, _ = run(handler, lambda client: client.get(wire.USERS, "u1"))
    assert user.email == "ada@example.com" and user.hydrated is True


def test_requests_failing_on_one_expired_token_log_in_once() -> None:
    state = {"token": "old", "logins": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/login":
            state["logins"] += 1
            await asyncio.sleep(0.01)
            state["token"] = f"new{state['logins']}"
            return httpx.Response(200, json={"access_token": state["token"]})
        await asyncio.sleep(0.001 * len(request.url.params.get("name", "")))
        if request.headers.get("authorization") != f"Bearer {state['token']}":
            return httpx.Response(401, json={"detail": ["CredentialsNotValid", "expired"]})
        return httpx.Response(200, json=page([USER]))

    async def many(client: wire.ZenMLClient) -> None:
        client.connection.token = "old"
        state["token"] = "rotated"  # every token the gateway holds is now stale
        await asyncio.gather(*(client.list(wire.USERS, filters={"name": "x" * i}) for i in range(10)))

    _, ledger = run(handler, many, api_key="ZENKEY_x")
    assert state["logins"] == 1
    assert sum(1 for call in ledger.calls if call.path.startswith("/api/v1/login")) == 1


def test_delete_accepts_no_content() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "DELETE"
        return httpx.Response(204)

    result, ledger = run(handler, lambda client: client.delete_service("00000000-0000-4000-8000-000000000001"))
    assert result is None and ledger.calls[0].status == 204
