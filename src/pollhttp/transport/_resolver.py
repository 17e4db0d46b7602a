"""Host-name resolution off the caller's thread, so that ``poll()`` never waits on DNS."""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from collections.abc import Callable
from enum import IntEnum

from .._errors import InvalidParameterError, ResolveError
from ._wakeup import notify

__all__ = [
    "Address",
    "Resolution",
    "Resolver",
    "ResolverStatus",
    "parse_host",
    "resolve_in_thread",
]

#: An address to connect to: (IP literal, port).
Address = tuple[str, int]


class ResolverStatus(IntEnum):
    """Godot's ``IP.ResolverStatus``."""

    RESOLVER_STATUS_NONE = 0
    RESOLVER_STATUS_WAITING = 1
    RESOLVER_STATUS_DONE = 2
    RESOLVER_STATUS_ERROR = 3


class Resolution:
    """One lookup: waiting, then done with its addresses, or failed with a `ResolveError`."""

    def __init__(self) -> None:
        self.addresses: list[Address] = []
        self.error: ResolveError | None = None
        self._done = threading.Event()

    @classmethod
    def finished(cls, addresses: list[Address], error: ResolveError | None = None) -> Resolution:
        """A lookup that is already complete (for literals, caches and tests)."""
        result = cls()
        result._finish(addresses, error)
        return result

    def _finish(self, addresses: list[Address], error: ResolveError | None) -> None:
        self.addresses = addresses
        self.error = error
        self._done.set()
        notify()

    def get_status(self) -> ResolverStatus:
        """Where the lookup stands."""
        if not self._done.is_set():
            return ResolverStatus.RESOLVER_STATUS_WAITING
        if self.error is not None:
            return ResolverStatus.RESOLVER_STATUS_ERROR
        return ResolverStatus.RESOLVER_STATUS_DONE

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the lookup completes; True when it has."""
        return self._done.wait(timeout)


#: What HTTPClient calls to look a host up: (host, port) -> Resolution.
Resolver = Callable[[str, int], Resolution]


def _lookup(host: str, port: int, resolution: Resolution) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        error = ResolveError(f"cannot resolve {host!r}: {getattr(exc, 'strerror', None) or exc}")
        error.__cause__ = exc
        resolution._finish([], error)
        return
    addresses: list[Address] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = (str(sockaddr[0]), int(sockaddr[1]))
        if address not in addresses:
            addresses.append(address)
    if addresses:
        resolution._finish(addresses, None)
    else:
        resolution._finish([], ResolveError(f"cannot resolve {host!r}: no addresses"))


def resolve_in_thread(host: str, port: int) -> Resolution:
    """Start ``getaddrinfo`` on a daemon thread and return its `Resolution` at once.

    A daemon thread, so that a slow lookup abandoned by ``close()`` never delays exit.
    Godot queues lookups on one resolver thread and caches results forever; the OS
    resolver's own caching is used here instead.
    """
    resolution = Resolution()
    threading.Thread(
        target=_lookup, args=(host, port, resolution), name="pollhttp-resolve", daemon=True
    ).start()
    return resolution


_ZONE = re.compile(r"[A-Za-z0-9._~-]+")
_HOST_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def parse_host(host: str) -> tuple[str, bytes, bool]:
    """Split what ``connect_to_host`` was given into (connect host, Host header, is IP).

    IPv6 literals work with or without brackets (Godot rejects ``::1`` as too short);
    names are checked and IDNA-encoded.
    """
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    address, _, zone = bare.partition("%")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        ip = None
    if ip is not None and zone and (ip.version != 6 or not _ZONE.fullmatch(zone)):
        # A zone (RFC 6874) names an interface of an IPv6 address, nothing else.
        raise InvalidParameterError(f"invalid zone in IP address {host!r}")
    if ip is not None:
        return bare, (f"[{bare}]" if ip.version == 6 else bare).encode(), True
    if not host or any(ch in "/:@?#[] \t\r\n\0\\" for ch in host):
        raise InvalidParameterError(
            f"invalid host {host!r}: give a host name or IP address, with the port separate"
        )
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise InvalidParameterError(f"invalid host name {host!r}: {exc}") from exc
    labels = ascii_host.rstrip(".").split(".")
    if labels[-1].isdigit():
        # A name whose last label is a number can only be an IPv4 address (the URL
        # Standard's host parser); ``999.1.1.1`` must fail here, not in the resolver,
        # which would take shorthands such as ``127.1`` as addresses of its own making.
        raise InvalidParameterError(f"invalid IPv4 address {host!r}")
    if (
        len(ascii_host) > 253
        or not all(0 < len(label) <= 63 for label in labels)
        or not set(ascii_host) <= _HOST_LABEL_CHARS
    ):
        raise InvalidParameterError(f"invalid host name {host!r}")
    return ascii_host, ascii_host.encode(), False
