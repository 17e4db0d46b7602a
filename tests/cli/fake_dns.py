"""Run the pollhttp command with a resolver that knows only the names in ``FAKE_DNS``.

``FAKE_DNS="origin.test=127.0.0.1,proxy.test=127.0.0.1"``: those names resolve to those
addresses; every other name fails at once with a `ResolveError`. No DNS query is made, so
the tests of "cannot resolve" never touch the network. Used by `conftest.run_cli`.
"""

from __future__ import annotations

import os
import sys

import pollhttp.cli
import pollhttp.client
from pollhttp import Resolution, ResolveError


def _resolver(host: str, port: int) -> Resolution:
    table = dict(
        item.split("=", 1) for item in os.environ.get("FAKE_DNS", "").split(",") if "=" in item
    )
    if host in table:
        return Resolution.finished([(table[host], port)])
    return Resolution.finished([], ResolveError(f"cannot resolve {host!r}: unknown test name"))


pollhttp.client.resolve_in_thread = _resolver
pollhttp.cli.resolve_in_thread = _resolver
sys.exit(pollhttp.cli.main(sys.argv[1:]))
