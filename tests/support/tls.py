"""TLS test servers and helpers: Python's stdlib ``ssl`` on 127.0.0.1, certificates from trustme.

The servers never use pollhttp's TLS code, so a handshake that succeeds is checked by an
independent implementation. `TLSServer` plays one script per connection, like
`ScriptedServer`, but its ``Read()``/``Send()`` steps go through TLS (an ``ssl.SSLObject``
over memory BIOs on a plain socket, so the test controls exactly which bytes reach the
wire: a close_notify, or a TCP close without one).

Steps: the step language of `tests.support.servers` (``Read``, ``Send``, ``Pause`` and
``Wait``, re-exported here), plus the TLS server's own (see each class): ``Echo``,
``CloseNotify``, ``Cut`` and, for a server without TLS (``context=None``), ``ReadRaw``.

Also here: helpers that turn trustme objects into pollhttp's `X509Certificate` and
`CryptoKey`, an independent SPKI pin, CRLs built with cryptography, a probe for TLS 1.1
support, and `SocketStreamPeer`, a small `StreamPeer` over a non-blocking socket for
``StreamPeerTLS.accept_stream``.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import os
import socket
import ssl
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from pollhttp import CryptoKey, Error, NetworkError, StreamPeer, X509Certificate
from pollhttp.transport import network_error

from .servers import Pause, Read, Send, Step, ThreadedListener, Wait, unplayable

# The plain servers' steps are re-exported: one step language for both kinds of server.
__all__ = [
    "CloseNotify",
    "Cut",
    "Echo",
    "Pause",
    "Read",
    "ReadRaw",
    "Send",
    "SocketStreamPeer",
    "Step",
    "TLSServer",
    "ThreadResult",
    "Wait",
    "ca_certificate",
    "certificate",
    "chain_certificate",
    "make_crl",
    "private_key",
    "serial_number",
    "server_context",
    "spki_pin",
    "tls11_server_context",
    "tls11_unavailable",
]

T = TypeVar("T")

# -- certificates and keys -------------------------------------------------------------------


def _text(blob: trustme.Blob | bytes | str) -> str:
    if isinstance(blob, trustme.Blob):
        return blob.bytes().decode("ascii")
    return blob.decode("ascii") if isinstance(blob, bytes) else blob


def certificate(*pems: trustme.Blob | bytes | str) -> X509Certificate:
    """A pollhttp `X509Certificate` holding the given PEM certificates, in order."""
    cert = X509Certificate()
    assert cert.load_from_string("".join(_text(pem) for pem in pems)) == Error.OK
    return cert


def ca_certificate(ca: trustme.CA) -> X509Certificate:
    """The CA's own certificate, for ``TLSOptions.client(trusted_chain=...)``."""
    return certificate(ca.cert_pem)


def chain_certificate(leaf: trustme.LeafCert) -> X509Certificate:
    """A leaf's chain (leaf first), for client certificates and server options."""
    return certificate(*leaf.cert_chain_pems)


def private_key(pem: trustme.Blob | bytes | str) -> CryptoKey:
    """A pollhttp `CryptoKey` from a PEM private key."""
    key = CryptoKey()
    assert key.load_from_string(_text(pem)) == Error.OK
    return key


def spki_pin(cert_pem: trustme.Blob | bytes | str) -> str:
    """``"sha256//<base64>"`` of a certificate's SubjectPublicKeyInfo, computed by cryptography."""
    cert = x509.load_pem_x509_certificate(_text(cert_pem).encode("ascii"))
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256//" + base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


def serial_number(cert_pem: trustme.Blob | bytes | str) -> int:
    """The serial number of a PEM certificate."""
    return x509.load_pem_x509_certificate(_text(cert_pem).encode("ascii")).serial_number


