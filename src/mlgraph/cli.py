"""The ``mlgraph`` command: serve, doctor, demo, schema, query, check, persisted manifest, auth hash-key.

Exit codes are for cron and CI: 0 done, 1 the operation answered errors (or
a file is invalid, or the gateway could not be reached), 2 the command line
or the settings are wrong.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import uvicorn

if TYPE_CHECKING:
    from mlgraph.settings import Settings

app = typer.Typer(help="mlgraph: one GraphQL graph over ZenML and other ML platforms.", no_args_is_help=True)
persisted_app = typer.Typer(help="Persisted operations: the manifest of queries/.", no_args_is_help=True)
app.add_typer(persisted_app, name="persisted")
auth_app = typer.Typer(help="Gateway API keys.", no_args_is_help=True)
app.add_typer(auth_app, name="auth")

Host = Annotated[str | None, typer.Option(help="Interface to listen on (default from settings: 127.0.0.1).")]
Port = Annotated[int | None, typer.Option(help="Port to listen on (default from settings: 8000).")]
Config = Annotated[
    Path | None, typer.Option(help="TOML settings file (also MLGRAPH_CONFIG); env vars override it.")
]
SecretsDir = Annotated[
    Path | None,
    typer.Option(help="Folder of secret files, one setting a file: zenml__api_key (also MLGRAPH_SECRETS_DIR)."),
]
Folder = Annotated[
    Path | None,
    typer.Option("--dir", help="Folder of *.graphql operations (default: MLGRAPH_PERSISTED__MANIFEST_DIR, ./queries)."),
]


class LogFormat(str, Enum):
    json = "json"
    text = "text"


LogFormatOption = Annotated[
    LogFormat | None,
    typer.Option("--log-format", help="json: one JSON object a line (serve's default); text (demo's default)."),
]


def fail(message: str, code: int) -> typer.Exit:
    typer.secho(message, fg="red", err=True)
    return typer.Exit(code)


def settings_or_exit(config: Path | None, secrets_dir: Path | None = None) -> Settings:
    from mlgraph.settings import load_settings

    try:
        return load_settings(config, secrets_dir)
    except (OSError, ValueError) as exc:
        raise fail(f"settings: {exc}", 2) from None


def persisted_or_exit(settings: Settings) -> None:
    """Load the manifest and check the store settings before serving: a bad
    operations file or Redis URL stops start-up with its reason."""
    from mlgraph.persisted import persisted_operations

    try:
        persisted_operations(settings)
    except ValueError as exc:
        raise fail(f"persisted operations: {exc}", 2) from None


def folder_or_exit(folder: Path | None, config: Path | None) -> Path:
    from mlgraph.persisted.manifest import discover_folder

    found = folder or discover_folder(settings_or_exit(config).persisted.manifest_dir)
    if found is None or not found.is_dir():
        raise fail(f"no operations folder: {found or 'no ./queries'} (pass --dir or set MLGRAPH_PERSISTED__MANIFEST_DIR)", 2)
    return found


def run_server(app: object, host: str, port: int, workers: int = 1, graceful_shutdown: float = 20.0) -> None:
    """Serve with uvloop and httptools when installed, after freezing what
    start-up allocated so the garbage collector stops re-scanning it.

    On SIGTERM uvicorn stops accepting, lets requests in flight finish for up
    to ``graceful_shutdown`` seconds, then exits 0. Logging is ours
    (``configure_logging``): uvicorn's loggers propagate to the root one, and
    its access log is off since ``mlgraph.access`` writes a richer line.
    """
    gc.collect()
    gc.freeze()
    # uvicorn re-raises SIGTERM once it has drained, to whatever handler was
    # there before it: by default the process would then die "killed by
    # SIGTERM" (143). A shutdown asked for and completed is a success: exit 0.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(
        app, host=host, port=port, workers=workers, factory=isinstance(app, str), access_log=False,
        log_config=None, timeout_graceful_shutdown=graceful_shutdown,
    )


def _exit_cleanly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


@app.command()
def serve(
    host: Host = None,
    port: Port = None,
    config: Config = None,
    workers: Annotated[
        str, typer.Option(metavar="N|auto", help="Worker processes; auto: one per core this process may use.")
    ] = "1",
    secrets_dir: SecretsDir = None,
    log_format: LogFormatOption = None,
) -> None:
    """Serve the gateway over the platforms configured in settings."""
    from mlgraph.app import create_app
    from mlgraph.observability.logs import configure_logging
    from mlgraph.settings import load_settings

    auto = workers.strip().lower() == "auto"
    count = worker_count(workers)
    if log_format is not None:
        os.environ["MLGRAPH_LOG_FORMAT"] = log_format.value  # workers read it too

    try:
        settings = load_settings(config, secrets_dir)
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--config") from None
    announce_platforms(settings)
    persisted_or_exit(settings)
    host, port = host or settings.host, port or settings.port
    typer.echo(f"workers: {count}" + (" (one per core)" if auto else ""), err=True)
    configure_logging(settings.log_format)
    if count > 1:
        if config is not None:
            os.environ["MLGRAPH_CONFIG"] = str(config)  # each worker loads the same settings
        if secrets_dir is not None:
            os.environ["MLGRAPH_SECRETS_DIR"] = str(secrets_dir)
        run_server("mlgraph.app:create_app_from_environment", host, port, count, settings.graceful_shutdown_seconds)
    else:
        run_server(create_app(settings), host, port, graceful_shutdown=settings.graceful_shutdown_seconds)


def cores() -> int:
    """The cores this process may run on: its affinity mask (Python 3.13's
    ``os.process_cpu_count``, else ``sched_getaffinity``), else every core of
    the machine. A container's CPU quota is not seen: pass ``--workers N`` there."""
    process_cpu_count = getattr(os, "process_cpu_count", None)
    if process_cpu_count is not None and (count := process_cpu_count()):
        return int(count)
    try:
        return len(os.sched_getaffinity(0)) or os.cpu_count() or 1
    except AttributeError:  # no affinity on this platform (macOS, Windows)
        return os.cpu_count() or 1


