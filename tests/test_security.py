"""Who may call: API keys (hashed), forwarded platform credentials, GraphiQL and
introspection switches, and secrets read from files that never leak."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from mlgraph.cli import app as cli
from mlgraph.demo import (
    ABACUS_SANDBOX_KEY,
    ABACUS_SANDBOX_URL,
    DOMINO_SANDBOX_KEY,
    DOMINO_SANDBOX_URL,
    ZENML_SANDBOX_URL,
    build_sandbox,
)
from mlgraph.graphiql import ASSET_FILES
from mlgraph.security import ApiKeys, hash_key
from mlgraph.settings import (
    AbacusSettings,
    AuthSettings,
    DominoSettings,
    ForwardSettings,
    Settings,
    ZenMLSettings,
    load_settings,
)
from mlgraph.sandbox.faults import Faults

KEY = "mlg-test-key-0123456789abcdef"
SECOND_KEY = "mlg-second-key-fedcba9876543210"
USERS = "{ zenml { users(first: 2) { totalCount nodes { name } } } }"
EVERY_PLATFORM = """{
  zenml { users(first: 1) { totalCount } }
  domino { projects(first: 1) { totalCount } }
  abacus { pipelines { nodes { name } } }
}"""


def small_sandbox(settings: Settings, **kwargs: Any) -> Any:
    return build_sandbox(
        settings=settings, pipelines=1, runs_per_pipeline=2, steps_per_run=2, domino_projects=1, domino_jobs=3,
        abacus_pipelines=1, abacus_versions_per_pipeline=1, **kwargs,
    )


@pytest.fixture(scope="module")
def guarded() -> Iterator[TestClient]:
    """A gateway that takes two keys."""
    auth = AuthSettings(api_key_hashes=[hash_key(KEY), hash_key(SECOND_KEY)])
    with TestClient(small_sandbox(Settings(auth=auth)).app) as client:
        yield client


def post(client: TestClient, query: str = USERS, headers: dict[str, str] | None = None) -> Any:
    return client.post("/graphql", json={"query": query}, headers=headers or {})


def test_auth_is_off_without_hashes() -> None:
    assert not Settings().auth.enabled
    with TestClient(small_sandbox(Settings()).app) as client:
        answer = post(client)
    assert answer.status_code == 200 and answer.json()["data"]["zenml"]["users"]["totalCount"] == 3
    assert "www-authenticate" not in answer.headers


def test_a_request_without_a_key_gets_401_with_a_coded_body(guarded: TestClient) -> None:
    answer = post(guarded)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer realm="mlgraph"'
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert list(body) == ["errors"]
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}
    assert "Authorization: Bearer" in error["message"] and "X-Api-Key" in error["message"]
    assert guarded.get("/graphql", params={"query": USERS}).status_code == 401


def test_a_wrong_key_gets_401_invalid_token(guarded: TestClient) -> None:
    for headers in ({"Authorization": "Bearer not-the-key"}, {"X-Api-Key": KEY + "x"}, {"Authorization": f"Basic {KEY}"}):
        answer = post(guarded, headers=headers)
        assert answer.status_code == 401, headers
        assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert 'error="invalid_token"' in post(guarded, headers={"X-Api-Key": "wrong"}).headers["www-authenticate"]


def test_keys_are_accepted_as_bearer_or_x_api_key(guarded: TestClient) -> None:
    for headers in ({"Authorization": f"Bearer {KEY}"}, {"authorization": f"bearer {SECOND_KEY}"}, {"X-Api-Key": KEY}):
        answer = post(guarded, headers=headers)
        assert answer.status_code == 200, headers
        assert answer.json()["data"]["zenml"]["users"]["totalCount"] == 3


def test_keys_are_kept_hashed_and_compared_by_hash() -> None:
    assert hash_key(KEY).startswith("sha256:") and len(hash_key(KEY)) == 7 + 64
    with pytest.raises(ValidationError):
        AuthSettings(api_key_hashes=[KEY])  # a raw key is refused: only hashes are kept
    settings = AuthSettings(api_key_hashes=[hash_key(KEY).upper().replace("SHA256", "sha256")])
    assert settings.api_key_hashes == [hash_key(KEY)]
    keys = ApiKeys(settings.api_key_hashes)
    assert keys.identify(KEY) is not None and keys.identify(KEY) == keys.identify(KEY)
    assert keys.identify(KEY[:-1]) is None and keys.identify("") is None and keys.identify(None) is None
    assert KEY not in repr(Settings(auth=settings)) and KEY not in (keys.identify(KEY) or "")


def test_health_readiness_and_graphiql_need_no_key(guarded: TestClient) -> None:
    assert guarded.get("/healthz").json() == {"status": "ok"}
    assert guarded.get("/readyz").status_code == 200
    page = guarded.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert guarded.get(f"/graphiql/{ASSET_FILES[0]}").status_code == 200
    # The page holds no data; anything it asks for needs the key.
    assert guarded.get("/graphql", params={"query": "{ __typename }"}, headers={"Accept": "text/html"}).status_code == 401


def test_readyz_can_be_protected() -> None:
    auth = AuthSettings(api_key_hashes=[hash_key(KEY)], protect_readyz=True)
    with TestClient(small_sandbox(Settings(auth=auth)).app) as client:
        assert client.get("/readyz").status_code == 401
        assert client.get("/readyz", headers={"X-Api-Key": KEY}).status_code == 200
        assert client.get("/healthz").status_code == 200


def test_cors_preflight_needs_no_key_and_401_is_readable_by_the_browser() -> None:
    origin = "https://app.example.com"
    settings = Settings(cors_origins=[origin], auth=AuthSettings(api_key_hashes=[hash_key(KEY)]))
    with TestClient(small_sandbox(settings).app) as client:
        preflight = client.options("/graphql", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api-key",
        })
        assert preflight.status_code == 200
        assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()
        refused = post(client, headers={"Origin": origin})
        assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == origin


def test_hash_key_command_reads_the_key_from_stdin() -> None:
    result = CliRunner().invoke(cli, ["auth", "hash-key"], input=KEY + "\n")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == hash_key(KEY)
    assert KEY not in result.output
    short = CliRunner().invoke(cli, ["auth", "hash-key"], input="short\n")
    assert short.exit_code == 2


def test_forwarding_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLGRAPH_AUTH__FORWARD__DOMINO", "X-Domino-Api-Key")
    monkeypatch.setenv("MLGRAPH_AUTH__FORWARD__ZENML", "X-Zenml-Token")
    forward = Settings().auth.forward
    assert forward.headers() == {"zenml": "x-zenml-token", "domino": "x-domino-api-key"}
    with pytest.raises(ValidationError):
        ForwardSettings(domino="not a header")
    with pytest.raises(ValidationError):  # the gateway's own key header cannot carry a platform's
        AuthSettings(api_key_hashes=[hash_key(KEY)], forward=ForwardSettings(zenml="Authorization"))
    assert AuthSettings(forward=ForwardSettings(zenml="Authorization")).forward.zenml == "authorization"


@pytest.mark.parametrize("compiled", [True, False], ids=["level-by-level", "generic"])
def test_forwarded_credentials_replace_the_gateways_own(compiled: bool) -> None:
    """The gateway's own credentials are wrong for every platform: each answers
    FORBIDDEN, unless the request forwards the caller's own."""
    caller_token = "caller-zenml-token-42"
    settings = Settings(
        compiled_execution=compiled,
        zenml=ZenMLSettings(url=ZENML_SANDBOX_URL, token="gateway-token-wrong"),
        domino=DominoSettings(url=DOMINO_SANDBOX_URL, api_key="gateway-domino-wrong"),
        abacus=AbacusSettings(url=ABACUS_SANDBOX_URL, api_key="gateway-abacus-wrong"),
        auth=AuthSettings(forward=ForwardSettings(zenml="X-Zenml-Token", domino="X-Domino-Api-Key", abacus="X-Abacus-Key")),
    )
    with TestClient(small_sandbox(settings, token=caller_token).app) as client:
        own = post(client, EVERY_PLATFORM).json()
        assert sorted((e["extensions"]["code"], e["extensions"]["platform"]) for e in own["errors"]) == [
            ("FORBIDDEN", "abacus"), ("FORBIDDEN", "domino"), ("FORBIDDEN", "zenml"),
        ]
        forwarded = post(client, EVERY_PLATFORM, headers={
            "X-Zenml-Token": caller_token, "X-Domino-Api-Key": DOMINO_SANDBOX_KEY, "X-Abacus-Key": ABACUS_SANDBOX_KEY,
        }).json()
        assert "errors" not in forwarded, forwarded
        assert forwarded["data"]["zenml"]["users"]["totalCount"] >= 1
        assert forwarded["data"]["domino"]["projects"]["totalCount"] == 1
        assert len(forwarded["data"]["abacus"]["pipelines"]) == 1
        bearer = post(client, "{ domino { projects(first: 1) { totalCount } } }",
                      headers={"X-Domino-Api-Key": "Bearer not-a-domino-token"}).json()
        assert bearer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        # The next request without the headers is back on the gateway's own credentials.
        assert len(post(client, EVERY_PLATFORM).json()["errors"]) == 3


