"""Corners of GraphQL execution, run by both executors on a toy schema.

The gateway's schema rarely reaches these (null bubbling through non-null
lists, NaN floats, resolvers returning futures or raising in coroutines,
fragments on unions), so a small schema made for them checks the
level-by-level executor against graphql-core's.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
import strawberry

from mlgraph.graph.plan import PlanCache


@strawberry.type
class Leaf:
    name: str

    @strawberry.field
    def must(self) -> str:
        return None  # type: ignore[return-value]  # a broken resolver on purpose

    @strawberry.field
    async def later(self) -> str:
        await asyncio.sleep(0)
        return self.name.upper()

    @strawberry.field
    async def fails(self) -> str | None:
        await asyncio.sleep(0)
        raise ValueError(f"no {self.name}")


@strawberry.type
class Other:
    code: int


@strawberry.type
class Query:
    @strawberry.field
    def leaves(self) -> list[Leaf]:
        return [Leaf(name="a"), Leaf(name="b")]

    @strawberry.field
    def strict(self) -> list[Leaf] | None:
        return [Leaf(name="x")]

    @strawberry.field
    def matrix(self) -> list[list[int | None]]:
        return [[1, None], [3]]

    @strawberry.field
    def nan(self) -> float | None:
        return math.nan

    @strawberry.field
    def big(self) -> int | None:
        return 2**40

    @strawberry.field
    def future(self) -> str:
        future = asyncio.get_running_loop().create_future()
        future.set_result("done")
        return future  # type: ignore[return-value]

    @strawberry.field
    def either(self) -> list[Leaf | Other]:
        return [Leaf(name="l"), Other(code=7)]

    @strawberry.field
    def raises(self) -> str | None:
        raise RuntimeError("sync failure")


toy = strawberry.Schema(Query)
plans = PlanCache(toy)

QUERIES = [
    "{ leaves { name later } }",
    "{ strict { name must } }",
    "{ leaves { name fails } }",
    "{ matrix }",
    "{ nan big }",
    "{ future }",
    "{ either { __typename ... on Leaf { name } ... on Other { code } } }",
    "{ raises leaves { name } }",
    "query($yes: Boolean!) { leaves { name @include(if: $yes) later @skip(if: $yes) } }",
    "{ a: leaves { name } a: leaves { later } }",
    "fragment F on Leaf { name } { leaves { ...F ...F later } }",
]


def errors_of(errors: list[Any] | None) -> list[tuple[str, str]]:
    return sorted((str(e.path), e.message) for e in errors or [])


@pytest.mark.parametrize("query", QUERIES)
def test_both_executors_agree(query: str) -> None:
    variables = {"yes": True}
    compiled = plans.get(query, None)
    assert compiled is not None

    async def both() -> tuple[Any, Any]:
        generic = await toy.execute(query, variable_values=variables)
        data, errors = await compiled.execute(None, variables, None)
        return (generic.data, errors_of(generic.errors)), (data, errors_of(errors))

    generic, level_by_level = asyncio.run(both())
    assert level_by_level == generic