def worker_count(workers: str) -> int:
    """``--workers``: a count of at least 1, or ``auto`` for one per core."""
    if workers.strip().lower() == "auto":
        return cores()
    try:
        count = int(workers)
    except ValueError:
        count = 0
    if count < 1:
        raise typer.BadParameter(f"{workers!r} is neither a number of at least 1 nor auto", param_hint="--workers")
    return count


def announce_platforms(settings: Settings) -> None:
    """A line per configured platform (host and port, never the credential),
    or a warning naming every platform's variable when none is."""
    from mlgraph.settings import PLATFORMS

    configured = [(name, getattr(settings, name)) for name in PLATFORMS if getattr(settings, name) is not None]
    if not configured:
        variables = ", ".join(f"MLGRAPH_{name.upper()}__URL" for name in PLATFORMS)
        typer.secho(f"warning: no platform configured (set one of {variables})", fg="yellow", err=True)
    for name, platform in configured:
        typer.echo(f"{name}: {platform.address}", err=True)


@app.command()
def doctor(config: Config = None, secrets_dir: SecretsDir = None) -> None:
    """Ask every configured platform whether it answers, takes the credential,
    which version it runs and what the credential may not do; exit 1 on a failure."""
    from mlgraph.doctor import examine, render

    settings = settings_or_exit(config, secrets_dir)
    reports = asyncio.run(examine(settings))
    if not reports:
        raise fail("no platform configured: nothing to check", 2)
    typer.echo(render(reports))
    failed = [report.platform for report in reports if not report.ok]
    if failed:
        raise fail(f"{len(failed)} of {len(reports)} platforms failed: {', '.join(failed)}", 1)
    typer.echo(f"{len(reports)} platforms ready")