def test_graphiql_can_be_turned_off() -> None:
    with TestClient(small_sandbox(Settings(graphiql=False)).app) as client:
        page = client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 400 and page.headers["content-type"].startswith("application/json")
        assert page.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        assert client.get(f"/graphiql/{ASSET_FILES[0]}").status_code == 404
        assert post(client).status_code == 200


INTROSPECTION = [
    "{ __schema { queryType { name } } }",
    '{ __type(name: "Query") { name } }',
    "query { zenml { users(first: 1) { totalCount } } ...Schema } fragment Schema on Query { __schema { types { name } } }",
]


@pytest.mark.parametrize("compiled", [True, False], ids=["level-by-level", "generic"])
def test_introspection_can_be_turned_off(compiled: bool) -> None:
    with TestClient(small_sandbox(Settings(introspection=False, compiled_execution=compiled)).app) as client:
        for query in INTROSPECTION:
            body = post(client, query).json()
            assert "data" not in body, query
            assert {e["extensions"]["code"] for e in body["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}
            assert {e["extensions"]["limit"] for e in body["errors"]} == {"introspection"}
            assert "introspection" in body["errors"][0]["message"].lower()
        assert post(client, "{ __typename }").json() == {"data": {"__typename": "Query"}}
        assert post(client).json()["data"]["zenml"]["users"]["totalCount"] == 3
    with TestClient(small_sandbox(Settings(compiled_execution=compiled)).app) as client:
        assert post(client, INTROSPECTION[0]).json()["data"]["__schema"]["queryType"]["name"] == "Query"


# -- secrets from files ------------------------------------------------------

ZENML_SECRET = "zen-SECRET-token-5b1f9c"
DOMINO_SECRET = "dom-SECRET-key-0e7d22"  # wrong for the emulator: Domino refuses it


def test_secret_files_feed_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLGRAPH_CONFIG", raising=False)
    (tmp_path / "zenml__url").write_text(ZENML_SANDBOX_URL + "\n")
    (tmp_path / "zenml__api_key").write_text("ZENKEY_from_a_file\n")
    (tmp_path / "auth__api_key_hashes").write_text(f'["{hash_key(KEY)}"]')
    settings = load_settings(secrets_dir=tmp_path)
    assert settings.zenml is not None and settings.zenml.api_key is not None
    assert settings.zenml.api_key.get_secret_value() == "ZENKEY_from_a_file"
    assert settings.auth.api_key_hashes == [hash_key(KEY)]
    assert "ZENKEY_from_a_file" not in repr(settings)
    monkeypatch.setenv("MLGRAPH_ZENML__API_KEY", "ZENKEY_from_the_environment")  # the environment wins
    assert load_settings(secrets_dir=tmp_path).zenml.api_key.get_secret_value() == "ZENKEY_from_the_environment"  # type: ignore[union-attr]
    monkeypatch.delenv("MLGRAPH_ZENML__API_KEY")
    monkeypatch.setenv("MLGRAPH_SECRETS_DIR", str(tmp_path))
    assert Settings().zenml.api_key.get_secret_value() == "ZENKEY_from_a_file"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="does not exist"):
        load_settings(secrets_dir=tmp_path / "absent")


def test_settings_errors_do_not_quote_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLGRAPH_CONFIG", raising=False)
    monkeypatch.delenv("MLGRAPH_ZENML__URL", raising=False)
    (tmp_path / "zenml__api_key").write_text(ZENML_SECRET)  # a key without a URL: invalid
    with pytest.raises(ValueError) as raised:
        load_settings(secrets_dir=tmp_path)
    assert "zenml.url" in str(raised.value) and ZENML_SECRET not in str(raised.value)
    result = CliRunner().invoke(cli, ["serve", "--secrets-dir", str(tmp_path)], env={"MLGRAPH_ZENML__URL": None})
    assert result.exit_code == 2 and ZENML_SECRET not in result.output


@pytest.mark.parametrize("compiled", [True, False], ids=["level-by-level", "generic"])
def test_secrets_from_files_never_reach_a_response_or_the_log(
    compiled: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("MLGRAPH_CONFIG", "MLGRAPH_SECRETS_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "zenml__url": ZENML_SANDBOX_URL, "zenml__token": ZENML_SECRET,
        "domino__url": DOMINO_SANDBOX_URL, "domino__api_key": DOMINO_SECRET,
    }.items():
        (tmp_path / name).write_text(value)
    settings = load_settings(secrets_dir=tmp_path).model_copy(update={"compiled_execution": compiled})
    sandbox = small_sandbox(settings, token=ZENML_SECRET)
    faults: Faults = sandbox.faults
    seen: list[str] = []
    caplog.set_level(logging.DEBUG)
    with TestClient(sandbox.app) as client:
        ok = client.post("/graphql", json={"query": USERS}, headers={"X-Mlgraph-Debug": "1"})
        assert ok.json()["data"]["zenml"]["users"]["totalCount"] == 3  # the token from the file works
        requests: list[tuple[str, dict[str, Any]]] = [
            ("/graphql", {"query": EVERY_PLATFORM}),  # Domino refuses the key from the file: FORBIDDEN
            ("/graphql", {"query": "query($n: Int!) { zenml { users(first: $n) { totalCount } } }", "variables": {"n": "x"}}),
            ("/graphql", {"query": '{ node(id: "bm90LWFuLWlk") { id } }'}),
            ("/graphql", {"query": "{ zenml { nope } }"}),
        ]
        for path, body in requests:
            answer = client.post(path, json=body, headers={"X-Mlgraph-Debug": "1"})
            seen.append(answer.text + str(answer.headers))
        for fault in ({"status": 500}, {"status": 401}, {"garbage": True}):
            faults.set("/api/v1/users", **fault)
            answer = client.post("/graphql", json={"query": USERS}, headers={"X-Mlgraph-Debug": "1"})
            assert answer.json()["errors"][0]["extensions"]["code"] in {"BACKEND_UNAVAILABLE", "FORBIDDEN", "BAD_BACKEND_RESPONSE"}
            seen.append(answer.text + str(answer.headers))
            faults.clear()
        monkeypatch.setattr("mlgraph.backends.zenml.ZenMLClient.list", _explode)
        crashed = client.post("/graphql", json={"query": USERS})
        assert crashed.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        seen.append(crashed.text)
        seen.append(client.get("/readyz").text)
    text = "\n".join([*seen, caplog.text, *(str(record.__dict__) for record in caplog.records)])
    assert "FORBIDDEN" in text and "INTERNAL_SERVER_ERROR" in text
    for secret in (ZENML_SECRET, DOMINO_SECRET):
        assert secret not in text


async def _explode(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError("the list call broke")
