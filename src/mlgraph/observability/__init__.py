"""Operations: metrics, traces and access logs of the gateway.

Each module holds one concept: ``metrics`` (the Prometheus registry of one
app), ``context`` (what the request in progress has done so far, reached
from deep in the call stack without threading it through every signature),
``tracing`` (optional OpenTelemetry spans), ``logs`` (JSON log lines and
request ids) and ``middleware`` (the ASGI layer that ties them to a request).
"""
