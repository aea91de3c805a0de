"""The HTTP layer every platform client shares.

A ``BackendConnection`` lives for the whole process: one pooled
``httpx.AsyncClient`` per backend. A ``BackendClient`` is made per GraphQL
request around it, so each call it sends is recorded in that request's ledger
and failures become typed ``BackendError``s with no URL or credential in them.

Every attempt is bounded by the platform's timeout; GETs are retried and a
failing platform's circuit opens (``resilience``); an identical GET of one
request is sent once, whether the first is in flight or answered. A request the client's arguments
would make unsendable (too long a URL, a control character) is refused as
``Rejected`` before it is sent. With the process's record cache
(``backends.cache``), a read is looked up there before the network, and a
write evicts what it changed.
"""

from __future__ import annotations

import asyncio
import logging
import json
import re
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import httpx

from mlgraph.admission import Slots
from mlgraph.backends.cache import LISTING, LISTINGS, Entry, Keep, RecordCache, RequestRecords
from mlgraph.backends.errors import (
    BackendError,
    BadResponse,
    Forbidden,
    NotFound,
    Rejected,
    Unavailable,
    sanitize,
)
from mlgraph.backends.diagnosis import cause_of
from mlgraph.backends.ledger import BackendCall, CachedRead, Ledger
from mlgraph.observability import context as observe
from mlgraph.observability import tracing
from mlgraph.backends.resilience import (
    CLOSED,
    OPEN,
    RETRY_STATUSES,
    TRANSIENT,
    CircuitBreaker,
    CircuitState,
    Clock,
    RetryPolicy,
    Sleep,
)
from mlgraph.settings import BackendSettings


#: How often the same unreachable cause is logged again for a platform.
UNREACHABLE_LOG_SECONDS = 60.0
#: Connections a platform's pool keeps at least; ``pool_size`` grows it to the
#: platform's ``max_calls_in_flight``, so calls never wait inside httpx.
POOL_CONNECTIONS = 32


def pool_size(settings: BackendSettings) -> int:
    return max(POOL_CONNECTIONS, settings.max_calls_in_flight)

logger = logging.getLogger("mlgraph.backends")


