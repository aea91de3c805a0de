"""OpenTelemetry spans, when the ``[tracing]`` extra is installed.

Spans: one per GraphQL operation (a child of the caller's ``traceparent``
when it sends one), one per loader batch, one per backend exchange; each
backend request carries W3C trace context (``traceparent``) so the
platform's own traces join the gateway's. Without the packages every
function here is a no-op; with them but no tracer provider configured, the
API's default provider makes non-recording spans and injects nothing.
The application configures the provider and exporter (the SDK's
``OTEL_*`` variables or ``opentelemetry-instrument``), not the gateway.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager, nullcontext
from typing import Any

try:
    from opentelemetry import context as otel_context
    from opentelemetry import propagate, trace
except ImportError:  # the extra is not installed
    trace = None  # type: ignore[assignment]

_tracer = trace.get_tracer("mlgraph") if trace is not None else None


def use_provider(provider: Any) -> Any:
    """Spans from ``provider`` instead of the global one (None: the global
    again); returns the tracer in use before. For tests, which cannot reset
    OpenTelemetry's global provider once set."""
    global _tracer
    previous = _tracer
    if trace is not None:
        _tracer = provider.get_tracer("mlgraph") if provider is not None else trace.get_tracer("mlgraph")
    return previous


def span(name: str, attributes: Mapping[str, Any] | None = None) -> Any:
    """A span around a block (a context manager), or nothing without OpenTelemetry."""
    if _tracer is None:
        return nullcontext()
    return _tracer.start_as_current_span(name, attributes=attributes)


@contextmanager
def incoming(headers: Mapping[str, str]) -> Iterator[None]:
    """Makes the caller's ``traceparent`` the parent of the spans in the block."""
    if trace is None or "traceparent" not in headers:
        yield
        return
    token = otel_context.attach(propagate.extract(headers))
    try:
        yield
    finally:
        otel_context.detach(token)


def inject(headers: MutableMapping[str, str]) -> None:
    """Adds ``traceparent`` (and ``tracestate``) of the current span, if one records."""
    if trace is not None and trace.get_current_span().get_span_context().is_valid:
        propagate.inject(headers)
