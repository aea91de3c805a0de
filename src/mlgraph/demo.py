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
from mlgraph.sandbox.faults import Faults
from mlgraph.sandbox.zenml import create_zenml_emulator
from mlgraph.sandbox.zenml_data import ZenMLDataset
from mlgraph.settings import Settings, ZenMLSettings

#: A host name that resolves nowhere: the transport never leaves the process.
ZENML_SANDBOX_URL = "http://zenml.sandbox"


@dataclass
class Sandbox:
    """The gateway app and the emulators behind it, for tests to inspect."""

    app: FastAPI
    zenml: ZenMLDataset
    zenml_emulator: Starlette
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
    settings: Settings | None = None,
) -> Sandbox:
    """The demo data set by default; smaller or larger ones for tests and benchmarks."""
    dataset = ZenMLDataset.generate(
        seed=seed, pipelines=pipelines, runs_per_pipeline=runs_per_pipeline, steps_per_run=steps_per_run
    )
    faults = Faults(latency_ms=latency_ms)
    emulator = create_zenml_emulator(dataset, token=token, faults=faults, layout=layout)
    base = settings or Settings()
    zenml = base.zenml or ZenMLSettings(url=ZENML_SANDBOX_URL, token=token)
    settings = base.model_copy(update={"zenml": zenml})
    app = create_app(settings, transports={"zenml": httpx.ASGITransport(app=emulator)})
    return Sandbox(app=app, zenml=dataset, zenml_emulator=emulator, faults=faults)
