"""Structured logs: one JSON object a line, and request ids.

The formatter writes the standard fields and whatever a record carries in
``extra={"fields": {...}}``; the access log (logger ``mlgraph.access``)
puts there what its line reports and nothing else, so credentials and
variables never reach it. ``configure_logging`` installs it on the root
logger: ``mlgraph serve --log-format json`` (the default) or ``text``.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid

import orjson

#: Longest X-Request-Id taken from a caller.
MAX_REQUEST_ID = 128


def request_id(given: str | None) -> str:
    """The caller's X-Request-Id when it is printable ASCII of at most 128
    characters (it goes into logs and a header), else a new one."""
    if given and len(given) <= MAX_REQUEST_ID and given.isascii() and given.isprintable():
        return given
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """A record as one JSON line: time, level, logger, message, pid, fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": os.getpid(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(log_format: str = "json", level: int = logging.INFO) -> None:
    """The root logger writes to stderr in ``json`` or ``text``."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
