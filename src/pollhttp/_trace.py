"""Trace events: what a client does, step by step, for logs, ``pollhttp -v`` and ``-w``.

A trace is a callable taking an event name and a mapping of details. `HTTPClient.trace`
calls it synchronously, inside the call that did the work; it must not call back into
the client. The events and their details:

- ``connect.resolved``: ``host``, ``addresses`` (a list of (ip, port)).
- ``connect.attempt``, ``connect.established``: ``address``, ``port``.
- ``connect.failed``: ``address``, ``port``, ``error`` (the exception).
- ``tunnel.established``: ``authority`` (the CONNECT target), ``status``.
- ``tls.established``: ``server_name``, ``proxy`` (True for TLS to the proxy),
  ``version``, ``cipher``, ``alpn``, ``certificate`` (as ``getpeercert()``).
- ``request.head``: ``head`` (the bytes as sent).
- ``response.informational``, ``response.head``: ``status``, ``reason``, ``version``,
  ``headers`` (a list of (name, value) bytes).
- ``connection.dropped``: ``error``: a kept-alive connection was closed because the server
  closed it, or sent bytes nobody asked for.
- ``status``: ``status``, a `Status`, whenever the client's status changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

__all__ = ["Trace"]

#: ``trace(event, details)``.
Trace: TypeAlias = Callable[[str, Mapping[str, Any]], None]
