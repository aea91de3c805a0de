"""``mlgraph doctor``, start-up lines and URL validation: set-up that fails
says where and why, to the operator, and never with a URL path or a credential."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from typer.testing import CliRunner

from mlgraph.backends.connections import Connections
from mlgraph.cli import announce_platforms, app
from mlgraph.demo import ABACUS_SANDBOX_KEY, DOMINO_SANDBOX_KEY, build_sandbox
from mlgraph.doctor import Report, examine, render
from mlgraph.settings import AbacusSettings, DominoSettings, Settings, ZenMLSettings
from tests.loopback import free_port

SECRET = "sk-do-not-print-me"


def sandbox_connections(settings: Settings, **apps: object) -> Connections:
    return Connections.from_settings(settings, {name: httpx.ASGITransport(app=a) for name, a in apps.items()})  # type: ignore[arg-type]


def emulated(token: str | None = None, **overrides: object) -> tuple[Settings, Connections]:
    sandbox = build_sandbox(token="good-token")
    settings = Settings(
        zenml=ZenMLSettings(url="http://zenml.test:8237", token=token or "good-token"),
        domino=DominoSettings(url="https://domino.test", api_key=DOMINO_SANDBOX_KEY),
        abacus=AbacusSettings(url="https://abacus.test", api_key=ABACUS_SANDBOX_KEY),
        **overrides,  # type: ignore[arg-type]
    )
    apps = {"zenml": sandbox.zenml_emulator, "domino": sandbox.domino_emulator, "abacus": sandbox.abacus_emulator}
    return settings, sandbox_connections(settings, **apps)


def test_a_good_configuration_reports_every_platform_ready() -> None:
    settings, connections = emulated()
    reports = asyncio.run(examine(settings, connections))
    assert [r.platform for r in reports] == ["zenml", "domino", "abacus"]
    assert all(r.ok and r.reachable and r.credential == "accepted" for r in reports), reports
    by_name = {r.platform: r for r in reports}
    assert by_name["zenml"].version == "0.98.0" and by_name["abacus"].version == "1.4.119"
    assert by_name["zenml"].address == "zenml.test:8237" and by_name["domino"].address == "domino.test:443"
    table = render(reports)
    assert "zenml.test:8237" in table and "good-token" not in table
    assert ZenMLSettings(url="https://user:pw@zenml.test/base/").address == "zenml.test:443"


def test_a_refused_credential_is_named_and_never_printed() -> None:
    settings, connections = emulated(token=SECRET)
    (zenml, *_) = asyncio.run(examine(settings, connections))
    assert not zenml.ok and zenml.reachable and zenml.credential == "refused"
    assert zenml.problem == "credential refused (401)"
    assert SECRET not in render([zenml])


@pytest.mark.parametrize(
    ("url", "cause"),
    [
        (f"http://127.0.0.1:{free_port()}", "connection refused"),
        ("http://no-such-host.invalid:8080", "name not resolved (DNS)"),
    ],
)
def test_an_unreachable_platform_says_why(url: str, cause: str) -> None:
    settings = Settings(zenml=ZenMLSettings(url=url, token=SECRET, timeout=5, retries=0))
    (report,) = asyncio.run(examine(settings))
    assert not report.ok and not report.reachable and report.problem == cause
    assert SECRET not in render([report])


def test_a_slow_platform_times_out() -> None:
    sandbox = build_sandbox(latency_ms=500)
    settings = Settings(zenml=ZenMLSettings(url="http://zenml.test", timeout=0.1, retries=0))
    (report,) = asyncio.run(examine(settings, sandbox_connections(settings, zenml=sandbox.zenml_emulator)))
    assert report.problem == "timed out"


def test_a_non_admin_service_account_is_told_what_it_may_not_read() -> None:
    report = Report("zenml", "h:1", reachable=True, credential="accepted", notes=["a service account, not an admin: x"])
    assert "not an admin" in render([report])


def test_the_command_exits_1_on_a_failure_and_2_without_platforms(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.setenv("MLGRAPH_ZENML__URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MLGRAPH_ZENML__TOKEN", SECRET)
    monkeypatch.setenv("MLGRAPH_ZENML__RETRIES", "0")
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "connection refused" in result.output and SECRET not in result.output
    for name in ("MLGRAPH_ZENML__URL", "MLGRAPH_ZENML__TOKEN"):
        monkeypatch.delenv(name)
    assert runner.invoke(app, ["doctor"]).exit_code == 2


@pytest.mark.parametrize("url", ["zenml.example.com", "ftp://x", "http://"])
def test_a_url_without_an_http_scheme_and_host_is_refused_at_start(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLGRAPH_ZENML__URL", url)
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 2
    assert "zenml.url" in result.output and "http:// or https://" in result.output


def test_serve_announces_each_platform_or_warns_of_none(capsys: pytest.CaptureFixture[str]) -> None:
    settings, _ = emulated()
    announce_platforms(settings)
    err = capsys.readouterr().err
    assert "zenml: zenml.test:8237" in err and "domino: domino.test:443" in err and "abacus: abacus.test:443" in err
    assert "good-token" not in err
    announce_platforms(Settings())
    err = capsys.readouterr().err
    assert "MLGRAPH_ZENML__URL" in err and "MLGRAPH_DOMINO__URL" in err and "MLGRAPH_ABACUS__URL" in err