class BackendConnection:
    """Process-wide state for one backend: the pooled HTTP client, how long
    and how often to try a call, and the platform's circuit breaker."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        max_connections: int = POOL_CONNECTIONS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=max_connections),
        )
        self.configure(BackendSettings(url=base_url, timeout=timeout))
        self._unreachable_logged: tuple[str, float] | None = None

    def configure(
        self, settings: BackendSettings, *, sleep: Sleep | None = None, clock: Clock | None = None
    ) -> None:
        """Timeout, retries, circuit breaker and the bound on calls in flight
        from a platform's settings.

        The platform connections are built from their own arguments; this
        applies what every platform shares (``Connections.from_settings``
        calls it). ``sleep`` and ``clock`` replace real time in tests. A new
        breaker starts closed.
        """
        self.timeout = settings.timeout
        self.max_response_bytes = settings.max_response_bytes
        # httpx bounds each phase (connect, write, each read, pool wait) by it;
        # the exchange as a whole is bounded by ``timeout`` in ``_attempt``.
        self.http.timeout = httpx.Timeout(settings.timeout)
        clock = clock or time.monotonic
        self.retry = RetryPolicy(
            settings.retries,
            settings.retry_budget_seconds,
            settings.retry_backoff_seconds,
            sleep=sleep or asyncio.sleep,
            clock=clock,
        )
        self.breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_cooldown_seconds, clock=clock)
        #: Exchanges in flight across every request (``BackendClient._attempt``).
        self.slots = Slots(settings.max_calls_in_flight)

    def note_unreachable(self, platform: str, cause: str) -> None:
        """Tell the operator why the platform is unreachable: once per cause,
        and again after ``UNREACHABLE_LOG_SECONDS``, not once per failed call.
        The start-up line says where the platform is; this says why it did not
        answer, never its address or credential."""
        now = time.monotonic()
        if self._unreachable_logged is not None:
            last_cause, at = self._unreachable_logged
            if last_cause == cause and now - at < UNREACHABLE_LOG_SECONDS:
                return
        self._unreachable_logged = (cause, now)
        logger.warning("%s is unreachable: %s", platform, cause)

    @property
    def circuit_state(self) -> CircuitState:
        """closed, open or half_open (an open circuit whose cool-down is over),
        for readiness and metrics."""
        return self.breaker.current

    @property
    def host(self) -> str:
        return self.http.base_url.host

    async def aclose(self) -> None:
        await self.http.aclose()


class BackendClient:
    """Per-request view of a connection that records and classifies calls.

    It also sends an identical read once per request: two loaders asking the
    same thing, or a child field asking what its parent started for it
    (``graph.lookahead``), cost one call, whether the first is still in
    flight or already answered. The client is the request's and carries one
    credential, so method, path and params make the key. Only a success is
    reused once answered; a failure is asked again, and a write (any other
    method) forgets every answer before it.
    """

    platform: ClassVar[str]
    #: The longest URL sent. Common servers and proxies (nginx, Apache,
    #: Tomcat) refuse a request line past 8 KiB; a longer URL can only come
    #: from an argument, so it is refused here instead of by them (or by
    #: httpx, which raises past 64 KiB).
    max_url_bytes: ClassVar[int] = 8 * 1024

    def __init__(self, connection: BackendConnection, ledger: Ledger, records: RecordCache | None = None) -> None:
        self.connection = connection
        self.ledger = ledger
        self._sent: dict[Hashable, asyncio.Future[httpx.Response]] = {}
        self.records: RequestRecords | None = None
        if records is not None:
            self.records = records.view(self.platform, str(connection.http.base_url), self.credential())

    def reads(self, method: str, path: str) -> bool:
        """Whether a call other than a GET only reads (Abacus.AI's describes
        by POST): it leaves the request's earlier answers standing."""
        return False

    async def auth_headers(self) -> dict[str, str]:
        """Headers that authenticate a call; platforms override."""
        return {}

    def credential(self) -> str:
        """What authenticates this client's calls, for the record cache to hash
        into its keys (never to store); platforms override."""
        raise NotImplementedError

    def cache_class(self, request: httpx.Request, body: bytes) -> Keep | None:
        """Whether and as what to keep a read's successful answer; platforms
        override for the records they know cannot change."""
        return None

    def cache_evicts(self, request: httpx.Request, answer: bytes | None) -> Iterable[str]:
        """The records a write changes, from the request and its successful
        ``answer`` (None: refused or unanswered, yet maybe applied)."""
        return ()

    def lists(self, request: httpx.Request) -> bool:
        """Whether a read lists records (kept as a listing when nothing in it
        is kept longer); platforms override."""
        return False

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        authenticate: bool = True,
    ) -> httpx.Response:
        """One exchange, run in a task of its own.

        The graph's executor steps resolver coroutines by hand; the HTTP stack
        (anyio cancel scopes) must run inside the task it started in, so every
        exchange gets its task and the resolver only ever waits on a future.
        An identical GET of this request already sent is joined instead;
        a request that cannot be sent and an open circuit are refused
        before any network or login. With the record cache, a read it holds
        is answered from there (even while the circuit is open), and a write
        evicts what it changed.
        """
        request = self._request(method, path, params, json_body, form)
        key: Hashable | None = None
        read = method == "GET" or self.reads(method, path)
        if not read:
            self._sent.clear()  # a write may change what earlier reads read
        elif authenticate:
            # The request as it will be sent (its URL and body) is the call.
            key = (method, str(request.url), request.content)
            shared = self._sent.get(key)
            if shared is not None and _reusable(shared):
                return await self._join(shared, method, path, params, json_body)
        issued = time.perf_counter()
        records = self.records if authenticate else None
        if records is None:
            task = self._start(request, authenticate, issued)
        elif read:
            task = asyncio.ensure_future(self._read_through(records, request, issued))
        else:
            task = asyncio.ensure_future(self._write_through(records, request, issued))
        if key is not None:
            self._sent[key] = task
        return await task

    def _start(self, request: httpx.Request, authenticate: bool, issued: float) -> asyncio.Future[httpx.Response]:
        """The exchange, in its task, through the circuit (an open one raises here)."""
        breaker = self.connection.breaker
        probe = breaker.state is not CLOSED and breaker.admit(self.platform)
        task = asyncio.ensure_future(self._exchange(request, authenticate, probe, issued))
        if probe:
            # However the probe ends (even cancelled before it ran), a probe
            # without an outcome must not leave the circuit waiting for it.
            task.add_done_callback(breaker.release)
        return task

    async def _read_through(self, records: RequestRecords, request: httpx.Request, issued: float) -> httpx.Response:
        """The cached answer of a read, or the network's, kept as the platform's
        ``cache_class`` says."""
        key = records.key(request)
        seen = await records.lookup(key)
        if seen.entry is not None:
            self._record_cached(request, seen.entry)
            return seen.entry.response(request)
        response = await self._start(request, True, issued)
        verdict = self.cache_class(request, response.content) if response.status_code == 200 else None
        if verdict is None and response.status_code == 200 and self.lists(request) and records.keeps(LISTING):
            verdict = Keep(LISTING, related=(LISTINGS,))
        if verdict is not None:
            await records.keep(key, seen, response, verdict)
        observe.record_cache_lookup(self.platform, verdict.kind if verdict else "live", hit=False)
        return response

    async def _write_through(self, records: RequestRecords, request: httpx.Request, issued: float) -> httpx.Response:
        """A write, then the eviction of what it changed, whatever its outcome:
        one that got no answer may still have been applied."""
        response: httpx.Response | None = None
        try:
            response = await self._start(request, True, issued)
            return response
        finally:
            answer = response.content if response is not None and response.status_code < 300 else None
            await records.evict([*self.cache_evicts(request, answer), LISTINGS])

    def _record_cached(self, request: httpx.Request, entry: Entry) -> None:
        path = request.url.raw_path.decode("ascii", "replace")
        self.ledger.record_cached(CachedRead(self.platform, request.method, path, len(entry.body), entry.kind))
        observe.record_cache_lookup(self.platform, entry.kind, hit=True)

    async def _join(
        self,
        shared: asyncio.Future[httpx.Response],
        method: str,
        path: str,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None,
        json_body: Any,
    ) -> httpx.Response:
        """The answer of an identical read sent earlier in the request.

        Shielded, so a joiner that is cancelled leaves the call to the others;
        if the call itself was cancelled (its first asker gave up, as a merged
        list's deadline does) while this one still waits, it is made again.
        """
        try:
            return await asyncio.shield(shared)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if shared.cancelled() and (current is None or not current.cancelling()):
                return await self.send(method, path, params=params, json_body=json_body)
            raise

    def _request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None,
        json_body: Any,
        form: Mapping[str, str] | None,
    ) -> httpx.Request:
        """The request, or ``Rejected`` if its arguments cannot make a valid one.

        The message names the problem, never the URL (it may hold other
        arguments); nothing is sent, recorded or counted by the breaker.
        """
        try:
            request = self.connection.http.build_request(method, path, params=params, json=json_body, data=form)
        except (httpx.InvalidURL, UnicodeEncodeError) as exc:
            # httpx refuses a component over 64 KiB before the bound below is measured.
            if "too long" in str(exc):
                raise self._too_long() from None
            raise Rejected(self.platform, f"an argument cannot be put into a {self.platform} request") from None
        if len(str(request.url)) > self.max_url_bytes:
            raise self._too_long()
        if _ENCODED_CONTROL.search(request.url.raw_path):
            raise Rejected(self.platform, f"an argument holds a control character: not sent to {self.platform}")
        return request

    def _too_long(self) -> Rejected:
        platform, limit = self.platform, self.max_url_bytes // 1024
        return Rejected(platform, f"an argument is too long for a {platform} request (its URL would pass {limit} KiB)")

    async def _exchange(
        self, request: httpx.Request, authenticate: bool, probe: bool, issued: float
    ) -> httpx.Response:
        connection = self.connection
        breaker = connection.breaker
        if probe:
            breaker.enter_probe()
        if authenticate:
            request.headers.update(await self.auth_headers())
        policy = connection.retry
        # Only GETs are idempotent; a probe is one call, not a retry sequence.
        retrying = request.method == "GET" and not probe and policy.retries > 0
        begun = policy.clock() if retrying else 0.0
        try:
            try:
                response = await self._attempt(request, connection.timeout, issued)
            except TRANSIENT as exc:
                if not retrying:
                    raise
                response = await self._retry(request, exc, begun)
            else:
                if retrying and response.status_code in RETRY_STATUSES:
                    response = await self._retry(request, response, begun)
        except (httpx.HTTPError, TimeoutError) as exc:
            breaker.failed()
            connection.note_unreachable(self.platform, cause_of(exc))
            raise self._unavailable(exc) from exc
        status = response.status_code
        if status >= 500 or status == 429:
            breaker.failed()
        elif breaker.failures or breaker.state is not CLOSED:
            breaker.succeeded()
        return response

    async def _retry(
        self, request: httpx.Request, first: httpx.Response | BaseException, begun: float
    ) -> httpx.Response:
        """Attempts after a retryable first one, each with what is left of the budget."""
        connection = self.connection
        breaker = connection.breaker
        timeout = connection.timeout
        return await connection.retry.after(
            first,
            begun,
            lambda left: self._attempt(request, min(timeout, left)),
            lambda: breaker.state is OPEN,
        )

    async def _attempt(self, request: httpx.Request, timeout: float, issued: float | None = None) -> httpx.Response:
        """One exchange on the wire, recorded in the ledger whatever its end.

        It first waits for one of the platform's slots (``max_calls_in_flight``,
        shared by every request), within ``timeout``. The deadline covers the
        wait and the whole exchange: httpx's own timeouts bound
        each phase (a body trickled a byte at a time never trips them) and
        in-process transports ignore them.
        """
        with tracing.span(f"{self.platform} {request.method}", {"mlgraph.platform": self.platform}):
            tracing.inject(request.headers)
            slots = self.connection.slots
            if slots.free():
                taken, left = await slots.acquire(), timeout
            else:
                waited = time.perf_counter()
                try:
                    async with asyncio.timeout(timeout):
                        taken = await slots.acquire()
                except TimeoutError:
                    raise self._no_slot(slots.limit, timeout) from None
                left = timeout - (time.perf_counter() - waited)
            try:
                return await self._attempt_traced(request, left, issued)
            finally:
                slots.release(taken)

    def _no_slot(self, limit: int, timeout: float) -> Unavailable:
        """A call that waited its whole timeout for one of the platform's
        ``max_calls_in_flight`` slots: never sent, so neither recorded in the
        ledger, nor retried, nor a failure of the platform for its circuit."""
        observe.backend_slot_timeout(self.platform)
        return Unavailable(
            self.platform,
            f"{self.platform} is busy: its bound of {limit} calls in flight left no room within {timeout:g} s",
        )

    async def _attempt_traced(self, request: httpx.Request, timeout: float, issued: float | None) -> httpx.Response:
        """The attempt inside its span (the span carries ``traceparent`` to the platform)."""
        started = time.perf_counter()
        # A first attempt counts from when it was asked for: the ledger's round
        # trips read which calls were asked for before which had answered.
        asked = issued if issued is not None else started
        try:
            async with asyncio.timeout(timeout):
                response = await self.connection.http.send(request, stream=True)
                try:
                    body = await self._bounded_body(response)
                finally:
                    await response.aclose()
        except (httpx.HTTPError, TimeoutError):
            self._record(request, None, 0, started, asked)
            raise
        except BadResponse:
            self._record(request, response.status_code, 0, started, asked)
            raise
        self._record(request, response.status_code, len(body), started, asked)
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-encoding"]
        return httpx.Response(response.status_code, headers=headers, content=body, request=request)

    async def _bounded_body(self, response: httpx.Response) -> bytes:
        """The body, read only up to the platform's limit: a runaway answer
        must not take the gateway's memory with it."""
        limit = self.connection.max_response_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise self._too_large(limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise self._too_large(limit)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, limit: int) -> BadResponse:
        return BadResponse(self.platform, f"{self.platform} sent an answer larger than {limit // 2**20} MiB")

    def _unavailable(self, exc: BaseException) -> Unavailable:
        """What a call that got no answer says: the platform, never the URL."""
        if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
            return Unavailable(
                self.platform, f"{self.platform} did not answer in time ({self.connection.timeout:g} s)"
            )
        return Unavailable(self.platform, f"{self.platform} is unreachable")

    def _record(
        self, request: httpx.Request, status: int | None, size: int, started: float, asked: float
    ) -> None:
        path = request.url.raw_path.decode("ascii", "replace")
        ended = time.perf_counter()
        seconds = ended - started
        observe.backend_call(self.platform, request.method, path, status, size, seconds)
        self.ledger.record(
            BackendCall(
                platform=self.platform,
                method=request.method,
                path=path,
                status=status,
                bytes=size,
                ms=round(seconds * 1000, 2),
                started=asked,
                ended=ended,
            )
        )

    def json_body(self, response: httpx.Response) -> bytes:
        """The body of an answer that says it is JSON. A proxy's HTML page or
        a text error on a 200 is not the platform's contract, whatever it holds."""
        declared = response.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if declared and "json" not in declared:
            raise BadResponse(self.platform, f"{self.platform} answered {declared[:40]}, not JSON")
        return response.content

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


