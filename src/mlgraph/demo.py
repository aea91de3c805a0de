"""The embedded default: the gateway over in-process emulated backends.

The emulators are ASGI apps reached through ``httpx.ASGITransport``, so the
demo, the tests and the benchmarks open no port but the gateway's own and
still go through the real clients, loaders and ledger.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from starlette.applications import Starlette

from mlgraph.app import create_app
from mlgraph.sandbox.domino import create_domino_emulator
from mlgraph.sandbox.domino_data import DominoData
from mlgraph.sandbox.faults import Faults
from mlgraph.sandbox.zenml import create_zenml_emulator
from mlgraph.sandbox.zenml_data import ZenMLDataset
from mlgraph.settings import DominoSettings, Settings, ZenMLSettings

#: Host names that resolve nowhere: the transports never leave the process.
ZENML_SANDBOX_URL = "http://zenml.sandbox"
DOMINO_SANDBOX_URL = "http://domino.sandbox"
#: The demo Domino's API key: the gateway sends it as a real one, so the
#: emulator checks authentication on every call.
DOMINO_SANDBOX_KEY = "sandbox-domino-key"


@dataclass
class Sandbox:
    """The gateway app and the emulators behind it, for tests to inspect."""

    app: FastAPI
    zenml: ZenMLDataset
    zenml_emulator: Starlette
    domino: DominoData
    domino_emulator: Starlette
    faults: Faults


def build_sandbox(
    *,
    seed: int = 7,
    latency_ms: float = 0.0,
    pipelines: int = 3,
    runs_per_pipeline: int = 10,
    steps_per_run: int = 10,
    layout: str = "seed",
    token: str | None = None,
    domino_projects: int = 3,
    domino_jobs: int = 60,
    domino_pagination: str = "flat",
    settings: Settings | None = None,
) -> Sandbox:
    """The demo data sets by default; smaller or larger ones for tests and benchmarks.

    Both emulators share one `Faults`: their routes do not overlap (ZenML's
    are under ``/api/v1``), so a test breaks one platform by its prefix.
    """
    dataset = ZenMLDataset.generate(
        seed=seed, pipelines=pipelines, runs_per_pipeline=runs_per_pipeline, steps_per_run=steps_per_run
    )
    domino = DominoData.generate(seed=seed, projects=domino_projects, jobs=domino_jobs)
    faults = Faults(latency_ms=latency_ms)
    emulator = create_zenml_emulator(dataset, token=token, faults=faults, layout=layout)
    domino_emulator = create_domino_emulator(
        domino, api_key=DOMINO_SANDBOX_KEY, faults=faults, pagination=domino_pagination
    )
    base = settings or Settings()
    zenml = base.zenml or ZenMLSettings(url=ZENML_SANDBOX_URL, token=token)
    domino_settings = base.domino or DominoSettings(url=DOMINO_SANDBOX_URL, api_key=DOMINO_SANDBOX_KEY)
    settings = base.model_copy(update={"zenml": zenml, "domino": domino_settings})
    transports = {
        "zenml": httpx.ASGITransport(app=emulator),
        "domino": httpx.ASGITransport(app=domino_emulator),
    }
    app = create_app(settings, transports=transports)
    return Sandbox(
        app=app,
        zenml=dataset,
        zenml_emulator=emulator,
        domino=domino,
        domino_emulator=domino_emulator,
        faults=faults,
    )
