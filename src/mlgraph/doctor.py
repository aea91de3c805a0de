"""``mlgraph doctor``: a configuration checked against the real platforms.

A gateway whose settings point at the wrong host, or hold a credential the
platform refuses or that may not read what the graph shows, starts fine and
then answers every query with a platform error. Before serving, this asks
each configured platform what the gateway will ask: whether it answers,
whether it takes the credential, which version it runs, and what the
credential may not do, and says so in a table an operator can act on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from mlgraph.backends.abacus import API as ABACUS_API
from mlgraph.backends.abacus import AbacusClient
from mlgraph.backends.client import BackendClient
from mlgraph.backends.connections import Connections
from mlgraph.backends.diagnosis import cause_of
from mlgraph.backends.domino import DominoClient
from mlgraph.backends.errors import BackendError
from mlgraph.backends.ledger import Ledger
from mlgraph.backends.zenml import ZenMLClient
from mlgraph.settings import Settings


@dataclass
class Report:
    """What one platform said."""

    platform: str
    address: str
    reachable: bool = False
    credential: str = "not checked"
    version: str = "not reported"
    notes: list[str] = field(default_factory=list)
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


async def examine(settings: Settings, connections: Connections | None = None) -> list[Report]:
    """One report per configured platform, asked at once."""
    connections = connections or Connections.from_settings(settings)
    checks: list[Awaitable[Report]] = []
    if connections.zenml is not None and settings.zenml is not None:
        checks.append(_examine("zenml", settings.zenml.address, connections.zenml, ZenMLClient, _zenml))
    if connections.domino is not None and settings.domino is not None:
        checks.append(_examine("domino", settings.domino.address, connections.domino, DominoClient, _domino))
    if connections.abacus is not None and settings.abacus is not None:
        checks.append(_examine("abacus", settings.abacus.address, connections.abacus, AbacusClient, _abacus))
    try:
        return list(await asyncio.gather(*checks))
    finally:
        await connections.aclose()


async def _examine(
    platform: str,
    address: str,
    connection: Any,
    client_type: Callable[[Any, Ledger], BackendClient],
    check: Callable[[Any, Report], Awaitable[None]],
) -> Report:
    report = Report(platform, address)
    try:
        await check(client_type(connection, Ledger()), report)
    except BackendError as exc:
        report.problem = cause_of(exc)
        if exc.status in (401, 403):
            report.reachable, report.credential = True, "refused"
    return report


async def _zenml(client: ZenMLClient, report: Report) -> None:
    info = await client.request("GET", "info", authenticate=False)
    report.reachable = True
    report.version = str(info.get("version") or "not reported") if isinstance(info, dict) else report.version
    me = await client.request("GET", "current-user", params={"hydrate": "true"})
    report.credential = "accepted"
    body = (me.get("body") if isinstance(me, dict) else None) or {}
    if not body.get("is_admin", True):
        kind = "a service account" if body.get("is_service_account") else "a user"
        report.notes.append(f"{kind}, not an admin: other users' emails read as FORBIDDEN")


async def _domino(client: DominoClient, report: Report) -> None:
    await client.self_user()
    report.reachable, report.credential = True, "accepted"


async def _abacus(client: AbacusClient, report: Report) -> None:
    await client.describe_user()
    report.reachable, report.credential = True, "accepted"
    response = await client.send("GET", f"{ABACUS_API}/version")
    try:
        version = response.json() if response.status_code == 200 else None
    except ValueError:
        version = None
    if isinstance(version, str):
        report.version = version
    elif isinstance(version, dict) and isinstance(version.get("result"), str):
        report.version = version["result"]


def render(reports: list[Report]) -> str:
    """A plain-text table, one platform a row."""
    header = ("platform", "address", "reachable", "credential", "version", "notes")
    rows = [
        (
            r.platform,
            r.address,
            "yes" if r.reachable else f"no: {r.problem}",
            r.credential if r.reachable else "not checked",
            r.version,
            "; ".join(r.notes) or (r.problem if r.reachable and r.problem else ""),
        )
        for r in reports
    ]
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        return "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()

    return "\n".join([line(header), line(tuple("-" * w for w in widths)), *(line(row) for row in rows)])
