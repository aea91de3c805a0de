"""Backend failures, classified so the graph can map each to an error code.

Messages are written here, never copied from a backend's body whole: a real
ZenML 422 carries a server traceback, and no error may leak a URL or token.
"""

from __future__ import annotations

import re

_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


def sanitize(text: str, limit: int = 200) -> str:
    """First line of a backend message, URLs removed, bounded in length."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    first = _URL.sub("<url>", first)
    return first if len(first) <= limit else first[: limit - 1] + "…"


#: How messages name each platform; the code (``zenml``) is ``extensions.platform``.
DISPLAY_NAMES = {"zenml": "ZenML", "domino": "Domino", "abacus": "Abacus.AI"}


def display_name(platform: str) -> str:
    return DISPLAY_NAMES.get(platform, platform)


class BackendError(Exception):
    """A backend call that did not produce the data asked for.

    Messages are written starting with the platform's code (``zenml did not
    answer``); they read with its name (``ZenML did not answer``), as every
    other message of the gateway names it.
    """

    def __init__(self, platform: str, message: str, status: int | None = None) -> None:
        if message.startswith(platform) and message[len(platform) : len(platform) + 1] in (" ", ":"):
            message = display_name(platform) + message[len(platform) :]
        super().__init__(message)
        self.platform = platform
        self.message = message
        self.status = status


class NotFound(BackendError):
    """The backend answered 404 for the object asked for."""


class Forbidden(BackendError):
    """401 or 403: the gateway's credentials do not allow this."""


class Rejected(BackendError):
    """Another 4xx: the backend refused the request's arguments; or, with no
    ``status``, the client did, before sending what they would make invalid."""


class Unavailable(BackendError):
    """Timeout, refused connection or 5xx: the backend could not answer."""


class BadResponse(BackendError):
    """The backend answered, but not with what its contract promises."""
