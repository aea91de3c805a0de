"""Why an execution failed, in one shape for every platform.

The text comes from the platform, written by user code (a traceback, an
exception's message), so it is bounded and scrubbed before it leaves the
gateway: no URL (an internal host, a presigned link, credentials in its
userinfo) and nothing that reads as a credential (bearer tokens, JWTs,
ZenML API keys, ``password=…``).
"""

from __future__ import annotations

import re

import strawberry

from mlgraph.backends.errors import sanitize

#: Longest line, the message's too.
LINE_LIMIT = 500
#: Longest detail: the end of a traceback, where the cause is.
DETAIL_LIMIT = 4000

_SECRET = re.compile(
    r"(?i)(\bbearer\s+|\b(?:api[_-]?key|token|password|passwd|secret)[\"']?\s*[:=]\s*[\"']?)[^\s\"',;]+"
    r"|\beyJ[\w-]+\.[\w-]+\.[\w-]+|\bZENKEY_[\w+/=-]+"
)


def _scrub(line: str) -> str:
    """One line without URLs or credentials, its indentation kept."""
    indent = line[: len(line) - len(line.lstrip())]
    clean = sanitize(line, LINE_LIMIT)
    return indent + _SECRET.sub(lambda match: (match.group(1) or "") + "<redacted>", clean)


def _detail(text: str) -> str:
    lines = [_scrub(line) for line in text.rstrip().splitlines()]
    detail = "\n".join(lines)
    return detail if len(detail) <= DETAIL_LIMIT else "…" + detail[-(DETAIL_LIMIT - 1) :]


@strawberry.type(
    description="Why an execution failed, as its platform recorded it; URLs and credentials removed, length bounded."
)
class ExecutionFailure:
    message: str = strawberry.field(description="The error's message, one line of at most 500 characters.")
    exception_type: str | None = strawberry.field(
        description="The exception's class where the platform names it (ZenML: `builtins.RuntimeError`)."
    )
    detail: str | None = strawberry.field(
        description="The traceback or fuller text, at most 4,000 characters (its end kept), when there is more than the message."
    )
    source: str = strawberry.field(
        description="Where the platform keeps it: `exception_info` (ZenML step), `status_reason` (ZenML run), "
        "`logs.problem` (Domino), `error` or `outputErrors` (Abacus.AI)."
    )

    @classmethod
    def of(
        cls, text: str | None, source: str, *, message: str | None = None, exception_type: str | None = None
    ) -> ExecutionFailure | None:
        """The failure ``text`` tells (its last line is the message unless
        ``message`` says it); None when the platform recorded nothing."""
        lines = [line for line in (text or "").splitlines() if line.strip()]
        headline = message if message and message.strip() else (lines[-1] if lines else "")
        if not headline.strip():
            return None
        detail = _detail(text) if text and text.strip() != headline.strip() else None
        return cls(message=_scrub(headline.strip()), exception_type=exception_type, detail=detail, source=source)
