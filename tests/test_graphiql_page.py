"""The self-hosted GraphiQL page: local assets only, safe query embedding."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from mlgraph.graphiql import ASSET_FILES, GRAPHIQL_ASSETS, graphiql_page

XSS = "</script><script>alert(1)</script>"


class _Page(HTMLParser):
    """Collects src/href attributes, script elements and the title."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[str] = []
        self.scripts: list[dict] = []  # {"src": str | None, "body": str}
        self.title = ""
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name in ("src", "href"):
            if a.get(name) is not None:
                self.refs.append(a[name])
        if tag == "script":
            self.scripts.append({"src": a.get("src"), "body": ""})
        if tag in ("script", "title"):
            self._in = tag

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "script":
            self.scripts[-1]["body"] += data
        elif self._in == "title":
            self.title += data


def _parse(page: str) -> _Page:
    p = _Page()
    p.feed(page)
    p.close()
    return p


def _options(page: str) -> dict:
    """The JSON object literal the inline script passes to GraphiQL."""
    inline = [s["body"] for s in _parse(page).scripts if s["src"] is None]
    assert len(inline) == 1
    m = re.search(r"var options = (\{.*?\});\n", inline[0])
    assert m, inline[0]
    return json.loads(m.group(1))


def test_references_only_local_assets():
    page = graphiql_page()
    refs = _parse(page).refs
    assert refs, "page references no assets"
    for ref in refs:
        assert not re.match(r"(?i)^\s*(https?:)?//", ref), ref
        assert ref.startswith("/graphiql/"), ref
    # nothing anywhere in the markup points off-site either
    assert "http://" not in page and "https://" not in page
    assert sorted(r.rsplit("/", 1)[1] for r in refs) == sorted(ASSET_FILES)


def test_referenced_assets_exist():
    for ref in _parse(graphiql_page(assets_path="/static/gq/")).refs:
        assert ref.startswith("/static/gq/") and "//" not in ref
        name = ref.rsplit("/", 1)[1]
        f = GRAPHIQL_ASSETS / name
        assert f.is_file() and f.stat().st_size > 1000, f
    for lic in ("LICENSE.graphiql", "LICENSE.react", "LICENSE.react-dom", "README.md"):
        assert (GRAPHIQL_ASSETS / lic).is_file(), lic
    assert not list(GRAPHIQL_ASSETS.glob("*.map"))


def test_title_fetcher_and_headers_editor():
    page = graphiql_page("/api/graphql")
    assert "<title>mlgraph — GraphiQL</title>" in page
    assert _parse(page).title == "mlgraph — GraphiQL"
    assert 'new URL("/api/graphql", window.location.href)' in page
    assert "GraphiQL.createFetcher({ url: url })" in page
    assert "isHeadersEditorEnabled = true" in page


def test_default_query_appears():
    query = '{ hello(name: "mlgraph") }'
    page = graphiql_page(example_query=query)
    assert _options(page) == {"defaultQuery": query}
    assert "defaultQuery" not in _options(graphiql_page())


def test_example_query_cannot_break_out_of_script():
    query = f"# {XSS}\n<!-- {{ a }} &amp; \u2028 ]]>"
    page = graphiql_page(example_query=query)
    parsed = _parse(page)
    # exactly the three asset scripts plus our inline one: nothing injected
    assert [s["src"] for s in parsed.scripts] == [
        "/graphiql/react.production.min.js",
        "/graphiql/react-dom.production.min.js",
        "/graphiql/graphiql.min.js",
        None,
    ]
    assert page.count("</script>") == 4
    assert "<script>alert" not in page and "<!--" not in page
    assert "\u2028" not in page
    # and the query survives the round trip unchanged
    assert _options(page)["defaultQuery"] == query


@pytest.mark.parametrize(
    "kwargs",
    [
        {"graphql_path": "https://example.com/graphql"},
        {"graphql_path": "//example.com/graphql"},
        {"graphql_path": "javascript:alert(1)"},
        {"assets_path": "http://cdn.example.com/graphiql"},
        {"assets_path": '/x"><script>'},
    ],
)
def test_rejects_non_local_paths(kwargs):
    with pytest.raises(ValueError):
        graphiql_page(**kwargs)


def test_the_favicon_is_served_without_a_key() -> None:
    from fastapi.testclient import TestClient

    from mlgraph.app import create_app
    from mlgraph.security import hash_key
    from mlgraph.settings import AuthSettings, Settings

    settings = Settings(auth=AuthSettings(api_key_hashes=[hash_key("k" * 32)]))
    with TestClient(create_app(settings)) as client:
        icon = client.get("/favicon.ico")
        assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
        assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO directory
        assert client.post("/graphql", json={"query": "{ __typename }"}).status_code == 401
