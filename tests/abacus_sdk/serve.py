"""Serve the Abacus.AI emulator over real HTTP on a loopback port, for the SDK suite.

Run with the repository's python (which imports `mlgraph`):

    python tests/abacus_sdk/serve.py --api-key KEY [--seed 7] [--port 0]

It binds the socket itself (port 0: the OS picks a free one, so parallel runs
never race for a port), prints `MLGRAPH_ABACUS_PORT <port>` on stdout once
it is listening, and serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import socket
import sys

import uvicorn

from mlgraph.sandbox.abacus import create_abacus_emulator
from mlgraph.sandbox.abacus_data import AbacusData

READY_PREFIX = "MLGRAPH_ABACUS_PORT "


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--pending-seconds", type=float, default=0.2)
    parser.add_argument("--running-seconds", type=float, default=0.5)
    args = parser.parse_args(argv)

    app = create_abacus_emulator(
        AbacusData.generate(seed=args.seed),
        api_key=args.api_key,
        pending_seconds=args.pending_seconds,
        running_seconds=args.running_seconds,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(128)
    port = sock.getsockname()[1]

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    original_startup = server.startup

    async def startup(sockets: list[socket.socket] | None = None) -> None:
        await original_startup(sockets=sockets)
        print(f"{READY_PREFIX}{port}", flush=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run(sockets=[sock])
    sys.exit(0 if server.started else 1)


if __name__ == "__main__":
    main()
