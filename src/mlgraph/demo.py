"""The embedded default: the gateway over in-process emulated backends.

The emulators are ASGI apps reached through ``httpx.ASGITransport``, so the
demo, the tests and the benchmarks open no port but the gateway's own and
still go through the real clients, loaders and ledger.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from fastapi import FastAPI

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
    zenml_emulator: object
    faults: Faults


def build_sandbox(
    *,
    seed: int = 7,
    latency_ms: float = 0.0,
    steps_per_run: int = 10,
    settings: Settings | None = None,
) -> Sandbox:
    dataset = ZenMLDataset.generate(seed=seed, steps_per_run=steps_per_run)
    faults = Faults(latency_ms=latency_ms)
    emulator = create_zenml_emulator(dataset, faults=faults)
    base = settings or Settings()
    settings = base.model_copy(update={"zenml": ZenMLSettings(url=ZENML_SANDBOX_URL)})
    app = create_app(settings, transports={"zenml": httpx.ASGITransport(app=emulator)})
    return Sandbox(app=app, zenml=dataset, zenml_emulator=emulator, faults=faults)
