"""Moving bytes: Godot's StreamPeer family and non-blocking name resolution."""

from ._base import StreamPeer, network_error, wait_for_fd
from ._resolver import Address, Resolution, Resolver, ResolverStatus, resolve_in_thread
from ._tcp import StreamPeerTCP
from ._tls import CryptoKey, StreamPeerTLS, TLSOptions, X509Certificate

__all__ = [
    "Address",
    "CryptoKey",
    "Resolution",
    "Resolver",
    "ResolverStatus",
    "StreamPeer",
    "StreamPeerTCP",
    "StreamPeerTLS",
    "TLSOptions",
    "X509Certificate",
    "network_error",
    "resolve_in_thread",
    "wait_for_fd",
]
