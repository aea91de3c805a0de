"""Smoke test of the real ZenML server harness, with raw httpx.

Checks the wire facts the gateway's ZenML client relies on (see
/work/shared/CONTRACTS.md), against a real 0.98 server with auth on: API-key
bearer, the 401 body, runs incl. a failed one, ``oneof:`` batch filters and
thin (``hydrate=false``) records.
"""

from __future__ import annotations

import json

import httpx
import pytest

from .harness import ZenMLServer

pytestmark = pytest.mark.zenml_server


def _get(zs: ZenMLServer, path: str, token: str | None = None, **params: object) -> httpx.Response:
    return httpx.get(
        f"{zs.api_url}{path}",
        params=params,
        headers=zs.headers(token) if token != "" else {},
        timeout=30.0,
    )


def test_api_key_and_exchanged_token_authenticate(zenml_server: ZenMLServer) -> None:
    zs = zenml_server
    assert zs.api_key.startswith("ZENKEY_")
    for token in (zs.api_key, zs.gateway_token):  # raw key works as a bearer too
        resp = _get(zs, "/current-user", token)
        assert resp.status_code == 200, resp.text
        me = resp.json()
        assert me["id"] == zs.service_account_id
        assert me["name"] == zs.service_account_name
        assert me["body"]["is_service_account"] is True


def test_missing_and_bad_token_are_401(zenml_server: ZenMLServer) -> None:
    resp = _get(zenml_server, "/runs", token="")
    assert resp.status_code == 401
    assert resp.json() == {"detail": "Not authenticated"}
    bad = _get(zenml_server, "/runs", token="not-a-jwt")
    assert bad.status_code == 401
    assert bad.json()["detail"][0] == "CredentialsNotValid"


def test_runs_listed_with_one_failed(zenml_server: ZenMLServer) -> None:
    zs = zenml_server
    assert zs.populated is not None
    resp = _get(zs, "/runs", zs.gateway_token, sort_by="asc:created", size=50)
    assert resp.status_code == 200, resp.text
    page = resp.json()
    assert {"index", "max_size", "total_pages", "total", "items"} <= page.keys()
    assert page["total"] >= 3
    statuses = {r["name"]: r["body"]["status"] for r in page["items"]}
    failed = {name for name, status in statuses.items() if status == "failed"}
    assert failed == {zs.populated["failed_run"]["name"], zs.populated["fan_out"]["runs"]["failed"]["name"]}
    assert {r["name"] for r in zs.populated["runs"]} <= statuses.keys()


def test_fan_out_ran_fresh_cached_and_failing(zenml_server: ZenMLServer) -> None:
    """32 steps that ran; the same 32 from ZenML's cache; a failed branch
    whose join never started (so never became a step run)."""
    assert zenml_server.populated is not None
    fan = zenml_server.populated["fan_out"]
    runs = fan["runs"]
    names = {"fan_source", "fan_in", *(f"fan_branch_{i}" for i in range(fan["width"]))}
    assert set(runs["ok"]["steps"]) == set(runs["cached"]["steps"]) == names
    assert {s["status"] for s in runs["ok"]["steps"].values()} == {"completed"}
    assert {s["status"] for s in runs["cached"]["steps"].values()} == {"cached"}
    failed = runs["failed"]
    assert failed["status"] == "failed" and set(failed["steps"]) == names - {"fan_in"}
    assert {n for n, s in failed["steps"].items() if s["status"] != "cached"} == {fan["failed_step"]}
    assert failed["steps"][fan["failed_step"]]["status"] == "failed"


def test_steps_oneof_batch(zenml_server: ZenMLServer) -> None:
    zs = zenml_server
    assert zs.populated is not None
    run = zs.populated["runs"][0]
    wanted = [run["steps"]["load_data"]["id"], zs.populated["failed_run"]["failed_step_id"]]
    unknown = "00000000-0000-0000-0000-000000000000"
    resp = _get(zs, "/steps", zs.gateway_token, id="oneof:" + json.dumps(wanted + [unknown]))
    assert resp.status_code == 200, resp.text
    items = resp.json()["items"]
    assert sorted(s["id"] for s in items) == sorted(wanted)  # unknown id: just missing
    by_id = {s["id"]: s for s in items}
    assert by_id[zs.populated["failed_run"]["failed_step_id"]]["body"]["status"] == "failed"
    assert by_id[wanted[0]]["name"] == "load_data"
    refused = _get(zs, "/steps", zs.gateway_token, id="in:" + json.dumps(wanted))
    assert refused.status_code == 422


def test_hydrate_false_gives_null_metadata(zenml_server: ZenMLServer) -> None:
    zs = zenml_server
    thin = _get(zs, "/steps", zs.gateway_token, hydrate="false", size=5)
    assert thin.status_code == 200, thin.text
    assert thin.json()["items"] and all(s["metadata"] is None for s in thin.json()["items"])
    fat = _get(zs, "/steps", zs.gateway_token, hydrate="true", size=5)
    assert all(s["metadata"] is not None for s in fat.json()["items"])


def test_model_versions_and_service(zenml_server: ZenMLServer) -> None:
    zs = zenml_server
    assert zs.populated is not None and zs.service is not None
    model = zs.populated["model"]
    resp = _get(zs, "/model_versions", zs.gateway_token, model=model["name"], size=50)
    assert resp.status_code == 200, resp.text
    assert {v["id"] for v in resp.json()["items"]} == {v["id"] for v in model["versions"]}
    svc = _get(zs, f"/services/{zs.service['id']}", zs.gateway_token)
    assert svc.status_code == 200, svc.text
    assert svc.json()["resources"]["model_version"]["id"] == zs.service["model_version_id"]
