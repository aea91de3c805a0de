"""The ``mlgraph`` command: serve, demo, schema."""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

app = typer.Typer(help="mlgraph: one GraphQL graph over ZenML and other ML platforms.", no_args_is_help=True)

Host = Annotated[str | None, typer.Option(help="Interface to listen on (default from settings: 127.0.0.1).")]
Port = Annotated[int | None, typer.Option(help="Port to listen on (default from settings: 8000).")]


def run_server(app: object, host: str, port: int, workers: int = 1) -> None:
    """Serve with uvloop and httptools when installed, after freezing what
    start-up allocated so the garbage collector stops re-scanning it."""
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, workers=workers, factory=isinstance(app, str), access_log=False)


@app.command()
def serve(
    host: Host = None,
    port: Port = None,
    config: Annotated[
        Path | None, typer.Option(help="TOML settings file (also MLGRAPH_CONFIG); env vars override it.")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (one per core).")] = 1,
) -> None:
    """Serve the gateway over the platforms configured in settings."""
    from mlgraph.app import create_app
    from mlgraph.settings import load_settings

    try:
        settings = load_settings(config)
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--config") from None
    if settings.zenml is None:
        typer.secho("warning: no platform configured (set MLGRAPH_ZENML__URL)", fg="yellow", err=True)
    host, port = host or settings.host, port or settings.port
    if workers > 1:
        if config is not None:
            os.environ["MLGRAPH_CONFIG"] = str(config)  # each worker loads the same settings
        run_server("mlgraph.app:create_app_from_environment", host, port, workers)
    else:
        run_server(create_app(settings), host, port)


@app.command()
def demo(
    host: Host = None,
    port: Port = None,
    latency_ms: Annotated[float, typer.Option(help="Latency the emulators add to every call.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the emulated data set.")] = 7,
) -> None:
    """Serve the gateway over emulated backends with a seeded data set."""
    from mlgraph.app import EXAMPLE_QUERY, GRAPHQL_PATH
    from mlgraph.demo import build_sandbox
    from mlgraph.settings import Settings

    settings = Settings()
    sandbox = build_sandbox(seed=seed, latency_ms=latency_ms, settings=settings)
    host, port = host or settings.host, port or settings.port
    typer.echo(f"mlgraph demo: GraphiQL at http://{host}:{port}{GRAPHQL_PATH}")
    typer.echo("Paste this query there:\n")
    typer.echo(EXAMPLE_QUERY)
    run_server(sandbox.app, host, port)


@app.command()
def schema(
    output: Annotated[Path, typer.Option(help="Where to write the SDL.")] = Path("schema/schema.graphql"),
) -> None:
    """Write the GraphQL schema (SDL) exported from the code."""
    from mlgraph.graph.schema import schema as graph_schema

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(str(graph_schema) + "\n")
    typer.echo(f"wrote {output}")