#: A control character (C0 or DEL) as httpx percent-encodes it in a path or
#: query: no id or name holds one, and servers answer them unpredictably.
_ENCODED_CONTROL = re.compile(rb"%(?:[01][0-9A-Fa-f]|7[Ff])")


def _reusable(sent: asyncio.Future[httpx.Response]) -> bool:
    """Whether an identical GET's outcome answers this one too: while it is in
    flight, and once it succeeded. A failure is asked again: it may have
    passed, or the credential been renewed (ZenML's 401)."""
    if not sent.done():
        return True
    return not sent.cancelled() and sent.exception() is None and sent.result().status_code < 400


T = TypeVar("T")


class SingleGetClient(BackendClient):
    """A client for a platform with no call that fetches several ids.

    A batch is its single gets, made concurrently; they share one semaphore
    per request, so however many loaders fire at once, at most the
    connection's ``max_concurrency`` calls are in flight.
    """

    def __init__(self, connection: BackendConnection, ledger: Ledger, records: RecordCache | None = None) -> None:
        super().__init__(connection, ledger, records)
        self.gate = asyncio.Semaphore(connection.max_concurrency)  # type: ignore[attr-defined]

    async def get_many(
        self, fetch_one: Callable[[str], Awaitable[T]], ids: Sequence[str]
    ) -> dict[str, T | Exception]:
        """Each id by its own get, concurrently under the request's bound.

        A missing id is absent; any other failure stays with its id, so one
        broken object does not fail the others of its batch.
        """

        async def one(key: str) -> T | Exception | None:
            async with self.gate:
                try:
                    return await fetch_one(key)
                except NotFound:
                    return None
                except Exception as exc:  # kept per id, raised for that id alone
                    return exc

        found = await asyncio.gather(*(one(key) for key in ids))
        return {key: value for key, value in zip(ids, found) if value is not None}
