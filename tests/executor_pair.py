"""Two gateways over identical emulators, one per executor, and what "they
agree" means: the contract the executor fuzz and its regression tests check.

The gateways live for a whole module, so whatever could carry one request's
outcome into the next is switched off: the per-client rate limit (hundreds of
requests from one client) and the circuit breakers (a query that made a
platform fail five times would open the circuit for the queries after it).
Loaders and the call ledger are per request already, and queries do not
change the emulators' data.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlgraph.demo import (
    ABACUS_SANDBOX_KEY,
    ABACUS_SANDBOX_URL,
    DOMINO_SANDBOX_KEY,
    DOMINO_SANDBOX_URL,
    ZENML_SANDBOX_URL,
    build_sandbox,
)
from mlgraph.settings import AbacusSettings, DominoSettings, LimitSettings, Settings, ZenMLSettings
from tests.conftest import Gateway, GraphQLAnswer, open_gateway
from tests.test_plan_equivalence import comparable

Pair = tuple[Gateway, Gateway]


def isolated_settings(*, compiled: bool, limits: LimitSettings | None = None) -> Settings:
    """The demo's settings without state shared between requests."""
    return Settings(
        compiled_execution=compiled,
        limits=(limits or LimitSettings()).model_copy(update={"rate_per_minute": 0}),
        zenml=ZenMLSettings(url=ZENML_SANDBOX_URL, breaker_failures=0),
        domino=DominoSettings(url=DOMINO_SANDBOX_URL, api_key=DOMINO_SANDBOX_KEY, breaker_failures=0),
        abacus=AbacusSettings(url=ABACUS_SANDBOX_URL, api_key=ABACUS_SANDBOX_KEY, breaker_failures=0),
    )


def open_pair() -> Iterator[Pair]:
    """(level-by-level, generic) gateways over two copies of the seeded demo data."""
    for fast in open_gateway(build_sandbox(settings=isolated_settings(compiled=True))):
        for slow in open_gateway(build_sandbox(settings=isolated_settings(compiled=False))):
            yield fast, slow


class Disagreement(AssertionError):
    """The executors answered one query differently. Each way of differing is
    its own class, so Hypothesis shrinks and reports one example per way."""


class InternalError(Disagreement):
    """An executor answered INTERNAL_SERVER_ERROR: a bug whatever the other did."""


class ErrorsDiffer(Disagreement):
    """The error sets differ (path, message and extensions; order aside)."""


class DataDiffer(Disagreement):
    """The data differ."""


class MoreCalls(Disagreement):
    """The level-by-level executor made more backend calls than the generic one."""


def check_agreement(query: str, fast: GraphQLAnswer, slow: GraphQLAnswer) -> None:
    """Raise the first way in which the two answers to `query` differ."""
    for name, answer in (("level-by-level", fast), ("generic", slow)):
        if "INTERNAL_SERVER_ERROR" in answer.codes():
            raise InternalError(f"{name} executor: {answer.errors}\n{query}")
    (fast_data, fast_errors), (slow_data, slow_errors) = comparable(fast), comparable(slow)
    if fast_errors != slow_errors:
        raise ErrorsDiffer(f"level-by-level {fast_errors}\n      generic {slow_errors}\n{query}")
    if fast_data != slow_data:
        raise DataDiffer(f"level-by-level {fast_data}\n      generic {slow_data}\n{query}")
    if fast.calls > slow.calls:
        raise MoreCalls(f"{fast.calls} calls level by level, {slow.calls} generic\n{query}")
