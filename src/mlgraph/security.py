"""Who may call the gateway, and how often: API keys and the rate limit.

Keys live in settings only as SHA-256 hashes (``mlgraph auth hash-key``). A
request presents its key as ``Authorization: Bearer <key>`` or ``X-Api-Key``;
the gateway hashes it and compares the digest with every configured one in
constant time. ``RequestGuard`` runs in front of every route: over the rate a
request gets 429, without a valid key 401, before anything else is read. A
client is its key when it presents a valid one, else its IP address, so
failed attempts count against the address they come from.

Keys are random strings of 32 bytes or more: a fast hash is right for them,
unlike for passwords, and a leaked settings file does not leak a key.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable, Iterable

import orjson
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from mlgraph.ratelimit import Limiter

HASH_PREFIX = "sha256:"
#: Shortest key ``mlgraph auth hash-key`` accepts.
MIN_KEY_LENGTH = 16
NO_STORE = "no-store"


def hash_key(key: str) -> str:
    """The form a key is configured in: ``sha256:<hex>``."""
    return HASH_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiKeys:
    """The accepted keys, by hash."""

    def __init__(self, hashes: Iterable[str]) -> None:
        self._digests = [bytes.fromhex(h.removeprefix(HASH_PREFIX)) for h in hashes]

    def __bool__(self) -> bool:
        return bool(self._digests)

    def identify(self, key: str | None) -> str | None:
        """A name for the client holding ``key`` (the start of its hash), or
        None when the key is absent or not one of ours. Every configured digest
        is compared, each in constant time."""
        if not key:
            return None
        digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()
        matched = False
        for known in self._digests:
            matched |= hmac.compare_digest(digest, known)
        return f"key:{digest.hex()[:16]}" if matched else None


def presented_key(connection: HTTPConnection) -> str | None:
    """The key of ``Authorization: Bearer <key>``, else of ``X-Api-Key``."""
    authorization = connection.headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return connection.headers.get("x-api-key") or None


def error_body(message: str, code: str, **extensions: object) -> bytes:
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code, **extensions}}]})


class RequestGuard:
    """ASGI middleware: the rate limit, then the key, in front of every route.

    ``unguarded`` paths pass untouched (``/healthz``); requests ``is_public``
    accepts need no key but count against the rate (``/readyz``, GraphiQL's
    page and assets).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        keys: ApiKeys,
        limiter: Limiter | None,
        is_public: Callable[[HTTPConnection], bool],
        unguarded: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.keys = keys
        self.limiter = limiter
        self.is_public = is_public
        self.unguarded = unguarded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.unguarded:
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        presented = presented_key(connection) if self.keys else None
        client = self.keys.identify(presented) if presented else None
        if self.limiter is not None:
            wait = await self.limiter.hit(client or f"ip:{connection.client.host if connection.client else '-'}")
            if wait > 0:
                await self._refuse(send, 429, rate_limited(wait), {"retry-after": str(math.ceil(wait))})
                return
        if self.keys and client is None and not self.is_public(connection):
            if presented is None:
                message = "an API key is required: send `Authorization: Bearer <key>` or `X-Api-Key: <key>`"
                challenge = 'Bearer realm="mlgraph"'
            else:
                message = "the API key is not valid"
                challenge = 'Bearer realm="mlgraph", error="invalid_token"'
            await self._refuse(send, 401, error_body(message, "UNAUTHENTICATED"), {"www-authenticate": challenge})
            return
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
        raw = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", NO_STORE.encode()),
            *((name.encode(), value.encode()) for name, value in headers.items()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})


def rate_limited(wait: float) -> bytes:
    seconds = math.ceil(wait)
    return error_body(f"too many requests: try again in {seconds} s", "RATE_LIMITED", retryAfter=seconds)
