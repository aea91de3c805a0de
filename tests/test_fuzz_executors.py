"""Differential fuzz: the level-by-level executor answers random queries as
Strawberry's generic one does (issue 14).

`tests.fuzz_pool` writes query documents over the whole schema (no
mutations): one to three root fields, each selection written by
hypothesis-graphql, arguments from the demo data (real ids, cursors and names)
and garbage. Each runs on both gateways of `tests.executor_pair`, which must
agree: no INTERNAL_SERVER_ERROR, equal error sets, equal data, and no more
backend calls level by level than generic. A root field's selection stays
within 8 levels and 60 fields (hypothesis-graphql's bounds), under the
gateway's depth limit; documents refused for their aliases or cost must be
refused alike. Counterexamples found so far are tests/test_fuzz_regressions.py.

Environment:

- ``MLGRAPH_FUZZ_EXAMPLES``: examples to run (default 300, about 15 s).
- ``MLGRAPH_FUZZ_PROFILE``: ``ci`` (default) draws the same examples every run;
  ``explore`` draws 2,000 new ones each run and prints a failure with the
  ``@reproduce_failure`` line that replays it.
- ``MLGRAPH_FUZZ_LOG``: a file; each example is appended to it as a JSON line
  with the way the executors disagreed (or null) and the test does not stop at
  the first disagreement: a survey of everything a long run finds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mlgraph.graph.schema import schema
from tests.executor_pair import Disagreement, Pair, check_agreement, open_pair
from tests.fuzz_pool import harvest, queries

settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("explore", settings.get_profile("ci"), max_examples=2000, derandomize=False, print_blob=True)
PROFILE = settings.get_profile(os.environ.get("MLGRAPH_FUZZ_PROFILE", "ci"))
EXAMPLES = int(os.environ.get("MLGRAPH_FUZZ_EXAMPLES", PROFILE.max_examples))
LOG = Path(os.environ["MLGRAPH_FUZZ_LOG"]) if os.environ.get("MLGRAPH_FUZZ_LOG") else None


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    yield from open_pair()


@pytest.fixture(scope="module")
def documents() -> st.SearchStrategy[str]:
    return queries(harvest())


def record(query: str, found: Disagreement | None) -> None:
    entry = {"query": query, "disagreement": type(found).__name__ if found else None, "detail": str(found) if found else None}
    with LOG.open("a") as log:  # type: ignore[union-attr]
        log.write(json.dumps(entry) + "\n")


@settings(PROFILE, max_examples=EXAMPLES)
@given(data=st.data())
def test_executors_agree(pair: Pair, documents: st.SearchStrategy[str], data: st.DataObject) -> None:
    query = data.draw(documents, label="query")
    event("level by level" if schema.plans.get(query, None) is not None else "generic only")
    fast, slow = (gateway(query) for gateway in pair)
    try:
        check_agreement(query, fast, slow)
    except Disagreement as found:
        if LOG is None:
            raise
        record(query, found)
    else:
        if LOG is not None:
            record(query, None)
