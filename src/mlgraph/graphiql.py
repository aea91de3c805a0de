"""A self-hosted GraphiQL page for the gateway.

Why this exists: Strawberry's built-in GraphiQL page pulls React and GraphiQL
from a public CDN (unpkg/jsdelivr). On machines without internet access
(air-gapped clusters, locked-down CI, laptops on a plane) that page stays blank.
mlgraph therefore ships the UMD builds of GraphiQL 3 and React 18 inside the
package (``src/mlgraph/static/graphiql``, see the README there for versions and
how to refresh them) and renders its own page that only loads those files from
the gateway itself: no request leaves the gateway's origin, no web fonts are
fetched (GraphiQL's CSS embeds its fonts as ``data:`` URIs).

Typical wiring (FastAPI)::

    from fastapi.staticfiles import StaticFiles
    from mlgraph.graphiql import GRAPHIQL_ASSETS, graphiql_page

    app.mount("/graphiql", StaticFiles(directory=GRAPHIQL_ASSETS), name="graphiql")
    # and answer GET /graphql with Accept: text/html by
    # HTMLResponse(graphiql_page("/graphql", "/graphiql", example_query))
"""

from __future__ import annotations

import html
import json
import pathlib

__all__ = ["GRAPHIQL_ASSETS", "ASSET_FILES", "graphiql_page"]

#: Folder holding the vendored GraphiQL / React UMD bundles and their licenses.
GRAPHIQL_ASSETS: pathlib.Path = pathlib.Path(__file__).resolve().parent / "static" / "graphiql"

#: The asset files the page references (all relative to ``assets_path``).
ASSET_FILES: tuple[str, ...] = (
    "graphiql.min.css",
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
)

# Characters that must not appear literally inside an inline <script>:
# "<" / ">" / "&" could form "</script>" or "<!--"; U+2028/U+2029 are line
# terminators in older JS engines.
_SCRIPT_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def _js_literal(value: object) -> str:
    """JSON-encode ``value`` so it is safe to place inside an inline ``<script>``."""
    return json.dumps(value, ensure_ascii=False).translate(_SCRIPT_ESCAPES)


def _check_local_path(name: str, value: str) -> str:
    """Refuse anything that would make the page talk to another origin."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    lowered = value.strip().lower()
    if "://" in lowered or lowered.startswith("//") or ":" in lowered.split("/", 1)[0]:
        raise ValueError(f"{name} must be a path on this server, not a URL: {value!r}")
    if any(c in value for c in "\"'<>\\\n\r\t "):
        raise ValueError(f"{name} contains characters not allowed in a path: {value!r}")
    return value


def graphiql_page(
    graphql_path: str = "/graphql",
    assets_path: str = "/graphiql",
    example_query: str | None = None,
) -> str:
    """Return the HTML of a GraphiQL page that works fully offline.

    The page loads only ``{assets_path}/graphiql.min.css``,
    ``{assets_path}/react.production.min.js``,
    ``{assets_path}/react-dom.production.min.js`` and
    ``{assets_path}/graphiql.min.js`` (serve :data:`GRAPHIQL_ASSETS` there),
    so it renders without internet access. Queries are POSTed to
    ``graphql_path`` resolved against ``window.location`` (same origin).
    The headers editor is enabled, e.g. for ``X-Mlgraph-Debug: 1``.

    ``example_query``, if given, becomes GraphiQL's ``defaultQuery`` (shown when
    the browser has no saved tabs); it is JSON-encoded with ``<``, ``>``, ``&``
    escaped, so any text, including ``</script>``, is safe to pass.

    ``graphql_path`` and ``assets_path`` must be paths on this server
    (``ValueError`` for URLs with a scheme or ``//host``).
    """
    _check_local_path("graphql_path", graphql_path)
    _check_local_path("assets_path", assets_path)
    base = assets_path.rstrip("/")
    href = {name: html.escape(f"{base}/{name}", quote=True) for name in ASSET_FILES}

    options: dict[str, object] = {}
    if example_query is not None:
        options["defaultQuery"] = str(example_query)

    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>mlgraph — GraphiQL</title>
<link rel="stylesheet" href="{href['graphiql.min.css']}">
<style>
  html, body {{ height: 100%; margin: 0; overflow: hidden; }}
  #graphiql {{ height: 100vh; }}
  #graphiql-error {{ font: 14px/1.5 system-ui, sans-serif; padding: 2em; }}
</style>
</head>
<body>
<div id="graphiql">
  <noscript>GraphiQL needs JavaScript. You can still POST queries to this endpoint.</noscript>
</div>
<script src="{href['react.production.min.js']}"></script>
<script src="{href['react-dom.production.min.js']}"></script>
<script src="{href['graphiql.min.js']}"></script>
<script>
(function () {{
  "use strict";
  var root = document.getElementById("graphiql");
  if (!window.React || !window.ReactDOM || !window.GraphiQL) {{
    root.id = "graphiql-error";
    root.textContent = "GraphiQL assets could not be loaded from " + {_js_literal(base + "/")} + ".";
    return;
  }}
  var url = new URL({_js_literal(graphql_path)}, window.location.href).toString();
  var fetcher = GraphiQL.createFetcher({{ url: url }});
  var options = {_js_literal(options)};
  options.fetcher = fetcher;
  options.isHeadersEditorEnabled = true;
  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, options));
}})();
</script>
</body>
</html>
"""
