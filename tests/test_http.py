"""GraphQL over HTTP: POST and GET, GraphiQL, health, CORS, the debug ledger."""

from __future__ import annotations

from fastapi.testclient import TestClient

from mlgraph.demo import build_sandbox
from mlgraph.graphiql import ASSET_FILES
from mlgraph.settings import Settings
from mlgraph.sandbox.faults import Faults
from tests.conftest import Gateway

QUERY = "{ zenml { users(first: 3) { totalCount nodes { name } } } }"


def test_post_and_get_answer_the_same(gateway: Gateway) -> None:
    posted = gateway.client.post("/graphql", json={"query": QUERY})
    fetched = gateway.client.get("/graphql", params={"query": QUERY})
    assert posted.status_code == fetched.status_code == 200
    assert posted.json() == fetched.json()
    assert posted.json()["data"]["zenml"]["users"]["totalCount"] == 3


def test_get_never_runs_a_mutation(gateway: Gateway) -> None:
    before = len(gateway.sandbox.zenml_emulator.state.calls)
    response = gateway.client.get(
        "/graphql", params={"query": 'mutation { deleteService(id: "x") { id } }'}
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert len(gateway.sandbox.zenml_emulator.state.calls) == before


def test_graphql_response_media_type(gateway: Gateway) -> None:
    accept = {"Accept": "application/graphql-response+json"}
    bad = gateway.client.post("/graphql", json={"query": "{ nope }"}, headers=accept)
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/graphql-response+json")
    assert bad.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    good = gateway.client.post("/graphql", json={"query": QUERY}, headers=accept)
    assert good.status_code == 200 and good.json()["data"]["zenml"]["users"]["nodes"]


def test_malformed_requests_get_clear_answers(gateway: Gateway) -> None:
    assert gateway.client.post("/graphql", content=b"{not json", headers={"content-type": "application/json"}).status_code == 400
    syntax = gateway.client.post("/graphql", json={"query": "{ zenml { "}).json()
    assert syntax["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    unknown = gateway.client.post("/graphql", json={"query": "{ zenml { nope } }"}).json()
    assert unknown["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_graphiql_is_served_offline(gateway: Gateway) -> None:
    page = gateway.client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "https://" not in page.text and "http://" not in page.text
    for asset in ASSET_FILES:
        assert f"/graphiql/{asset}" in page.text
        assert gateway.client.get(f"/graphiql/{asset}").status_code == 200


def test_healthz(gateway: Gateway) -> None:
    assert gateway.client.get("/healthz").json() == {"status": "ok"}


def test_ledger_only_with_the_debug_header(gateway: Gateway) -> None:
    plain = gateway.client.post("/graphql", json={"query": QUERY}).json()
    assert "ledger" not in (plain.get("extensions") or {})
    answer = gateway(QUERY)
    assert answer.calls == 1
    (entry,) = answer.ledger["entries"]
    assert entry["platform"] == "zenml" and entry["path"].startswith("/api/v1/users?")
    assert "sandbox" not in str(answer.ledger)  # no backend host in the ledger


def test_cors_allows_configured_origins_only() -> None:
    sandbox = build_sandbox(settings=Settings(cors_origins=["https://app.example.com"]))
    with TestClient(sandbox.app) as client:
        preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
        allowed = client.options("/graphql", headers={"Origin": "https://app.example.com", **preflight})
        assert allowed.headers.get("access-control-allow-origin") == "https://app.example.com"
        denied = client.options("/graphql", headers={"Origin": "https://evil.example.com", **preflight})
        assert "access-control-allow-origin" not in denied.headers


def test_ambiguous_or_unknown_operations_are_bad_requests(gateway: Gateway) -> None:
    before = len(gateway.sandbox.zenml_emulator.state.calls)
    sneaky = 'mutation M { deleteService(id: "x") { name } } query Q { __typename }'
    for response in (
        gateway.client.get("/graphql", params={"query": sneaky}),
        gateway.client.post("/graphql", json={"query": sneaky}),
        gateway.client.post("/graphql", json={"query": "{ __typename }", "operationName": "Nope"}),
    ):
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    named = gateway.client.get("/graphql", params={"query": sneaky, "operationName": "M"})
    assert named.status_code == 405
    assert len(gateway.sandbox.zenml_emulator.state.calls) == before


def test_bad_variables_are_the_clients_fault(gateway: Gateway) -> None:
    query = "query($first: Int!) { zenml { users(first: $first) { totalCount } } }"
    for variables in ({"first": "two"}, {}):
        response = gateway.client.post(
            "/graphql", json={"query": query, "variables": variables},
            headers={"Accept": "application/graphql-response+json"},
        )
        assert response.status_code == 400
        body = response.json()
        assert "data" not in body  # the operation never ran
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "Internal" not in body["errors"][0]["message"]


def test_request_limits_and_content_types(gateway: Gateway) -> None:
    huge = gateway.client.post("/graphql", content=b'{"query": "' + b" " * 2_000_000 + b'{ __typename }"}',
                               headers={"content-type": "application/json"})
    assert huge.status_code == 413
    wrong = gateway.client.post("/graphql", content=b'{"query": "{ __typename }"}', headers={"content-type": "application/jsonx"})
    assert wrong.status_code == 400
    batch = gateway.client.post("/graphql", json=[{"query": "{ __typename }"}])
    assert batch.status_code == 400
    charset = gateway.client.post("/graphql", content=b'{"query": "{ __typename }"}',
                                  headers={"content-type": "application/json; charset=utf-8"})
    assert charset.json() == {"data": {"__typename": "Query"}}


def test_too_deep_documents_are_refused_before_any_call(gateway: Gateway) -> None:
    before = len(gateway.sandbox.zenml_emulator.state.calls)
    chain = "producer { outputs { " * 8 + "uri" + " } }" * 8
    deep = "{ zenml { stepRuns(first: 1) { nodes { outputs { " + chain + " } } } } }"
    body = gateway.client.post("/graphql", json={"query": deep}).json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]
    assert len(gateway.sandbox.zenml_emulator.state.calls) == before


def test_readyz_reports_each_platform(gateway: Gateway, faults: Faults) -> None:
    closed = {"zenml": "closed", "domino": "closed", "abacus": "closed"}
    assert gateway.client.get("/readyz").json() == {
        "status": "ready", "platforms": {"zenml": "ok", "domino": "ok", "abacus": "ok"}, "circuits": closed
    }
    faults.set("/api/v1/info", status=503)
    down = gateway.client.get("/readyz")
    assert down.status_code == 503
    assert down.json() == {
        "status": "unavailable",
        "platforms": {"zenml": "BACKEND_UNAVAILABLE", "domino": "ok", "abacus": "ok"},
        "circuits": closed,
        "causes": {"zenml": "server error (503)"},
    }
    assert "sandbox" not in down.text
    faults.set("/api/users/v1/self", status=401)
    assert gateway.client.get("/readyz").json()["platforms"]["domino"] == "FORBIDDEN"