@app.command()
def demo(
    host: Host = None,
    port: Port = None,
    latency_ms: Annotated[float, typer.Option(help="Latency the emulators add to every call.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the emulated data set.")] = 7,
    log_format: LogFormatOption = None,
) -> None:
    """Serve the gateway over emulated backends with a seeded data set."""
    from mlgraph.app import EXAMPLE_QUERY, GRAPHQL_PATH
    from pydantic import ValidationError

    from mlgraph.demo import build_sandbox
    from mlgraph.observability.logs import configure_logging
    from mlgraph.settings import Settings, settings_error

    try:
        settings = Settings()
    except ValidationError as exc:
        raise fail(f"settings: {settings_error(exc)}", 2) from None
    except ValueError as exc:
        raise fail(f"settings: {exc}", 2) from None
    persisted_or_exit(settings)
    sandbox = build_sandbox(seed=seed, latency_ms=latency_ms, settings=settings)
    host, port = host or settings.host, port or settings.port
    typer.echo(f"mlgraph demo: GraphiQL at http://{host}:{port}{GRAPHQL_PATH}")
    manifest = sandbox.app.state.persisted.manifest
    if len(manifest):
        typer.echo(f"{len(manifest)} persisted operations in {manifest.source}: mlgraph query NAME --url http://{host}:{port}")
    typer.echo("Paste this query there:\n")
    typer.echo(EXAMPLE_QUERY)
    configure_logging(log_format.value if log_format is not None else "text")
    run_server(sandbox.app, host, port, graceful_shutdown=settings.graceful_shutdown_seconds)


#: The source checkout mlgraph runs from: ``<repo>/src/mlgraph/cli.py``.
CHECKOUT_ROOT = Path(__file__).resolve().parents[2]


def checkout_root() -> Path | None:
    """The source checkout this package runs from (an editable install), or
    None for an installed wheel."""
    root = CHECKOUT_ROOT
    return root if (root / "pyproject.toml").is_file() and (root / "src" / "mlgraph").is_dir() else None


@app.command()
def schema(
    output: Annotated[
        str | None,
        typer.Option(help="Where to write the SDL; - for stdout. Default: schema/schema.graphql of the source checkout."),
    ] = None,
) -> None:
    """Write the GraphQL schema (SDL) exported from the code, into the
    checkout's schema/ wherever it is run from."""
    from mlgraph.graph.schema import schema as graph_schema

    sdl = str(graph_schema) + "\n"
    if output == "-":
        typer.echo(sdl, nl=False)
        return
    if output is None:
        root = checkout_root()
        if root is None:
            raise fail("mlgraph is not running from a source checkout: pass --output PATH (or - for stdout)", 2)
        path = root / "schema" / "schema.graphql"
    else:
        path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sdl)
    typer.echo(f"wrote {path}")


class OutputFormat(str, Enum):
    json = "json"
    table = "table"


class ManifestFormat(str, Enum):
    apollo = "apollo"
    relay = "relay"


