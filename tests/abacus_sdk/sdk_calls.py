"""Runs inside the `abacusai` SDK venv: performs a plan of SDK calls, prints what they gave.

Reads `{"server", "api_key", "plan"}` (JSON) from stdin, builds
`abacusai.ApiClient(api_key=..., server=...)` (which calls `getApiEndpoint`
and `version` on the way) and runs the plan's steps in order. Each step has a
`label` and one of:

- `call`: an `ApiClient` method name, with optional `args`, `kwargs` and
  `api_key` (sent instead of the real key for this call only);
- `run`: a pipeline id to `run_pipeline`, with optional `mappings`
  (`[{"name", "value", "variable_type"}]`, sent as the SDK's
  `PythonFunctionArgument` objects); the started version is kept under the
  label;
- `wait`: the label of a `run` step: `PipelineVersion.wait_for_pipeline()`
  on it, then the final version.

Prints one line, `MLGRAPH_SDK_RESULT <json>`: per label, `{"value": ...}`
with the SDK objects turned into plain JSON (class name under `__class__`,
attributes as the SDK names them, None kept) or `{"error": {"class",
"http_status", "exception", "message"}}` when the SDK raised.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
import time
from typing import Any

import abacusai
from abacusai.api_class import ApiClass, PythonFunctionArgument
from abacusai.return_class import AbstractApiClass

RESULT_PREFIX = "MLGRAPH_SDK_RESULT "


def dump(value: Any) -> Any:
    """SDK objects as plain JSON: attributes by the SDK's names, nested objects too."""
    if isinstance(value, AbstractApiClass):
        fields = {k: dump(v) for k, v in vars(value).items() if k not in ("client", "deprecated_keys")}
        return {"__class__": type(value).__name__, **fields}
    if isinstance(value, ApiClass):
        fields = {f.name: dump(getattr(value, f.name)) for f in dataclasses.fields(value) if not f.name.startswith("_")}
        return {"__class__": type(value).__name__, **fields}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [dump(v) for v in value]
    if isinstance(value, dict):
        return {str(k): dump(v) for k, v in value.items()}
    return value


def error(exc: BaseException) -> dict[str, Any]:
    return {
        "class": type(exc).__name__,
        "http_status": getattr(exc, "http_status", None),
        "exception": getattr(exc, "exception", None),
        "message": getattr(exc, "message", str(exc)),
    }


def main() -> None:
    request = json.load(sys.stdin)
    started = time.monotonic()
    client = abacusai.ApiClient(api_key=request["api_key"], server=request["server"])
    results: dict[str, Any] = {
        "_client": {
            "sdk_version": abacusai.__version__,
            "api_endpoint": client.api_endpoint,
            "prediction_endpoint": client.prediction_endpoint,
            "proxy_endpoint": client.proxy_endpoint,
            "web_version": client.web_version,
            "server": client.server,
        }
    }
    runs: dict[str, Any] = {}
    for step in request["plan"]:
        label = step["label"]
        try:
            if "call" in step:
                key = client.api_key
                if "api_key" in step:
                    client.api_key = step["api_key"]
                try:
                    value = getattr(client, step["call"])(*step.get("args", []), **step.get("kwargs", {}))
                finally:
                    client.api_key = key
            elif "run" in step:
                mappings = [
                    PythonFunctionArgument(
                        name=m["name"], value=m.get("value"), variable_type=m.get("variable_type", "STRING")
                    )
                    for m in step.get("mappings", [])
                ] or None
                value = client.run_pipeline(step["run"], mappings)
                runs[label] = value
                value = dump(value)  # as it was when started, before waiting changes the object
            elif "wait" in step:
                version = runs[step["wait"]]
                begun = time.monotonic()
                version.wait_for_pipeline(timeout=step.get("timeout", 60))
                value = {"version": version, "waited_seconds": time.monotonic() - begun}
            else:
                raise ValueError(f"unknown plan step {step!r}")
            results[label] = {"value": dump(value)}
        except Exception as exc:  # recorded for the tests to judge
            results[label] = {"error": error(exc)}
    results["_client"]["seconds"] = time.monotonic() - started
    print(RESULT_PREFIX + json.dumps(results), flush=True)


if __name__ == "__main__":
    main()
