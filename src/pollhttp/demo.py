"""A small local HTTP/1.1 server and a throwaway CA, so that examples and the demo run offline.

`DemoServer` serves plain HTTP, or HTTPS with a certificate from a `DemoCA` made on the spot
with the standard library alone (ECDSA P-256). Its resources:

| path | response |
|---|---|
| ``/`` | a short text |
| ``/chunked`` | a chunked body with a trailer (``X-Checksum: demo``) |
| ``/large`` | 1 MiB, with ``ETag`` and ``Range: bytes=N-`` support (for resumed downloads) |
| ``/slow?size=N&chunks=C&delay=S`` | N bytes (default 256 KiB) in C pieces, S seconds apart |
| ``/gzip`` | a gzip-encoded text (``Content-Encoding: gzip``) |
| ``/json`` | a small JSON document |
| ``/echo`` | any method: the request as JSON (method, path, headers, body) |
| ``/redirect?to=PATH`` | 302 to PATH (default ``/``); ``/loop`` redirects to itself |
| ``/status/NNN`` | that status code, with a short text |

It also plays a forward proxy, for trying the proxy settings offline: a request with an
absolute URL (``GET http://any.host/json``) is answered as if it were for itself, and
``CONNECT 127.0.0.1:PORT`` (loopback targets only) opens a tunnel.

Connections are persistent. It is for trying pollhttp and for examples, not for production:
the CA's signing code is simple, not constant-time, and its keys live in memory.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import ipaddress
import json
import os
import secrets
import selectors
import socket
import ssl
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .transport import X509Certificate

__all__ = ["DemoCA", "DemoCertificate", "DemoServer"]

_HELLO = b"Hello from the pollhttp demo server!\n"
_LARGE = bytes(range(256)) * 4096  # 1 MiB
_LARGE_ETAG = '"pollhttp-demo-large"'
_GZIP_TEXT = b"pollhttp decoded this gzip body.\n" * 64
_JSON = {"hello": "pollhttp", "poll": True, "frames": [1, 2, 3]}
_MAX_UPLOAD = 16 * 1024 * 1024

# -- a throwaway certificate authority, standard library only ---------------------------------
#
# ECDSA over NIST P-256 (FIPS 186-4 D.1.2.3) with SHA-256, and just enough DER (X.690) to
# write X.509 v3 certificates (RFC 5280 §4), v2 CRLs (RFC 5280 §5) and SEC1 private keys
# (RFC 5915). Affine arithmetic with Python integers: a few milliseconds per signature.

_P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
_A = _P - 3
_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_G = (
    0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
)

_Point = tuple[int, int] | None


def _add(p: _Point, q: _Point) -> _Point:
    if p is None:
        return q
    if q is None:
        return p
    (x1, y1), (x2, y2) = p, q
    if x1 == x2:
        if (y1 + y2) % _P == 0:
            return None
        slope = (3 * x1 * x1 + _A) * pow(2 * y1, -1, _P) % _P
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, _P) % _P
    x3 = (slope * slope - x1 - x2) % _P
    return x3, (slope * (x1 - x3) - y1) % _P


def _multiply(k: int, point: _Point = _G) -> _Point:
    result: _Point = None
    while k:
        if k & 1:
            result = _add(result, point)
        point = _add(point, point)
        k >>= 1
    return result


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(octets))) + octets + content


def _seq(*items: bytes) -> bytes:
    return _der(0x30, b"".join(items))


def _integer(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _oid(dotted: str) -> bytes:
    first, second, *rest = (int(part) for part in dotted.split("."))
    out = bytearray((40 * first + second,))
    for arc in rest:
        chunk = [arc & 0x7F]
        value = arc >> 7
        while value:
            chunk.append(0x80 | (value & 0x7F))
            value >>= 7
        out += bytes(reversed(chunk))
    return _der(0x06, bytes(out))


def _bits(data: bytes, unused: int = 0) -> bytes:
    return _der(0x03, bytes((unused,)) + data)


def _octets(data: bytes) -> bytes:
    return _der(0x04, data)


def _time(moment: dt.datetime) -> bytes:
    if moment.year < 2050:
        return _der(0x17, moment.strftime("%y%m%d%H%M%SZ").encode())
    return _der(0x18, moment.strftime("%Y%m%d%H%M%SZ").encode())


def _explicit(number: int, content: bytes) -> bytes:
    return _der(0xA0 | number, content)


def _name(common_name: str) -> bytes:
    return _seq(_der(0x31, _seq(_oid("2.5.4.3"), _der(0x0C, common_name.encode()))))


def _extension(oid: str, value: bytes, *, critical: bool = False) -> bytes:
    return _seq(_oid(oid), _der(0x01, b"\xff") if critical else b"", _octets(value))


def _pem(label: str, der: bytes) -> str:
    text = base64.b64encode(der).decode("ascii")
    lines = "\n".join(text[i : i + 64] for i in range(0, len(text), 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n"


_ECDSA_SHA256 = _seq(_oid("1.2.840.10045.4.3.2"))
_P256 = _oid("1.2.840.10045.3.1.7")


class _Key:
    """An ECDSA P-256 key pair."""

    def __init__(self) -> None:
        self.secret = secrets.randbelow(_N - 1) + 1
        point = _multiply(self.secret)
        assert point is not None
        self.public = b"\x04" + point[0].to_bytes(32, "big") + point[1].to_bytes(32, "big")
        self.key_id = hashlib.sha1(self.public).digest()  # RFC 5280 §4.2.1.2 method (1)

    def spki(self) -> bytes:
        return _seq(_seq(_oid("1.2.840.10045.2.1"), _P256), _bits(self.public))

    def sign(self, data: bytes) -> bytes:
        digest = int.from_bytes(hashlib.sha256(data).digest(), "big")
        while True:
            nonce = secrets.randbelow(_N - 1) + 1
            point = _multiply(nonce)
            assert point is not None
            r = point[0] % _N
            s = pow(nonce, -1, _N) * (digest + r * self.secret) % _N
            if r and s:
                return _seq(_integer(r), _integer(s))

    def pem(self) -> str:
        der = _seq(
            _integer(1),
            _octets(self.secret.to_bytes(32, "big")),
            _explicit(0, _P256),
            _explicit(1, _bits(self.public)),
        )
        return _pem("EC PRIVATE KEY", der)


def _signed(tbs: bytes, key: _Key) -> bytes:
    return _seq(tbs, _ECDSA_SHA256, _bits(key.sign(tbs)))


@dataclass(frozen=True)
class DemoCertificate:
    """A certificate issued by a `DemoCA`, with its private key (both PEM)."""

    cert_pem: str
    key_pem: str
    serial: int


class DemoCA:
    """A throwaway certificate authority, made with the standard library alone.

    ``DemoCA()`` makes a new CA key and self-signed certificate (``cert_pem``); `issue`
    signs server or client certificates, and `crl_pem` writes a CRL. The keys exist only
    in memory. For examples and tests, never for real trust.
    """

    def __init__(self, name: str = "pollhttp demo CA") -> None:
        self.name = name
        self._key = _Key()
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        tbs = _seq(
            _explicit(0, _integer(2)),
            _integer(secrets.randbits(120) + 1),
            _ECDSA_SHA256,
            _name(name),
            _seq(_time(now - dt.timedelta(hours=1)), _time(now + dt.timedelta(days=2))),
            _name(name),
            self._key.spki(),
            _explicit(
                3,
                _seq(
                    _extension("2.5.29.19", _seq(_der(0x01, b"\xff")), critical=True),
                    _extension("2.5.29.15", _bits(b"\x06", 1), critical=True),
                    _extension("2.5.29.14", _octets(self._key.key_id)),
                ),
            ),
        )
        #: The CA certificate (PEM): what clients trust.
        self.cert_pem = _pem("CERTIFICATE", _signed(tbs, self._key))

    def issue(
        self,
        *names: str,
        client: bool = False,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
    ) -> DemoCertificate:
        """A certificate for ``names`` (host names or IP addresses; the first is the CN).

        Server certificates by default (``localhost``, ``127.0.0.1`` and ``::1`` when no
        name is given); ``client=True`` for mutual TLS. Valid from an hour ago for a day
        unless ``not_before``/``not_after`` say otherwise.
        """
        names = names or (() if client else ("localhost", "127.0.0.1", "::1"))
        key = _Key()
        serial = secrets.randbits(120) + 1
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        start = not_before or now - dt.timedelta(hours=1)
        end = not_after or now + dt.timedelta(days=1)
        alt_names = []
        for name in names:
            try:
                alt_names.append(_der(0x87, ipaddress.ip_address(name).packed))
            except ValueError:
                alt_names.append(_der(0x82, name.encode("idna")))
        usage = "1.3.6.1.5.5.7.3.2" if client else "1.3.6.1.5.5.7.3.1"
        extensions = [
            _extension("2.5.29.19", _seq(), critical=True),
            _extension("2.5.29.15", _bits(b"\x80", 7), critical=True),
            _extension("2.5.29.37", _seq(_oid(usage))),
            _extension("2.5.29.14", _octets(key.key_id)),
            _extension("2.5.29.35", _seq(_der(0x80, self._key.key_id))),
        ]
        if alt_names:
            extensions.append(_extension("2.5.29.17", _seq(*alt_names)))
        tbs = _seq(
            _explicit(0, _integer(2)),
            _integer(serial),
            _ECDSA_SHA256,
            _name(self.name),
            _seq(_time(start), _time(end)),
            _name(names[0] if names else "pollhttp demo client"),
            key.spki(),
            _explicit(3, _seq(*extensions)),
        )
        return DemoCertificate(_pem("CERTIFICATE", _signed(tbs, self._key)), key.pem(), serial)

    def crl_pem(self, revoked: tuple[int, ...] | list[int] = ()) -> str:
        """A CRL (PEM) signed by this CA that lists the ``revoked`` serial numbers."""
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        entries = b"".join(
            _seq(_integer(serial), _time(now - dt.timedelta(minutes=5))) for serial in revoked
        )
        tbs = _seq(
            _integer(1),
            _ECDSA_SHA256,
            _name(self.name),
            _time(now - dt.timedelta(hours=1)),
            _time(now + dt.timedelta(days=1)),
            _seq(entries) if revoked else b"",
            _explicit(
                0,
                _seq(
                    _extension("2.5.29.35", _seq(_der(0x80, self._key.key_id))),
                    _extension("2.5.29.20", _integer(1)),
                ),
            ),
        )
        return _pem("X509 CRL", _signed(tbs, self._key))


# -- the server ---------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # persistent connections
    disable_nagle_algorithm = True  # chunks are written one by one
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass  # the demo prints its own trace

    def setup(self) -> None:
        super().setup()
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()  # here, on the connection's thread, not in accept()
            self.request.settimeout(None)

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, _MAX_UPLOAD)) if length > 0 else b""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        path = url.path
        if path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if self.command == "HEAD":
                return
            for i in range(5):
                piece = f"chunk {i}\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\nX-Checksum: demo\r\n\r\n")
        elif path == "/large":
            self._large()
        elif path == "/slow":
            self._slow(query)
        elif path == "/gzip":
            body = gzip.compress(_GZIP_TEXT, mtime=0)
            self._send(200, body, "text/plain", {"Content-Encoding": "gzip"})
        elif path == "/json":
            self._send(200, json.dumps(_JSON).encode(), "application/json")
        elif path == "/echo":
            self._echo()
        elif path in ("/redirect", "/loop"):
            target = "/loop" if path == "/loop" else query.get("to", "/")
            self._send(302, b"", "text/plain", {"Location": target})
        elif path.startswith("/status/") and path[8:].isdigit() and 200 <= int(path[8:]) < 600:
            code = int(path[8:])
            self._send(code, f"status {code}\n".encode(), "text/plain")
        elif path == "/":
            self._send(200, _HELLO, "application/octet-stream")
        else:
            self._send(404, b"not found\n", "text/plain")

    do_HEAD = do_GET

    def do_POST(self) -> None:
        body = self._read_body()
        if urlsplit(self.path).path == "/echo":
            self._echo(body)
        else:
            self._send(404, b"not found\n", "text/plain")

    do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_POST

    def do_CONNECT(self) -> None:
        """A tunnel to a loopback port, so the demo can stand in for an HTTPS proxy."""
        host, _, port = self.path.rpartition(":")
        host = "127.0.0.1" if host == "localhost" else host.strip("[]")
        try:
            allowed = ipaddress.ip_address(host).is_loopback
            upstream = socket.create_connection((host, int(port)), timeout=5) if allowed else None
        except (ValueError, OSError):
            allowed, upstream = False, None
        if not allowed or upstream is None:
            if upstream is not None:
                upstream.close()
            self._send(403, b"only loopback targets\n", "text/plain")
            return
        self.send_response(200, "Connection Established")
        self.end_headers()
        self.close_connection = True
        with upstream, selectors.DefaultSelector() as selector:
            upstream.settimeout(None)
            selector.register(self.connection, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, self.connection)
            while not self.server.stopping.is_set():
                for key, _ in selector.select(0.1):
                    source = key.fileobj
                    assert isinstance(source, socket.socket)
                    try:
                        data = source.recv(65536)
                        if data:
                            key.data.sendall(data)
                    except OSError:
                        data = b""
                    if not data:
                        return

    def _echo(self, body: bytes = b"") -> None:
        document = {
            "method": self.command,
            "path": self.path,
            "headers": [f"{name}: {value}" for name, value in self.headers.items()],
            "body": body.decode("utf-8", "replace"),
        }
        self._send(200, json.dumps(document).encode(), "application/json")

    def _large(self) -> None:
        ranged = self.headers.get("Range", "")
        start = 0
        if ranged.startswith("bytes=") and ranged.endswith("-") and ranged[6:-1].isdigit():
            if_range = self.headers.get("If-Range")
            if if_range is None or if_range == _LARGE_ETAG:
                start = int(ranged[6:-1])
        if start >= len(_LARGE) > 0 and ranged:
            self._send(416, b"", "text/plain", {"Content-Range": f"bytes */{len(_LARGE)}"})
        elif start:
            extra = {
                "Content-Range": f"bytes {start}-{len(_LARGE) - 1}/{len(_LARGE)}",
                "ETag": _LARGE_ETAG,
            }
            self._send(206, _LARGE[start:], "application/octet-stream", extra)
        else:
            self._send(200, _LARGE, "application/octet-stream", {"ETag": _LARGE_ETAG})

    def _slow(self, query: dict[str, str]) -> None:
        try:
            size = min(int(query.get("size", 256 * 1024)), 64 * 1024 * 1024)
            chunks = max(1, min(int(query.get("chunks", 16)), 1000))
            delay = min(float(query.get("delay", 0.05)), 5.0)
        except ValueError:
            self._send(400, b"bad query\n", "text/plain")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if self.command == "HEAD":
            return
        piece = -(-size // chunks)
        sent = 0
        while sent < size:
            if sent and self.server.stopping.wait(delay):
                return
            count = min(piece, size - sent)
            self.wfile.write(_LARGE[:count] if count <= len(_LARGE) else bytes(count))
            sent += count


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stopping = threading.Event()
        if context is not None:
            self.socket = context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (or failed a handshake) is not the demo's concern

    def get_request(self) -> tuple[socket.socket, Any]:
        return self.socket.accept()


class DemoServer:
    """A threaded server on 127.0.0.1 and a free port; use as a context manager.

    ``DemoServer()`` speaks plain HTTP. ``DemoServer(https=True)`` serves TLS with a
    certificate for ``localhost``, ``127.0.0.1`` and ``::1`` issued by ``server.ca``, a
    fresh `DemoCA` (or the one given); trust it with
    ``TLSOptions.client(trusted_chain=server.trusted_chain())``. With
    ``client_certificates=True`` it also requires a client certificate issued by that CA
    (see `DemoCA.issue`). ``url`` is the base URL, such as ``"https://127.0.0.1:41234"``.
    """

    def __init__(
        self,
        *,
        https: bool = False,
        client_certificates: bool = False,
        ca: DemoCA | None = None,
        certificate: DemoCertificate | None = None,
    ) -> None:
        self.ca: DemoCA | None = None
        self.certificate: DemoCertificate | None = None
        context = None
        if https or client_certificates or certificate is not None:
            self.ca = ca or DemoCA()
            self.certificate = certificate or self.ca.issue()
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            fd, name = tempfile.mkstemp(suffix=".pem")  # ssl loads keys only from files
            try:
                with os.fdopen(fd, "w", encoding="ascii") as handle:
                    handle.write(self.certificate.cert_pem + self.certificate.key_pem)
                context.load_cert_chain(name)
            finally:
                os.unlink(name)
            if client_certificates:
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(cadata=self.ca.cert_pem)
        self._server = _Server(context)
        self.port = int(self._server.server_address[1])
        scheme = "https" if context is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def trusted_chain(self) -> X509Certificate:
        """The CA certificate as a pollhttp `X509Certificate`, for ``TLSOptions.client()``."""
        if self.ca is None:
            raise ValueError("a plain-HTTP DemoServer has no CA")
        chain = X509Certificate()
        chain.load_from_string(self.ca.cert_pem)
        return chain

    def __enter__(self) -> DemoServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