def make_crl(ca: trustme.CA, revoked_serials: Iterable[int] = ()) -> str:
    """A PEM CRL issued (signed) by ``ca`` that lists ``revoked_serials``."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
    now = dt.datetime.now(dt.timezone.utc)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - dt.timedelta(hours=1))
        .next_update(now + dt.timedelta(days=1))
    )
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(now - dt.timedelta(hours=1))
            .build()
        )
    crl = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    return crl.public_bytes(serialization.Encoding.PEM).decode("ascii")


# -- server contexts -------------------------------------------------------------------------


def server_context(
    cert_pem: trustme.Blob | bytes | str | None = None,
    key_pem: trustme.Blob | bytes | str | None = None,
    *,
    leaf: trustme.LeafCert | None = None,
    client_ca: trustme.CA | None = None,
) -> ssl.SSLContext:
    """A stdlib server context serving ``leaf`` (or a PEM certificate and key).

    With ``client_ca`` the server requires a client certificate issued by that CA.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if leaf is not None:
        leaf.configure_cert(context)
    else:
        assert cert_pem is not None
        assert key_pem is not None
        fd, name = tempfile.mkstemp(suffix=".pem")
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(_text(cert_pem) + _text(key_pem))
            context.load_cert_chain(name)
        finally:
            os.unlink(name)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        client_ca.configure_trust(context)
    return context


