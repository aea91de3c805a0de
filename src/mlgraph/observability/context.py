"""What the request in progress has done: its hooks for the code that does it.

Backend calls, loader batches and persisted-query look-ups happen far from
the HTTP layer. Rather than pass a metrics object through every client and
loader, the middleware puts one ``Observation`` in a context variable; tasks
started for the request copy the context, so they all add to the same one.
Outside a request (the CLI running a query in-process, readiness pings) the
hooks do nothing.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from mlgraph.observability.metrics import Metrics, endpoint_template


@dataclass
class Observation:
    """One request: its app's metrics, and what the access log line reports."""

    metrics: Metrics
    request_id: str
    operation: str | None = None
    outcome: str | None = None
    backend_calls: int = 0
    backend_bytes: int = 0


current: ContextVar[Observation | None] = ContextVar("mlgraph_observation", default=None)


def operation(name: str | None, outcome: str) -> None:
    """The operation the request ran and how it ended (ok, errors, refused)."""
    observation = current.get()
    if observation is not None:
        observation.operation = name
        observation.outcome = outcome


def backend_call(platform: str, method: str, path: str, status: int | None, size: int, seconds: float) -> None:
    observation = current.get()
    if observation is None:
        return
    observation.backend_calls += 1
    observation.backend_bytes += size
    endpoint = endpoint_template(path)
    metrics = observation.metrics
    metrics.backend_calls.labels(platform, endpoint, method, str(status) if status is not None else "none").inc()
    metrics.backend_seconds.labels(platform, endpoint).observe(seconds)


def record_cache_lookup(platform: str, kind: str, hit: bool) -> None:
    """A read the record cache answered (``hit``) or sent on; ``kind`` is the
    class of the record (``live`` for a miss not kept)."""
    observation = current.get()
    if observation is not None:
        metrics = observation.metrics
        (metrics.record_cache_hits if hit else metrics.record_cache_misses).labels(platform, kind).inc()


def record_cache_failure() -> None:
    observation = current.get()
    if observation is not None:
        observation.metrics.record_cache_failures.inc()


def loader_batch(size: int) -> None:
    observation = current.get()
    if observation is not None:
        observation.metrics.batch_sizes.observe(size)


def persisted_lookup(hit: bool) -> None:
    observation = current.get()
    if observation is not None:
        (observation.metrics.persisted_hits if hit else observation.metrics.persisted_misses).inc()


def backend_slot_timeout(platform: str) -> None:
    """A backend call that waited its whole timeout for a slot of the platform's bound."""
    observation = current.get()
    if observation is not None:
        observation.metrics.backend_slot_timeouts.labels(platform).inc()
