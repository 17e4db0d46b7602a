"""ConnectionPool: kept-alive HTTPClients shared by many requests, keyed by origin.

Godot has no pool: each HTTPRequest node holds one client (godotengine/godot#16165 asks
for several requests without a node per request). Connections in the pool are ordinary
`HTTPClient` objects, so waiting (`get_wait_interest()`, `pollhttp.wait()`) works as
before for everything that borrows one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field

from ._checks import (
    check_callable,
    check_clock,
    check_hashable,
    check_instance,
    check_int,
    check_seconds,
)
from ._enums import Status
from .client import HTTPClient
from .protocol import Limits
from .transport import DNSCache, Resolver, notify

__all__ = ["ConnectionPool"]

_MAX_COUNT = 1 << 16


@dataclass
class _Host:
    """The connections of one key: how many are lent out, and the idle ones (newest last)."""

    lent: int = 0
    idle: list[tuple[HTTPClient, float]] = field(default_factory=list)


class ConnectionPool:
    """Kept-alive connections keyed by (scheme, host, port, TLS options, proxy).

    `acquire` lends a connected client for a key (an idle one if a live one is there) or a
    new, unconnected one while fewer than ``max_per_host`` are out; `release` takes it
    back when its response is complete. An idle connection is looked at before it is
    lent (without blocking): if the server closed it or wrote to it, or it has been idle
    longer than ``idle_timeout``, it is closed and not lent. Safe to share between
    threads. Every client made here shares the pool's DNS cache.
    """

    def __init__(
        self,
        *,
        max_per_host: int = 10,
        max_idle_per_host: int | None = None,
        idle_timeout: float = 5.0,
        resolver: Resolver | None = None,
        limits: Limits | None = None,
        ip_version: int = 0,
        happy_eyeballs_delay: float | None = 0.25,
        resolve_overrides: Mapping[str, Sequence[str]] | None = None,
        connect_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_per_host = max_per_host
        self.max_idle_per_host = (
            self.max_per_host if max_idle_per_host is None else max_idle_per_host
        )
        self.idle_timeout = idle_timeout
        self.resolver = DNSCache() if resolver is None else resolver
        self.limits = limits
        self._clock = check_clock("clock", clock)
        self._hosts: dict[Hashable, _Host] = {}
        self._lock = threading.Lock()
        self._closed = False
        # The clients' own settings, checked here by the client's own setters: every
        # client the pool makes is a copy of this one's configuration.
        self._template = HTTPClient(limits=self.limits, resolver=self.resolver)
        self._template.ip_version = ip_version
        self._template.happy_eyeballs_delay = happy_eyeballs_delay
        self._template.resolve_overrides = resolve_overrides or {}
        self._template.connect_timeout = connect_timeout

    # -- settings: checked when set, so that acquire() never fails on them ---------------

    @property
    def max_per_host(self) -> int:
        """The most connections to one key at once, lent and idle together."""
        return self._max_per_host

    @max_per_host.setter
    def max_per_host(self, count: int) -> None:
        self._max_per_host = check_int("max_per_host", count, 1, _MAX_COUNT)

    @property
    def max_idle_per_host(self) -> int:
        """The most idle connections kept for one key (default: ``max_per_host``)."""
        return self._max_idle_per_host

    @max_idle_per_host.setter
    def max_idle_per_host(self, count: int) -> None:
        self._max_idle_per_host = check_int("max_idle_per_host", count, 0, _MAX_COUNT)

    @property
    def idle_timeout(self) -> float | None:
        """Seconds an idle connection is kept (None: no limit); an older one is closed."""
        return self._idle_timeout

    @idle_timeout.setter
    def idle_timeout(self, seconds: float | None) -> None:
        self._idle_timeout = check_seconds("idle_timeout", seconds)

    @property
    def resolver(self) -> Resolver:
        """The resolver of every client made here: one DNS cache for all of them."""
        return self._resolver

    @resolver.setter
    def resolver(self, resolver: Resolver) -> None:
        self._resolver = check_callable("resolver", resolver, "(host, port) -> Resolution")

    @property
    def limits(self) -> Limits | None:
        """The `Limits` of every client made here (None: the default ones)."""
        return self._limits

    @limits.setter
    def limits(self, limits: Limits | None) -> None:
        if limits is not None:
            check_instance("limits", limits, Limits, "Limits or None")
        self._limits = limits

    # -- lending -------------------------------------------------------------------------

    def acquire(self, key: Hashable) -> HTTPClient | None:
        """A client for ``key``: a live idle one (CONNECTED), a new one, or None when full.

        A new client is DISCONNECTED: the borrower connects it. None means
        ``max_per_host`` are out; try again after one is released (each `release` rings
        the wake-up descriptor that `pollhttp.wait()` sleeps on).
        """
        check_hashable("key", key)
        stale: list[HTTPClient] = []
        try:
            with self._lock:
                if self._closed:
                    raise RuntimeError("the pool is closed")
                host = self._hosts.setdefault(key, _Host())
                now = self._clock()
                while host.idle:
                    client, since = host.idle.pop()
                    timeout = self.idle_timeout
                    if timeout is not None and now - since > timeout:
                        stale.append(client)
                        continue
                    # A look without blocking: EOF or unsolicited bytes turn it DISCONNECTED.
                    client.poll()
                    if client.get_status() is Status.STATUS_CONNECTED:
                        host.lent += 1
                        return client
                    stale.append(client)
                if host.lent + len(host.idle) >= self.max_per_host:
                    return None
                host.lent += 1
                return self._new_client()
        finally:
            for client in stale:
                client.close()

    def _new_client(self) -> HTTPClient:
        template = self._template
        client = HTTPClient(limits=self.limits, resolver=self.resolver)
        client.ip_version = template.ip_version
        client.happy_eyeballs_delay = template.happy_eyeballs_delay
        client.resolve_overrides = template.resolve_overrides
        client.connect_timeout = template.connect_timeout
        return client

    def release(self, key: Hashable, client: HTTPClient) -> None:
        """Take ``client`` back: kept if it is CONNECTED (reusable) and the pool is open."""
        check_hashable("key", key)
        check_instance("client", client, HTTPClient, "the HTTPClient that acquire() lent")
        closing: list[HTTPClient] = []
        with self._lock:
            host = self._hosts.setdefault(key, _Host())
            host.lent = max(0, host.lent - 1)
            if self._closed or client.get_status() is not Status.STATUS_CONNECTED:
                closing.append(client)
            else:
                host.idle.append((client, self._clock()))
                while len(host.idle) > self.max_idle_per_host:
                    closing.append(host.idle.pop(0)[0])  # the oldest goes first
            if not host.lent and not host.idle:
                del self._hosts[key]
        for each in closing:
            each.close()
        notify()  # a borrower waiting for a free slot may go on now

    # -- looking and closing ---------------------------------------------------------------

    def connections(self, key: Hashable) -> tuple[int, int]:
        """(lent, idle) connections for ``key``."""
        check_hashable("key", key)
        with self._lock:
            host = self._hosts.get(key)
            return (host.lent, len(host.idle)) if host is not None else (0, 0)

    def clear_idle(self) -> None:
        """Close every idle connection; lent ones are not touched."""
        with self._lock:
            idle = [client for host in self._hosts.values() for client, _ in host.idle]
            for host in self._hosts.values():
                host.idle.clear()
        for client in idle:
            client.close()

    def close(self) -> None:
        """Close every idle connection; lent ones are closed when they come back."""
        with self._lock:
            self._closed = True
        self.clear_idle()

    @property
    def closed(self) -> bool:
        """True after `close`."""
        return self._closed

    def __enter__(self) -> ConnectionPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