@app.command()
def query(
    operation: Annotated[str, typer.Argument(help="An operation name from queries/ (or its file name), or a .graphql file.")],
    var: Annotated[
        list[str] | None, typer.Option("--var", help="key=value, repeatable; the value is JSON when it parses, else text.")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="A running gateway (http://host:8000); without it, runs in this process.")
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Run in this process over the demo's emulated platforms and seeded data.")
    ] = False,
    output: Annotated[OutputFormat, typer.Option("--format", help="json: the response; table: its first list.")] = OutputFormat.json,
    config: Config = None,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for a --url gateway.")] = 60.0,
    secrets_dir: SecretsDir = None,
    api_key: Annotated[
        str | None, typer.Option(envvar="MLGRAPH_API_KEY", help="The --url gateway's API key (or MLGRAPH_API_KEY).")
    ] = None,
) -> None:
    """Run a persisted operation; exit 1 when the answer has errors.

    Against a running gateway (--url), in this process over the configured
    platforms, or over the demo's (--demo); exit 2 for a usage error, such as
    a required variable left out (the message names the --var to pass and an
    operation that lists such ids)."""
    from mlgraph.persisted.client import (
        RunError, UsageError, find_operation, graphql_url, parse_vars, render_table, request_body, require_variables,
        run_demo, run_in_process, run_remote,
    )
    from mlgraph.settings import AuthSettings

    if demo and url:
        raise fail("--demo and --url exclude each other: --demo runs over the demo's platforms here, --url asks a gateway", 2)
    settings = settings_or_exit(config, secrets_dir)
    # In this process the caller already holds the platforms' credentials:
    # the gateway's own key and rate limit guard nothing here.
    in_process = settings.model_copy(
        update={"auth": AuthSettings(), "limits": settings.limits.model_copy(update={"rate_per_minute": 0})}
    )
    try:
        found, variables = find_operation(operation, settings.persisted.manifest_dir), parse_vars(var or [])
        if url:
            graphql_url(url)  # a bad --url first: the hint below would repeat it
        flags = f"--url {url}" if url else "--demo" if demo else ""  # the hint's commands then run as they are
        require_variables(found, variables, settings.persisted.manifest_dir, flags)
        body = request_body(found, variables)
        if url:
            run = run_remote(url, body, timeout, api_key)
        else:
            run = run_demo(in_process, body) if demo else run_in_process(in_process, body)
        answer: dict[str, Any] = asyncio.run(run)
    except UsageError as exc:
        raise fail(str(exc), 2) from None
    except RunError as exc:
        raise fail(str(exc), 1) from None
    errors = answer.get("errors") or []
    if output is OutputFormat.json:
        typer.echo(json.dumps(answer, indent=2))
    else:
        typer.echo(render_table(answer.get("data")))
        for error in errors:
            code = (error.get("extensions") or {}).get("code", "ERROR")
            path = ".".join(str(p) for p in error.get("path") or [])
            typer.secho(f"error {code}: {error.get('message')}" + (f" (at {path})" if path else ""), fg="red", err=True)
    if errors:
        raise typer.Exit(1)


@app.command()
def check(folder: Folder = None, config: Config = None) -> None:
    """Validate every file of queries/ against the schema; exit 1 if any is invalid."""
    from mlgraph.graph.limits import validation_rules
    from mlgraph.graph.schema import schema as graph_schema
    from mlgraph.persisted.manifest import check_folder

    found = folder_or_exit(folder, config)
    settings = settings_or_exit(config)
    results = check_folder(found, graph_schema._schema, list(validation_rules(settings.limits, settings.introspection)))
    if not results:
        raise fail(f"{found} holds no .graphql files", 2)
    for path, problem in results:
        if problem is None:
            typer.echo(f"ok    {path}")
        else:
            typer.secho(f"FAIL  {path}: {problem}", fg="red")
    invalid = sum(problem is not None for _, problem in results)
    typer.echo(f"{len(results) - invalid} valid, {invalid} invalid")
    if invalid:
        raise typer.Exit(1)


@persisted_app.command("manifest")
def persisted_manifest(
    output: Annotated[
        ManifestFormat, typer.Option("--format", help="apollo: apollo-persisted-query-manifest; relay: {id: document}.")
    ] = ManifestFormat.apollo,
    folder: Folder = None,
    config: Config = None,
) -> None:
    """Print the manifest of queries/ (ids as the gateway computes them)."""
    from mlgraph.persisted.manifest import ManifestError, load_manifest

    try:
        manifest = load_manifest(folder_or_exit(folder, config))
    except ManifestError as exc:
        raise fail(str(exc), 1) from None
    typer.echo(json.dumps(manifest.apollo() if output is ManifestFormat.apollo else manifest.relay(), indent=2))


@auth_app.command("hash-key")
def auth_hash_key() -> None:
    """Print the hash of the API key read from stdin, for MLGRAPH_AUTH__API_KEY_HASHES.

    Make a key with: python -c 'import secrets; print(secrets.token_urlsafe(32))'
    """
    import sys

    from mlgraph.security import MIN_KEY_LENGTH, hash_key

    key = sys.stdin.read().strip()
    if len(key) < MIN_KEY_LENGTH:
        raise fail(
            f"a key must have at least {MIN_KEY_LENGTH} characters; make one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'",
            2,
        )
    typer.echo(hash_key(key))
