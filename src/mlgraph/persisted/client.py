"""``mlgraph query``: run one persisted operation and show its answer.

Built for cron and CI: the operation comes by name from ``queries/`` (or as
a file), variables as ``key=value`` (JSON when the value parses as JSON,
else a string), and the request carries the document *and* its APQ hash, so
a gateway registers it on the first run and a trusted-documents gateway
recognises it. Without a URL the gateway runs in this process, through
``httpx.ASGITransport``, over the platforms the settings configure — the
same app ``mlgraph serve`` runs, lifespan included.

Errors a caller made (an unknown name, a malformed ``--var``, no platform
configured) raise ``UsageError``; a gateway that cannot be reached or answers
no GraphQL raises ``RunError``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from mlgraph.persisted.manifest import ManifestError, Operation, discover_folder, load_manifest, operation_from_text
from mlgraph.settings import Settings

#: Cells of a table are cut to this many characters.
MAX_CELL = 60


class UsageError(Exception):
    """The command line asks for something that cannot be: exit 2."""


class RunError(Exception):
    """No GraphQL answer came back: exit 1."""


def find_operation(name_or_file: str, manifest_dir: Path | None) -> Operation:
    """A ``.graphql`` file, or an operation of the manifest by name (or file stem)."""
    path = Path(name_or_file)
    try:
        if path.suffix in (".graphql", ".gql") or path.is_file():
            if not path.is_file():
                raise UsageError(f"{path} does not exist")
            return operation_from_text(path.read_text(encoding="utf-8"), path)
        folder = discover_folder(manifest_dir)
        manifest = load_manifest(folder)
    except ManifestError as exc:
        raise UsageError(str(exc)) from None
    found = manifest.by_name.get(name_or_file) or next(
        (o for o in manifest if o.path is not None and o.path.stem == name_or_file), None
    )
    if found is None:
        where = f"in {folder}" if folder else "(no queries/ folder found; set MLGRAPH_PERSISTED__MANIFEST_DIR)"
        known = ", ".join(manifest.by_name) or "none"
        raise UsageError(f"no operation named {name_or_file!r} {where}; known: {known}")
    return found


def parse_vars(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; a value is JSON when it parses (5, true, null,
    [..], {..}, "quoted"), else the text as given."""
    variables: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--var {pair!r} is not key=value")
        try:
            variables[key.strip()] = json.loads(raw)
        except ValueError:
            variables[key.strip()] = raw
    return variables


def request_body(operation: Operation, variables: dict[str, Any]) -> dict[str, Any]:
    return {
        "query": operation.body,
        "operationName": operation.name,
        "variables": variables,
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": operation.id}},
    }


def graphql_url(url: str) -> str:
    """The URL as given, or ``…/graphql`` when it names only the server."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--url {url!r} is not an http(s) URL")
    if parts.path in ("", "/"):
        parts = parts._replace(path="/graphql")
    return urlunsplit(parts)


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not ({"data", "errors"} & set(body)):
        raise RunError(f"the gateway answered HTTP {response.status_code} without a GraphQL response")
    return body


async def run_remote(url: str, body: dict[str, Any], timeout: float, api_key: str | None = None) -> dict[str, Any]:
    """POST to a running gateway, with its API key when it asks for one."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    async with httpx.AsyncClient(timeout=timeout, headers=headers) as client:
        try:
            response = await client.post(graphql_url(url), json=body)
        except httpx.HTTPError as exc:
            raise RunError(f"cannot reach {url}: {type(exc).__name__}: {exc}") from None
    return _answer(response)


async def run_in_process(settings: Settings, body: dict[str, Any]) -> dict[str, Any]:
    """The gateway app in this process, over the configured platforms."""
    if settings.zenml is None and settings.domino is None and settings.abacus is None:
        raise UsageError(
            "no platform configured: set MLGRAPH_ZENML__URL, MLGRAPH_DOMINO__URL or MLGRAPH_ABACUS__URL "
            "(or --config), or pass --url of a running gateway"
        )
    from mlgraph.app import create_app

    try:
        app = create_app(settings)
    except ValueError as exc:  # a bad operations file, enforce without operations, a bad Redis URL
        raise UsageError(f"settings: {exc}") from None
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mlgraph.local") as client:
            response = await client.post("/graphql", json=body)
    return _answer(response)


def first_list(value: Any) -> list[Any] | None:
    """The first list in document order, depth first."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        for item in value.values():
            found = first_list(item)
            if found is not None:
                return found
    return None


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}."))
        return flat
    if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        return {prefix[:-1]: ", ".join(_cell(v) for v in value)}
    if isinstance(value, list):
        return {prefix[:-1]: f"[{len(value)} items]"}
    return {prefix[:-1]: value}


def _cell(value: Any) -> str:
    text = "" if value is None else json.dumps(value) if isinstance(value, (bool, dict, list)) else str(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _columns(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines)


def render_table(data: Any) -> str:
    """The first list of the answer as a table (objects flattened to dotted
    columns), or the answer's key/values when it holds no list."""
    if data is None:
        return "(no data)"
    rows = first_list(data)
    if rows is None:
        flat = _flatten(data)
        return _columns(["field", "value"], [[k, _cell(v)] for k, v in flat.items()])
    if not rows:
        return "(no rows)"
    flats = [_flatten(row) if isinstance(row, dict) else {"value": row} for row in rows]
    keys = list(dict.fromkeys(key for flat in flats for key in flat))
    headers = [k for k in keys if not any(other.startswith(k + ".") for other in keys)]  # null where others nest
    return _columns(headers, [[_cell(flat.get(h)) for h in headers] for flat in flats])
