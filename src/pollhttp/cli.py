"""The ``pollhttp`` command."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from ._enums import Status
from .client import HTTPClient
from .demo import DemoServer

__all__ = ["main"]

_WAITING = (Status.STATUS_RESOLVING, Status.STATUS_CONNECTING, Status.STATUS_REQUESTING)


def _fetch(client: HTTPClient, path: str, say: Callable[[str], None], timeout: float) -> bool:
    """Run the canonical poll loop for one GET on a connected client; trace status changes."""
    deadline = time.monotonic() + timeout
    say(f"request(GET, {path!r}) -> {client.request(HTTPClient.METHOD_GET, path, []).name}")
    received = 0
    last = client.get_status()
    while time.monotonic() < deadline:
        status = client.get_status()
        if status in _WAITING:
            client.poll()
        elif status == Status.STATUS_BODY:
            received += len(client.read_response_body_chunk())
        else:
            break
        if client.get_status() != last:
            last = client.get_status()
            say(f"  status {last.name}")
    if client.get_status() not in (Status.STATUS_CONNECTED, Status.STATUS_DISCONNECTED):
        say(f"  failed: {client.get_last_error() or 'timed out'}")
        return False
    trailers = client.get_response_trailers()
    say(
        f"  {client.get_response_code()}, {received} body bytes"
        + (f", trailers {trailers}" if trailers else "")
    )
    return True


def _demo(stream: TextIO) -> int:
    """Fetch three resources over one keep-alive connection from an embedded local server."""
    start = time.monotonic()

    def say(text: str) -> None:
        print(f"{(time.monotonic() - start) * 1000:8.1f} ms  {text}", file=stream)

    with DemoServer() as server:
        client = HTTPClient()
        say(
            f"connect_to_host('127.0.0.1', {server.port}) -> "
            f"{client.connect_to_host('127.0.0.1', server.port).name}"
        )
        deadline = time.monotonic() + 10
        while client.get_status() in _WAITING and time.monotonic() < deadline:
            client.poll()
        say(f"  status {client.get_status().name}")
        ok = client.get_status() == Status.STATUS_CONNECTED and all(
            _fetch(client, path, say, timeout=10) for path in ("/", "/chunked", "/large")
        )
        client.close()
        say("close()")
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``pollhttp`` command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="pollhttp", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="fetch from an embedded local server, tracing each status")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(sys.stdout)
    return 2  # pragma: no cover - argparse rejects unknown commands
