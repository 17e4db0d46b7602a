"""Proxy policy: which proxy applies, how it is addressed, what it is told. No I/O here."""

from __future__ import annotations

import base64
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from .._checks import check_bool, check_int, check_text
from .._errors import InvalidParameterError, InvalidTypeError
from ._resolver import parse_host
from ._tls import TLSOptions

__all__ = [
    "Proxy",
    "absolute_target",
    "connect_authority",
    "environment_proxy",
    "parse_proxy",
    "proxy_from_url",
]


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy: where it is, whether to speak TLS to it, and its credentials."""

    host: str  # an IP literal or an IDNA host name, as given to the resolver
    port: int
    tls: bool = False  # an https:// proxy: TLS to the proxy, then (for https) TLS inside
    username: str = ""
    password: str = ""
    tls_options: TLSOptions | None = None  # verifies the proxy when tls is True

    def __post_init__(self) -> None:
        # Checked when made, so that a wrong value never fails later in a connect.
        parse_host(check_text("host", self.host))
        check_int("port", self.port, 1, 65535)
        check_bool("tls", self.tls)
        _no_control(check_text("username", self.username), "user name")
        _no_control(check_text("password", self.password), "password")
        if self.tls_options is not None and not isinstance(self.tls_options, TLSOptions):
            raise InvalidTypeError("tls_options must be TLSOptions or None")

    @property
    def authorization(self) -> bytes | None:
        """The ``Proxy-Authorization`` value (RFC 9110 §11.7.1, Basic), if credentials are set."""
        if not (self.username or self.password):
            return None
        token = base64.b64encode(f"{self.username}:{self.password}".encode())
        return b"Basic " + token


def _no_control(text: str, what: str) -> str:
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        raise InvalidParameterError(f"control character in the proxy {what}")
    return text


def parse_proxy(
    host: str,
    port: int,
    *,
    username: str = "",
    password: str = "",
    tls_options: TLSOptions | None = None,
) -> Proxy | None:
    """Godot's ``set_http_proxy(host, port)`` arguments as a `Proxy`; None unsets.

    ``host`` may carry ``http://`` or ``https://`` (TLS to the proxy) and ``user:pass@``
    (percent-decoded); the keyword credentials win over those in ``host``.
    """
    if not host or port == -1:
        return None
    lower = host.lower()
    tls = lower.startswith("https://")
    if tls or lower.startswith("http://"):
        host = host.split("://", 1)[1]
    if "@" in host:
        userinfo, host = host.rsplit("@", 1)
        user, _, secret = userinfo.partition(":")
        username, password = username or unquote(user), password or unquote(secret)
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise InvalidParameterError(f"proxy port {port!r} is not in 1..65535")
    connect_host, _, _ = parse_host(host.rstrip("/"))
    return Proxy(
        connect_host,
        port,
        tls,
        _no_control(username, "user name"),
        _no_control(password, "password"),
        tls_options,
    )


def connect_authority(host: str, port: int) -> bytes:
    """The CONNECT request target, ``host:port`` with IPv6 in brackets (RFC 9112 §3.2.3)."""
    return (f"[{host}]" if ":" in host else host).encode() + b":%d" % port


def absolute_target(scheme: str, host_header: bytes, target: bytes) -> bytes:
    """The absolute-form target sent to a forward proxy (RFC 9112 §3.2.2).

    A target that is already absolute is used as it is (Godot prefixes it again); ``*``
    becomes the bare authority (RFC 9112 §3.2.4).
    """
    if target[:7].lower() == b"http://" or target[:8].lower() == b"https://":
        return target
    prefix = scheme.encode() + b"://" + host_header
    return prefix if target == b"*" else prefix + target


def _bypassed(host: str, port: int, no_proxy: str) -> bool:
    """Whether NO_PROXY (a comma list of names, suffixes, IPs, CIDRs, ``*``) covers host."""
    host = host.lower().strip("[]")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if entry.startswith("[") and "]:" in entry:  # [v6]:port
            name, _, entry_port = entry.partition("]:")
        elif entry.count(":") == 1:  # name:port or v4:port
            name, _, entry_port = entry.partition(":")
        else:  # a name, or a bare IPv6 address
            name, entry_port = entry, ""
        if entry_port and entry_port != str(port):
            continue
        name = name.strip("[]").lstrip(".")
        if address is not None:
            try:
                if address in ipaddress.ip_network(name, strict=False):
                    return True
            except ValueError:
                pass
        elif host == name or host.endswith("." + name):
            return True
    return False


def environment_proxy(
    scheme: str, host: str, port: int, environ: Mapping[str, str] | None = None
) -> Proxy | None:
    """The proxy the environment names for a URL, as curl and urllib read it.

    ``https_proxy``/``HTTPS_PROXY`` for https URLs, ``http_proxy`` (lower case only, as
    curl: a CGI program gets ``HTTP_PROXY`` from a request header, httpoxy,
    CVE-2016-5385) for http URLs, and ``no_proxy``/``NO_PROXY`` for exceptions. Lower
    case wins.
    """
    env = os.environ if environ is None else environ
    no_proxy = env.get("no_proxy", env.get("NO_PROXY", ""))
    if no_proxy and _bypassed(host, port, no_proxy):
        return None
    if scheme == "https":
        value = env.get("https_proxy") or env.get("HTTPS_PROXY", "")
    else:
        value = env.get("http_proxy", "")
    if not value:
        return None
    return proxy_from_url(value)


def proxy_from_url(value: str) -> Proxy:
    """A proxy given as a URL, ``http://user:pass@host:port`` (no scheme: ``http``)."""
    if "://" not in value:
        value = "http://" + value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidParameterError(f"unsupported proxy {value!r}")
    try:
        proxy_port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise InvalidParameterError(f"invalid proxy port in {value!r}") from exc
    proxy = parse_proxy(
        f"{parts.scheme}://{parts.hostname}",
        proxy_port,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )
    assert proxy is not None  # a host and a port were given
    return proxy
