"""Moving bytes: Godot's StreamPeer family and non-blocking name resolution."""

from ._base import (
    READY_NOW,
    Interest,
    PrefixedStreamPeer,
    StreamPeer,
    network_error,
    wait_for_fd,
    wait_for_fds,
)
from ._proxy import (
    Proxy,
    absolute_target,
    connect_authority,
    environment_proxy,
    parse_proxy,
    proxy_from_url,
)
from ._resolver import (
    Address,
    DNSCache,
    Resolution,
    Resolver,
    ResolverStatus,
    parse_host,
    parse_resolve_overrides,
    resolve_in_thread,
)
from ._tcp import StreamPeerTCP
from ._tls import CryptoKey, StreamPeerTLS, TLSOptions, X509Certificate
from ._wakeup import drain, notify, wakeup_fd

__all__ = [
    "READY_NOW",
    "Address",
    "CryptoKey",
    "DNSCache",
    "Interest",
    "PrefixedStreamPeer",
    "Proxy",
    "Resolution",
    "Resolver",
    "ResolverStatus",
    "StreamPeer",
    "StreamPeerTCP",
    "StreamPeerTLS",
    "TLSOptions",
    "X509Certificate",
    "absolute_target",
    "connect_authority",
    "drain",
    "environment_proxy",
    "network_error",
    "notify",
    "parse_host",
    "parse_proxy",
    "parse_resolve_overrides",
    "proxy_from_url",
    "resolve_in_thread",
    "wait_for_fd",
    "wait_for_fds",
    "wakeup_fd",
]
