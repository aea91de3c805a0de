"""The HTTP layer every platform client shares.

A ``BackendConnection`` lives for the whole process: one pooled
``httpx.AsyncClient`` per backend. A ``BackendClient`` is made per GraphQL
request around it, so each call it sends is recorded in that request's ledger
and failures become typed ``BackendError``s with no URL or credential in them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from mlgraph.backends.errors import (
    BackendError,
    BadResponse,
    Forbidden,
    NotFound,
    Rejected,
    Unavailable,
    sanitize,
)
from mlgraph.backends.ledger import BackendCall, Ledger


class BackendConnection:
    """Process-wide state for one backend: the pooled HTTP client."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        max_connections: int = 32,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=max_connections),
        )

    @property
    def host(self) -> str:
        return self.http.base_url.host

    async def aclose(self) -> None:
        await self.http.aclose()


class BackendClient:
    """Per-request view of a connection that records and classifies calls."""

    platform: ClassVar[str]

    def __init__(self, connection: BackendConnection, ledger: Ledger) -> None:
        self.connection = connection
        self.ledger = ledger

    async def auth_headers(self) -> dict[str, str]:
        """Headers that authenticate a call; platforms override."""
        return {}

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        authenticate: bool = True,
    ) -> httpx.Response:
        """One exchange, run in a task of its own.

        The graph's executor steps resolver coroutines by hand; the HTTP stack
        (anyio cancel scopes) must run inside the task it started in, so every
        exchange gets its task and the resolver only ever waits on a future.
        """
        return await asyncio.ensure_future(
            self._exchange(method, path, params=params, json_body=json_body, form=form, authenticate=authenticate)
        )

    async def _exchange(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        json_body: Any,
        form: Mapping[str, str] | None,
        authenticate: bool,
    ) -> httpx.Response:
        headers = await self.auth_headers() if authenticate else {}
        request = self.connection.http.build_request(
            method, path, params=params, json=json_body, data=form, headers=headers
        )
        started = time.perf_counter()
        try:
            response = await self.connection.http.send(request)
        except httpx.TimeoutException as exc:
            self._record(request, None, 0, started)
            raise Unavailable(self.platform, f"{self.platform} did not answer in time") from exc
        except httpx.HTTPError as exc:
            self._record(request, None, 0, started)
            raise Unavailable(self.platform, f"{self.platform} is unreachable") from exc
        self._record(request, response.status_code, len(response.content), started)
        return response

    def _record(
        self, request: httpx.Request, status: int | None, size: int, started: float
    ) -> None:
        path = request.url.raw_path.decode("ascii", "replace")
        self.ledger.record(
            BackendCall(
                platform=self.platform,
                method=request.method,
                path=path,
                status=status,
                bytes=size,
                ms=round((time.perf_counter() - started) * 1000, 2),
            )
        )

    def decode(self, response: httpx.Response) -> Any:
        """The JSON body of a successful response, or a typed error."""
        if response.status_code >= 400:
            raise self.error_for(response)
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadResponse(self.platform, f"{self.platform} sent a body that is not JSON") from exc

    def error_for(self, response: httpx.Response) -> BackendError:
        status = response.status_code
        detail = sanitize(self.error_detail(response))
        suffix = f": {detail}" if detail else ""
        if status == 404:
            return NotFound(self.platform, f"{self.platform}: not found{suffix}", status)
        if status == 401:
            return Forbidden(self.platform, f"{self.platform} refused the gateway's credentials (401)", status)
        if status == 403:
            return Forbidden(self.platform, f"{self.platform} does not allow this (403){suffix}", status)
        if status in (408, 429) or status >= 500:
            return Unavailable(self.platform, f"{self.platform} failed to answer ({status})", status)
        return Rejected(self.platform, f"{self.platform} rejected the request ({status}){suffix}", status)

    def error_detail(self, response: httpx.Response) -> str:
        """The human part of an error body; platforms override for their envelope."""
        return ""
