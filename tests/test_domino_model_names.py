"""Registered model names with ``/`` in them: one path segment, and NOT_FOUND when unknown.

The client sends a name as one segment (``/`` as ``%2F``). The emulator used
to route the decoded path, so ``abc%2F`` met Starlette's trailing-slash
redirect (a 307 with no body, BAD_BACKEND_RESPONSE) and ``a%2Fversions`` the
versions of model ``a``; Domino routes the path as sent.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi.testclient import TestClient

from mlgraph.backends.domino import DominoClient, DominoConnection
from mlgraph.backends.errors import NotFound
from mlgraph.backends.ledger import Ledger
from mlgraph.graph.ids import global_id
from mlgraph.sandbox.domino import create_domino_emulator
from mlgraph.sandbox.domino_data import DominoData
from tests.conftest import Gateway

MODELS = "/api/registeredmodels/v1"


@pytest.mark.parametrize("suffix", ["/", "//", "/versions", "/versions/1"])
def test_forged_model_ids_ending_in_a_slash_are_not_found(gateway: Gateway, suffix: str) -> None:
    model = gateway.sandbox.domino.registered_models[0].name
    forged = model + suffix  # names no model; never the real one
    by_node = gateway("query($id: ID!) { node(id: $id) { id } }", {"id": global_id("DominoRegisteredModel", forged)})
    by_name = gateway("query($n: String!) { domino { registeredModel(name: $n) { name } } }", {"n": forged})
    version = gateway(
        "query($id: ID!) { node(id: $id) { id } }", {"id": global_id("DominoModelVersion", f"{forged}/1")}
    )
    for answer in (by_node, by_name, version):
        assert answer.codes() == ["NOT_FOUND"], answer.errors
        assert answer.errors[0]["extensions"]["platform"] == "domino"
        assert [e["status"] for e in answer.ledger["entries"]] == [404]
    assert by_node.data == {"node": None} and by_name.data == {"domino": {"registeredModel": None}}
    assert f"registered model {forged} not found" in by_node.errors[0]["message"]


def test_the_emulator_routes_the_path_as_sent_and_never_redirects() -> None:
    data = DominoData.generate(projects=1, jobs=2)
    model = data.registered_models[0].name
    client = TestClient(create_domino_emulator(data))
    for path, message in [
        (f"{MODELS}/{model}%2F", f"Registered model {model}/ not found"),
        (f"{MODELS}/{model}%2Fversions", f"Registered model {model}/versions not found"),
        (f"{MODELS}/{model}%2F/versions/1", f"Registered model {model}/ not found"),
        ("/api/jobs/beta/jobs/", "No route for GET /api/jobs/beta/jobs/"),
    ]:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 404, (path, response.status_code)
        assert response.headers["content-type"] == "application/json"
        assert response.json()["errors"] == [message]
    assert client.get(f"{MODELS}/{model}").json()["name"] == model
    assert client.get(f"{MODELS}/{model.replace('-', '%2D')}").json()["name"] == model  # parameters decoded


def test_a_404_without_a_json_body_is_still_not_found() -> None:
    """A proxy's HTML page on a 404 is a clear answer all the same."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="<html>Not Found</html>", headers={"content-type": "text/html"})

    async def main() -> None:
        transport = httpx.MockTransport(handler)
        connection = DominoConnection("http://domino.test", timeout=5, api_key="k", transport=transport)
        ledger = Ledger()
        try:
            with pytest.raises(NotFound, match="registered model abc/ not found"):
                await DominoClient(connection, ledger).registered_model("abc/")
        finally:
            await connection.aclose()
        assert [(call.path, call.status) for call in ledger.calls] == [(f"{MODELS}/abc%2F", 404)]

    asyncio.run(main())
