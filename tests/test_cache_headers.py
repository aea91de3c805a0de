"""GET caching of answers that depend on a caller's credential: never shareable."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from mlgraph.app import create_app
from mlgraph.demo import DOMINO_SANDBOX_KEY, DOMINO_SANDBOX_URL, build_sandbox
from mlgraph.sandbox.domino import create_domino_emulator
from mlgraph.sandbox.domino_data import DominoData
from mlgraph.security import hash_key
from mlgraph.settings import AuthSettings, DominoSettings, ForwardSettings, PersistedSettings, Settings

ME = "{ domino { me { id name } } }"
KEY = "mlg-cache-test-key-0123456789"
TENANT_A = "tenant-a-domino-key"
TENANT_B = "tenant-b-domino-key"
CACHED = PersistedSettings(cache_max_age=60)


class PerKeyDomino(httpx.AsyncBaseTransport):
    """One Domino whose API keys belong to different users: each key reaches an
    emulator of the same data set seen as its owner (the emulator knows one key)."""

    def __init__(self, by_key: dict[str, httpx.AsyncBaseTransport]) -> None:
        self.by_key = by_key

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = request.headers.get("x-domino-api-key", "")
        transport = self.by_key.get(key) or next(iter(self.by_key.values()))  # any: it refuses an unknown key
        return await transport.handle_async_request(request)


@pytest.fixture(scope="module")
def tenants() -> Iterator[tuple[TestClient, DominoData]]:
    """A gateway forwarding ``X-Domino-Api-Key``; two tenants' keys, two Domino users."""
    data = DominoData.generate(projects=1, jobs=2)
    other = dataclasses.replace(data, self_user_id=data.users[1].id)
    transport = PerKeyDomino({
        TENANT_A: httpx.ASGITransport(app=create_domino_emulator(data, api_key=TENANT_A)),
        TENANT_B: httpx.ASGITransport(app=create_domino_emulator(other, api_key=TENANT_B)),
    })
    settings = Settings(
        domino=DominoSettings(url=DOMINO_SANDBOX_URL, api_key="gateway-domino-key"),
        persisted=CACHED,
        auth=AuthSettings(forward=ForwardSettings(domino="X-Domino-Api-Key")),
    )
    with TestClient(create_app(settings, transports={"domino": transport})) as client:
        yield client, data


def test_two_tenants_forwarding_their_credentials_get_private_answers(
    tenants: tuple[TestClient, DominoData],
) -> None:
    client, data = tenants
    a = client.get("/graphql", params={"query": ME}, headers={"X-Domino-Api-Key": TENANT_A})
    b = client.get("/graphql", params={"query": ME}, headers={"X-Domino-Api-Key": TENANT_B})
    assert a.status_code == b.status_code == 200
    assert a.json()["data"]["domino"]["me"]["name"] == data.users[0].user_name
    assert b.json()["data"]["domino"]["me"]["name"] == data.users[1].user_name
    assert a.content != b.content
    for answer in (a, b):
        assert answer.headers["cache-control"] == "private, max-age=60"
        assert answer.headers["vary"] == "Accept, X-Mlgraph-Debug, x-domino-api-key"
    again = client.get(
        "/graphql", params={"query": ME}, headers={"X-Domino-Api-Key": TENANT_A, "If-None-Match": a.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.headers["cache-control"] == "private, max-age=60"
    assert again.headers["vary"] == "Accept, X-Mlgraph-Debug, x-domino-api-key"


def test_without_a_forwarded_header_the_answer_is_public_but_varies_on_it() -> None:
    settings = Settings(persisted=CACHED, auth=AuthSettings(forward=ForwardSettings(domino="X-Domino-Api-Key")))
    with TestClient(build_sandbox(settings=settings, domino_projects=1, domino_jobs=2).app) as client:
        own = client.get("/graphql", params={"query": ME})
        assert own.status_code == 200 and "errors" not in own.json()
        assert own.headers["cache-control"] == "public, max-age=60"
        assert own.headers["vary"] == "Accept, X-Mlgraph-Debug, x-domino-api-key"
        forwarded = client.get("/graphql", params={"query": ME}, headers={"X-Domino-Api-Key": DOMINO_SANDBOX_KEY})
        assert forwarded.content == own.content  # the same user, yet read with the caller's key
        assert forwarded.headers["cache-control"] == "private, max-age=60"


@pytest.mark.parametrize(("max_age", "expected"), [(60, "private, max-age=60"), (0, "private, no-cache")])
def test_keyed_answers_are_private_and_vary_on_the_key_headers(max_age: int, expected: str) -> None:
    settings = Settings(
        persisted=PersistedSettings(cache_max_age=max_age), auth=AuthSettings(api_key_hashes=[hash_key(KEY)])
    )
    with TestClient(build_sandbox(settings=settings, domino_projects=1, domino_jobs=2).app) as client:
        for headers in ({"X-Api-Key": KEY}, {"Authorization": f"Bearer {KEY}"}):
            answer = client.get("/graphql", params={"query": ME}, headers=headers)
            assert answer.status_code == 200 and "errors" not in answer.json()
            assert answer.headers["cache-control"] == expected
            assert answer.headers["vary"] == "Accept, X-Mlgraph-Debug, Authorization, X-Api-Key"
            revalidate = {**headers, "If-None-Match": answer.headers["etag"]}
            again = client.get("/graphql", params={"query": ME}, headers=revalidate)
            assert again.status_code == 304 and again.headers["cache-control"] == expected


@pytest.mark.parametrize(("max_age", "expected"), [(60, "public, max-age=60"), (0, "no-cache")])
def test_without_keys_or_forwarding_answers_stay_public(max_age: int, expected: str) -> None:
    settings = Settings(persisted=PersistedSettings(cache_max_age=max_age))
    with TestClient(build_sandbox(settings=settings, domino_projects=1, domino_jobs=2).app) as client:
        answer = client.get("/graphql", params={"query": ME})
        assert answer.status_code == 200 and "errors" not in answer.json()
        assert answer.headers["cache-control"] == expected
        assert answer.headers["vary"] == "Accept, X-Mlgraph-Debug"