def _legacy_versions(context: ssl.SSLContext, *, server: bool) -> None:
    """Limit ``context`` to TLS 1.1 (ssl warns that TLSv1_1 is deprecated: hence the filter)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1 if server else ssl.TLSVersion.TLSv1_1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")


def tls11_server_context(leaf: trustme.LeafCert) -> ssl.SSLContext:
    """A server context that speaks nothing newer than TLS 1.1."""
    context = server_context(leaf=leaf)
    _legacy_versions(context, server=True)
    return context


def tls11_unavailable(leaf: trustme.LeafCert) -> str | None:
    """Why this OpenSSL cannot do a TLS 1.1 handshake, or None when it can.

    Runs a stdlib client (TLS 1.1 only) against `tls11_server_context` in memory, so the
    answer is deterministic and needs no sockets.
    """
    try:
        server = tls11_server_context(leaf)
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client.check_hostname = False
        client.verify_mode = ssl.CERT_NONE
        _legacy_versions(client, server=False)
    except (ssl.SSLError, ValueError) as exc:
        return f"cannot configure TLS 1.1: {exc}"
    return _memory_handshake(client, server)


def _memory_handshake(
    client_context: ssl.SSLContext, server_context_: ssl.SSLContext
) -> str | None:
    bios = [ssl.MemoryBIO() for _ in range(4)]
    c_in, c_out, s_in, s_out = bios
    ends = [
        client_context.wrap_bio(c_in, c_out, server_side=False),
        server_context_.wrap_bio(s_in, s_out, server_side=True),
    ]
    done = [False, False]
    for _round in range(20):
        for i, end in enumerate(ends):
            if done[i]:
                continue
            try:
                end.do_handshake()
                done[i] = True
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as exc:
                return f"TLS 1.1 handshake fails locally: {exc}"
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done):
            version = ends[0].version()
            return None if version == "TLSv1.1" else f"negotiated {version}, not TLS 1.1"
    return "TLS 1.1 handshake did not finish"


# -- the scripted TLS server -------------------------------------------------------------------


@dataclass
class Echo(Step):
    """Send back everything received through TLS until the peer ends the session."""


@dataclass
class CloseNotify(Step):
    """Send close_notify and FIN, then wait for the client to close its end."""


@dataclass
class Cut(Step):
    """Send FIN without close_notify (TLS truncation), then wait for the client to close."""


@dataclass
class ReadRaw(Step):
    """Without TLS: read whatever the client sent (its ClientHello), at least one byte."""


class _Stopped(Exception):
    pass


class _Connection:
    """One accepted socket; TLS runs on an SSLObject over memory BIOs."""

    def __init__(self, sock: socket.socket, stop: threading.Event) -> None:
        self.sock = sock
        self.stop = stop
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls: ssl.SSLObject | None = None
        self.pending = bytearray()  # decrypted bytes read past the last request

    # raw bytes
    def recv_raw(self) -> bytes:
        while not self.stop.is_set():
            try:
                return self.sock.recv(65536)
            except TimeoutError:
                continue
        raise _Stopped

    def send_raw(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self.stop.is_set():
                raise _Stopped
            try:
                view = view[self.sock.send(view) :]
            except TimeoutError:
                continue

    def drain_until_eof(self) -> None:
        """Wait for the client to close (reading and dropping what it sends)."""
        while True:
            try:
                if not self.recv_raw():
                    return
            except OSError:
                return

    # TLS
    def _flush(self) -> None:
        data = self.outgoing.read()
        if data:
            self.send_raw(data)

    def _run(self, operation: Callable[[], object]) -> object:
        while True:
            try:
                result = operation()
            except ssl.SSLWantReadError:
                self._flush()
                data = self.recv_raw()
                if data:
                    self.incoming.write(data)
                else:
                    self.incoming.write_eof()
                continue
            except ssl.SSLError:
                self._flush()  # an alert for the client
                raise
            self._flush()
            return result

    def handshake(self, context: ssl.SSLContext) -> None:
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self._run(self.tls.do_handshake)

    def recv(self, size: int = 65536) -> bytes:
        """Decrypted bytes; b"" after close_notify. SSLEOFError on a cut."""
        assert self.tls is not None
        tls = self.tls
        try:
            return self._run(lambda: tls.read(size))  # type: ignore[return-value]
        except ssl.SSLZeroReturnError:
            return b""

    def send(self, data: bytes) -> None:
        assert self.tls is not None
        view = memoryview(data)
        while view:
            written = self.tls.write(view[:65536])
            view = view[written:]
            self._flush()

    def close_notify(self) -> None:
        assert self.tls is not None
        # The client's close_notify has not come yet: ours is in the BIO all the same.
        with contextlib.suppress(ssl.SSLWantReadError):
            self.tls.unwrap()
        self._flush()

    def read_request(self) -> bytes | None:
        pending = self.pending
        while b"\r\n\r\n" not in pending:
            data = self.recv()
            if not data:
                return None
            pending += data
        end = pending.index(b"\r\n\r\n") + 4
        length = 0
        for line in bytes(pending[:end]).split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(pending) < end + length:
            data = self.recv()
            if not data:
                break
            pending += data
        request = bytes(pending[: end + length])
        del pending[: end + length]
        return request


class TLSServer(ThreadedListener):
    """A threaded server on 127.0.0.1 that plays ``scripts[i]`` on the i-th connection.

    With a ``context`` every connection starts with a server-side TLS handshake (stdlib
    ``ssl``); a failed handshake is recorded in ``handshake_errors`` and ends the
    connection. Without one the connection stays raw (for handshake-cut tests).

    Recorded: ``connections``, ``requests`` (decrypted), ``server_names`` (what the SNI
    callback saw, None when the client sent no SNI), ``peer_certs`` (the client
    certificate, as ``getpeercert()``), ``handshake_errors`` and ``endings`` (how each
    session ended when the script waited for the client: ``"close_notify"``, ``"eof"``
    for a close without close_notify, or ``"error: ..."``).
    """

    def __init__(
        self, scripts: Sequence[Sequence[Step]], context: ssl.SSLContext | None = None
    ) -> None:
        super().__init__()
        self.scripts = scripts
        self.context = context
        self.requests: list[bytes] = []
        self.server_names: list[str | None] = []
        self.peer_certs: list[dict[str, object]] = []
        self.handshake_errors: list[str] = []
        self.endings: list[str] = []
        self.handshakes = 0
        if context is not None:
            context.sni_callback = self._on_sni

    def _on_sni(self, _sslobj: object, name: str | None, _context: ssl.SSLContext) -> None:
        self.server_names.append(name)

    def handle(self, conn: socket.socket, index: int) -> None:
        self._serve(conn, self.scripts[min(index, len(self.scripts) - 1)])

    def _serve(self, sock: socket.socket, script: Sequence[Step]) -> None:
        sock.settimeout(0.02)
        conn = _Connection(sock, self._stop)
        try:
            if self.context is not None:
                try:
                    conn.handshake(self.context)
                except ssl.SSLError as exc:
                    self.handshake_errors.append(str(exc))
                    return
                assert conn.tls is not None
                self.handshakes += 1
                peer = conn.tls.getpeercert()
                if peer:
                    self.peer_certs.append(peer)  # type: ignore[arg-type]
            self._play(conn, script)
        except _Stopped:
            pass
        except OSError as exc:
            self.endings.append(f"error: {exc}")
        finally:
            sock.close()

    def _play(self, conn: _Connection, script: Sequence[Step]) -> None:
        for step in script:
            if isinstance(step, Read):
                request = conn.read_request()
                if request is None:
                    self.endings.append("close_notify")
                    return
                self.requests.append(request)
            elif isinstance(step, Send):
                conn.send(step.data)
            elif isinstance(step, Pause):
                self._stop.wait(step.seconds)
            elif isinstance(step, Wait):
                while not step.event.wait(0.01):
                    if self._stop.is_set():
                        raise _Stopped
            elif isinstance(step, Echo):
                self._wait_for_client(conn, echo=True)
                return
            elif isinstance(step, CloseNotify):
                conn.close_notify()
                conn.sock.shutdown(socket.SHUT_WR)
                conn.drain_until_eof()
                return
            elif isinstance(step, Cut):
                conn.sock.shutdown(socket.SHUT_WR)
                conn.drain_until_eof()
                return
            elif isinstance(step, ReadRaw):
                if not conn.recv_raw():
                    return
            else:
                raise unplayable(self, step)
        if self.context is None:
            conn.drain_until_eof()
        else:
            self._wait_for_client(conn, echo=False)

    def _wait_for_client(self, conn: _Connection, *, echo: bool) -> None:
        """Read until the client ends the session; record how it did."""
        try:
            while True:
                data = conn.recv()
                if not data:
                    self.endings.append("close_notify")
                    # Answer it, as a polite server does (the client may be gone already).
                    with contextlib.suppress(OSError):
                        conn.close_notify()
                    return
                if echo:
                    conn.send(data)
        except ssl.SSLEOFError:
            self.endings.append("eof")
        except ssl.SSLError as exc:
            self.endings.append(f"error: {exc}")


# -- a StreamPeer over a plain socket, for StreamPeerTLS.accept_stream --------------------------


class SocketStreamPeer(StreamPeer):
    """A socket as a `StreamPeer` (StreamPeerTCP cannot adopt an accepted one).

    Non-blocking by default. With ``blocking=True`` every read waits (up to ``timeout``)
    for data, so a `StreamPeerTLS` over it finishes its handshake inside one ``poll()``:
    tests use that to make "the handshake is decided at once" deterministic.
    """

    def __init__(
        self, sock: socket.socket, *, blocking: bool = False, timeout: float = 5.0
    ) -> None:
        if blocking:
            sock.settimeout(timeout)
        else:
            sock.setblocking(False)
        self._sock: socket.socket | None = sock
        self.closed = False

    def get_partial_data(self, nbytes: int) -> tuple[Error, bytes]:
        if self._sock is None:
            return Error.ERR_FILE_EOF, b""
        try:
            data = self._sock.recv(nbytes)
        except (BlockingIOError, InterruptedError):
            return Error.OK, b""
        except OSError as exc:
            self._last_error = network_error(exc, "receive failed")
            return Error.ERR_CONNECTION_ERROR, b""
        if not data:
            self._last_error = NetworkError("connection closed by the peer")
            return Error.ERR_FILE_EOF, b""
        return Error.OK, data

    def put_partial_data(self, data: bytes | memoryview) -> tuple[Error, int]:
        if self._sock is None:
            return Error.FAILED, 0
        try:
            return Error.OK, self._sock.send(data)
        except (BlockingIOError, InterruptedError):
            return Error.OK, 0
        except OSError as exc:
            self._last_error = network_error(exc, "send failed")
            return Error.ERR_CONNECTION_ERROR, 0

    def fileno(self) -> int:
        return self._sock.fileno() if self._sock is not None else -1

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.closed = True


class ThreadResult(Generic[T]):
    """Run ``target`` on a thread; `result()` joins (bounded) and re-raises its exception."""

    def __init__(self, target: Callable[[], T]) -> None:
        self._target = target
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._target()
        except BaseException as exc:  # handed to the test thread
            self._error = exc

    def result(self, timeout: float = 5.0) -> T:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "helper thread did not finish"
        if self._error is not None:
            raise self._error
        return cast(T, self._value)  # the thread finished without raising: it set the value
