"""Why a platform did not answer, in words an operator can act on.

A client of the graph is told only that a platform is unavailable (its
address and credential are none of the client's business). The operator
reading the log, ``/readyz`` or ``mlgraph doctor`` needs the cause: the
connection was refused, the name did not resolve, TLS failed, the platform
was too slow, or it refused the credential. The cause is read from the
exception chain a ``BackendError`` carries (``raise … from exc``) and never
holds the URL or the credential.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

import httpx

from mlgraph.backends.errors import BackendError, Forbidden, Unavailable

REFUSED = "connection refused"
DNS = "name not resolved (DNS)"
TLS = "TLS handshake failed"
TIMEOUT = "timed out"
CREDENTIAL = "credential refused (401)"
FORBIDDEN = "not allowed (403)"
UNREACHABLE = "unreachable"

_DNS_WORDS = ("name or service not known", "nodename nor servname", "temporary failure in name resolution",
              "no address associated", "getaddrinfo failed")


def cause_of(exc: BaseException) -> str:
    """The operator's word for why a call failed."""
    for link in _chain(exc):
        if isinstance(link, (httpx.TimeoutException, TimeoutError)):
            return TIMEOUT
        if isinstance(link, ssl.SSLError):
            return TLS
        if isinstance(link, socket.gaierror):
            return DNS
        if isinstance(link, ConnectionRefusedError):
            return REFUSED
        if isinstance(link, Forbidden):
            return CREDENTIAL if link.status == 401 else FORBIDDEN
        text = str(link).casefold()
        if any(word in text for word in _DNS_WORDS):
            return DNS
        if "connection refused" in text or "connect call failed" in text:
            return REFUSED
        if "[ssl" in text or "ssl:" in text or "certificate verify" in text:
            return TLS
    if isinstance(exc, Unavailable) and exc.status is not None:
        return f"server error ({exc.status})"
    if isinstance(exc, BackendError) and exc.status is not None:
        return f"answered {exc.status}"
    return UNREACHABLE


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and its causes, each once."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__
