"""Host-name resolution off the caller's thread, so that ``poll()`` never waits on DNS."""

from __future__ import annotations

import ipaddress
import math
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from enum import IntEnum

from .._checks import (
    check_callable,
    check_clock,
    check_instance,
    check_int,
    check_items,
    check_seconds,
)
from .._errors import InvalidParameterError, InvalidTypeError, PollHTTPError, ResolveError
from ._wakeup import notify

__all__ = [
    "Address",
    "DNSCache",
    "Resolution",
    "Resolver",
    "ResolverStatus",
    "call_resolver",
    "parse_host",
    "parse_resolve_overrides",
    "resolve_in_thread",
]

#: An address to connect to: (IP literal, port).
Address = tuple[str, int]
#: The most answers a DNSCache may be asked to remember.
_MAX_ENTRIES = 1 << 24


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
        what = "a list of (IP address, port) pairs"
        checked = []
        for pair in check_items("addresses", addresses, what):
            if not (
                isinstance(pair, (tuple, list))
                and len(pair) == 2
                and isinstance(pair[0], str)
                and isinstance(pair[1], int)
                and not isinstance(pair[1], bool)
            ):
                raise InvalidTypeError(f"addresses must be {what}, not holding {pair!r:.60}")
            checked.append((pair[0], int(pair[1])))
        if error is not None:
            check_instance("error", error, ResolveError, "a ResolveError or None")
        result = cls()
        result._finish(checked, error)
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


def call_resolver(resolver: Resolver, host: str, port: int) -> Resolution:
    """``resolver(host, port)``, checked where its answer is used.

    A resolver is the caller's code: one that raises, or returns something other than a
    `Resolution`, fails the lookup with a `ResolveError` saying so (the exception it
    raised as the cause), instead of an error deep inside ``poll()``. An object that
    does what a Resolution does (``get_status()``, ``wait()``, ``addresses``, ``error``)
    is taken as one.
    """
    try:
        resolution = resolver(host, port)
    except PollHTTPError:
        raise  # already says what went wrong (a ResolveError, most likely)
    except Exception as exc:
        error = ResolveError(f"cannot resolve {host!r}: the resolver raised {exc!r:.200}")
        raise error from exc
    if not isinstance(resolution, Resolution) and not (
        callable(getattr(resolution, "get_status", None))
        and callable(getattr(resolution, "wait", None))
        and hasattr(resolution, "addresses")
        and hasattr(resolution, "error")
    ):
        raise ResolveError(
            f"cannot resolve {host!r}: the resolver returned {type(resolution).__name__}, "
            "not a Resolution"
        )
    return resolution


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


class DNSCache:
    """A `Resolver` that remembers each answer for ``ttl`` seconds (curl's default: 60).

    Share one between clients (a pool or a Session does) so that they look a host up
    once. Lookups still run on the wrapped resolver, off the caller's thread; clients
    asking for a host whose lookup is under way share it. Failures are not remembered.
    Godot caches answers for the life of the process.
    """

    def __init__(
        self,
        resolver: Resolver = resolve_in_thread,
        *,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 1024,
    ) -> None:
        self._resolver = check_callable("resolver", resolver, "(host, port) -> Resolution")
        self._clock = check_clock("clock", clock)
        self._max_entries = check_int("max_entries", max_entries, 1, _MAX_ENTRIES)
        self._ttl = 60.0
        self.ttl = ttl
        self._entries: dict[tuple[str, int], tuple[Resolution, float]] = {}
        self._lock = threading.Lock()

    @property
    def ttl(self) -> float:
        """Seconds an answer is remembered (``inf``: until `clear`); from the next lookup."""
        return self._ttl

    @ttl.setter
    def ttl(self, seconds: float) -> None:
        checked = check_seconds("ttl", seconds, none_ok=False)
        self._ttl = math.inf if checked is None else checked

    def __call__(self, host: str, port: int) -> Resolution:
        """The remembered answer for ``(host, port)`` if still fresh, else a new lookup."""
        key = (host, port)
        with self._lock:
            now = self._clock()
            entry = self._entries.get(key)
            if entry is not None:
                resolution, expires = entry
                failed = resolution.get_status() == ResolverStatus.RESOLVER_STATUS_ERROR
                if now < expires and not failed:
                    return resolution
                del self._entries[key]
            if len(self._entries) >= self._max_entries:
                # The oldest answer goes first (dicts keep insertion order).
                del self._entries[next(iter(self._entries))]
            resolution = call_resolver(self._resolver, host, port)
            self._entries[key] = (resolution, now + self._ttl)
            return resolution

    def clear(self) -> None:
        """Forget every answer."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def parse_resolve_overrides(
    overrides: Mapping[str, Sequence[str]],
) -> dict[tuple[str, int], list[str]]:
    """Check ``{"host:port": ["address", ...]}`` (curl's ``--resolve``) and key it by (host, port).

    Host names are compared as the resolver sees them (lower case, IDNA); addresses
    must be IP literals.
    """
    if not isinstance(overrides, Mapping):
        raise InvalidTypeError(
            f'resolve overrides must be a mapping {{"host:port": [addresses]}}, '
            f"not {type(overrides).__name__}"
        )
    parsed: dict[tuple[str, int], list[str]] = {}
    for key, addresses in overrides.items():
        if not isinstance(key, str) or ":" not in key:
            raise InvalidParameterError(f"resolve override key {key!r} is not 'host:port'")
        host, _, port_text = key.rpartition(":")
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise InvalidParameterError(f"resolve override key {key!r} has no valid port")
        name = parse_host(host)[0]
        if isinstance(addresses, str) or not isinstance(addresses, Sequence) or not addresses:
            raise InvalidParameterError(
                f"resolve override {key!r} needs a list of one or more IP addresses"
            )
        checked = []
        for address in addresses:
            try:
                checked.append(str(ipaddress.ip_address(str(address).strip("[]"))))
            except ValueError:
                raise InvalidParameterError(
                    f"resolve override {key!r}: {address!r} is not an IP address"
                ) from None
        parsed[(name, int(port_text))] = checked
    return parsed


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
