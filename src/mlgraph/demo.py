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
from mlgraph.sandbox.abacus import create_abacus_emulator
from mlgraph.sandbox.abacus_data import AbacusData
from mlgraph.sandbox.domino import create_domino_emulator
from mlgraph.sandbox.domino_data import DominoData
from mlgraph.sandbox.faults import Faults
from mlgraph.sandbox.zenml import create_zenml_emulator
from mlgraph.sandbox.zenml_data import ZenMLDataset
from mlgraph.settings import AbacusSettings, DominoSettings, Settings, ZenMLSettings

#: Host names that resolve nowhere: the transports never leave the process.
ZENML_SANDBOX_URL = "http://zenml.sandbox"
DOMINO_SANDBOX_URL = "http://domino.sandbox"
ABACUS_SANDBOX_URL = "http://abacus.sandbox"
#: The demo Domino's API key: the gateway sends it as a real one, so the
#: emulator checks authentication on every call.
DOMINO_SANDBOX_KEY = "sandbox-domino-key"
ABACUS_SANDBOX_KEY = "sandbox-abacus-key"


@dataclass
class Sandbox:
    """The gateway app and the emulators behind it, for tests to inspect."""

    app: FastAPI
    zenml: ZenMLDataset
    zenml_emulator: Starlette
    domino: DominoData
    domino_emulator: Starlette
    abacus: AbacusData
    abacus_emulator: Starlette
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
    abacus_pipelines: int = 4,
    abacus_versions_per_pipeline: int = 5,
    abacus_steps_per_pipeline: int | None = None,
    settings: Settings | None = None,
) -> Sandbox:
    """The demo data sets by default; smaller or larger ones for tests and benchmarks.

    The emulators share one `Faults`: their routes do not overlap (ZenML's
    are under ``/api/v1``, Abacus.AI's under ``/api/v0``, Domino's elsewhere
    under ``/api``), so a test breaks one platform by its prefix.
    """
    dataset = ZenMLDataset.generate(
        seed=seed, pipelines=pipelines, runs_per_pipeline=runs_per_pipeline, steps_per_run=steps_per_run
    )
    domino = DominoData.generate(seed=seed, projects=domino_projects, jobs=domino_jobs)
    abacus = AbacusData.generate(
        seed=seed,
        pipelines=abacus_pipelines,
        versions_per_pipeline=abacus_versions_per_pipeline,
        steps_per_pipeline=abacus_steps_per_pipeline,
    )
    faults = Faults(latency_ms=latency_ms)
    emulator = create_zenml_emulator(dataset, token=token, faults=faults, layout=layout)
    domino_emulator = create_domino_emulator(
        domino, api_key=DOMINO_SANDBOX_KEY, faults=faults, pagination=domino_pagination
    )
    abacus_emulator = create_abacus_emulator(abacus, api_key=ABACUS_SANDBOX_KEY, faults=faults)
    base = settings or Settings()
    zenml = base.zenml or ZenMLSettings(url=ZENML_SANDBOX_URL, token=token)
    domino_settings = base.domino or DominoSettings(url=DOMINO_SANDBOX_URL, api_key=DOMINO_SANDBOX_KEY)
    abacus_settings = base.abacus or AbacusSettings(url=ABACUS_SANDBOX_URL, api_key=ABACUS_SANDBOX_KEY)
    settings = base.model_copy(update={"zenml": zenml, "domino": domino_settings, "abacus": abacus_settings})
    transports = {
        "zenml": httpx.ASGITransport(app=emulator),
        "domino": httpx.ASGITransport(app=domino_emulator),
        "abacus": httpx.ASGITransport(app=abacus_emulator),
    }
    app = create_app(settings, transports=transports)
    return Sandbox(
        app=app,
        zenml=dataset,
        zenml_emulator=emulator,
        domino=domino,
        domino_emulator=domino_emulator,
        abacus=abacus,
        abacus_emulator=abacus_emulator,
        faults=faults,
    )
