"""Prometheus metrics of one gateway app, in a registry of its own.

A per-app ``CollectorRegistry`` (not prometheus-client's global one) lets
tests and several apps in one process each count their own requests. With
``--workers N`` every worker has its registry: scrape each, or put the
replicas behind a load balancer and let Prometheus discover them.

Label values are bounded: backend paths lose their ids and query strings
(``/api/v1/runs/{id}``), and operation names past ``MAX_OPERATIONS``
distinct ones count as ``other``, so a client cannot grow the series
without end.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

#: Distinct operation names labelled; later ones count as ``other``.
MAX_OPERATIONS = 500
#: Circuit states as the gauge reports them.
CIRCUIT_VALUES = {"closed": 0, "half_open": 1, "open": 2}

_ID_SEGMENT = re.compile(
    r"^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{24}|[0-9a-fA-F]{10}|\d+)$"
)
_OPERATION_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,99}$")
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


class Occupancy(Protocol):
    """What a bound reports: holders and waiters (``mlgraph.admission.Slots``)."""

    held: int
    waiting: int


def endpoint_template(path: str) -> str:
    """A backend path as a label: no query, ids (uuid, 24 or 10 hex digits,
    digits) as ``{id}``."""
    path = path.split("?", 1)[0]
    return "/".join("{id}" if _ID_SEGMENT.match(segment) else segment for segment in path.split("/"))


class Metrics:
    """The instruments of one app; ``exposition`` renders them for /metrics."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "mlgraph_graphql_requests", "GraphQL requests by operation name and outcome (ok, errors, refused).",
            ["operation", "outcome"], registry=registry,
        )
        self.request_seconds = Histogram(
            "mlgraph_graphql_request_duration_seconds", "Time to answer a GraphQL request.",
            ["operation"], buckets=_LATENCY_BUCKETS, registry=registry,
        )
        self.backend_calls = Counter(
            "mlgraph_backend_calls", "Backend HTTP exchanges by platform, endpoint template, method and status.",
            ["platform", "endpoint", "method", "status"], registry=registry,
        )
        self.backend_seconds = Histogram(
            "mlgraph_backend_call_duration_seconds", "Time of one backend HTTP exchange.",
            ["platform", "endpoint"], buckets=_LATENCY_BUCKETS, registry=registry,
        )
        self.batch_sizes = Histogram(
            "mlgraph_loader_batch_size", "Ids a DataLoader fetched in one batch.",
            buckets=_BATCH_BUCKETS, registry=registry,
        )
        self.persisted_hits = Counter(
            "mlgraph_persisted_query_hits", "Documents found by id (manifest or APQ store).", registry=registry
        )
        self.persisted_misses = Counter(
            "mlgraph_persisted_query_misses", "Ids not found (PERSISTED_QUERY_NOT_FOUND and the like).",
            registry=registry,
        )
        self.record_cache_hits = Counter(
            "mlgraph_record_cache_hits", "Backend reads answered by the record cache, by platform and class of record.",
            ["platform", "kind"], registry=registry,
        )
        self.record_cache_misses = Counter(
            "mlgraph_record_cache_misses",
            "Backend reads the record cache could not answer, by platform and the class the answer was kept as "
            "(terminal, catalogue; live: not kept).",
            ["platform", "kind"], registry=registry,
        )
        self.record_cache_failures = Counter(
            "mlgraph_record_cache_redis_failures",
            "Redis calls of the record cache that failed; the cache answers from memory meanwhile.",
            registry=registry,
        )
        self.circuit = Gauge(
            "mlgraph_circuit_breaker_state", "Circuit breaker per platform: 0 closed, 1 half-open, 2 open.",
            ["platform"], registry=registry,
        )
        self.admission = Gauge(
            "mlgraph_admission_requests",
            "GraphQL requests executing and waiting for a slot (limits.max_concurrent_requests).",
            ["state"], registry=registry,
        )
        self.admission_decisions = Counter(
            "mlgraph_admission_decisions",
            "GraphQL requests by admission outcome: admitted at once, waited then admitted, refused (503 "
            "OVERLOADED), abandoned (the client left while waiting).",
            ["outcome"], registry=registry,
        )
        self.backend_slots = Gauge(
            "mlgraph_backend_slots",
            "Backend exchanges in flight and waiting for a slot, per platform (max_calls_in_flight).",
            ["platform", "state"], registry=registry,
        )
        self.backend_slot_timeouts = Counter(
            "mlgraph_backend_slot_timeouts",
            "Backend calls that waited their whole timeout for a slot and failed BACKEND_UNAVAILABLE.",
            ["platform"], registry=registry,
        )
        self._operations: set[str] = set()

    def watch_circuits(self, states: Mapping[str, Callable[[], str]]) -> None:
        """Read each platform's circuit state when scraped, never in between."""
        for platform, state in states.items():
            self.circuit.labels(platform).set_function(lambda state=state: CIRCUIT_VALUES.get(state(), 0))

    def watch_admission(self, slots: Occupancy) -> None:
        """Requests executing and waiting, read when scraped."""
        self.admission.labels("executing").set_function(lambda: slots.held)
        self.admission.labels("waiting").set_function(lambda: slots.waiting)

    def watch_backend_slots(self, slots: Mapping[str, Callable[[], Occupancy]]) -> None:
        """Each platform's exchanges in flight and waiting, read when scraped
        (``slots`` gives the platform's bound then: reconfiguring makes a new one)."""
        for platform, each in slots.items():
            self.backend_slots.labels(platform, "in_flight").set_function(lambda each=each: each().held)
            self.backend_slots.labels(platform, "waiting").set_function(lambda each=each: each().waiting)

    def operation_label(self, name: str | None) -> str:
        if not name or not _OPERATION_NAME.match(name):
            return "anonymous"
        if name not in self._operations:
            if len(self._operations) >= MAX_OPERATIONS:
                return "other"
            self._operations.add(name)
        return name

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
