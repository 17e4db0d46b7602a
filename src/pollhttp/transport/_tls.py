"""TLS for any StreamPeer: TLSOptions, X509Certificate, CryptoKey and StreamPeerTLS.

The handshake and the records run on ``ssl.MemoryBIO`` and ``SSLObject``, so TLS works over
any stream (a TCP socket, a proxy tunnel, a test script) and never blocks: ``poll()`` drives
the handshake one step at a time.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import ssl
import tempfile
from collections.abc import Iterable, Iterator
from enum import IntEnum
from pathlib import Path
from typing import Any

from .._checks import check_bytes, check_instance, check_items, check_seconds, check_text
from .._enums import Error
from .._errors import (
    CertificateVerifyError,
    InvalidParameterError,
    InvalidTypeError,
    NetworkError,
    PinMismatchError,
    PollHTTPError,
    TLSHandshakeError,
)
from ._base import StreamPeer, read_size

__all__ = ["CryptoKey", "StreamPeerTLS", "TLSOptions", "X509Certificate"]

_PEM_CERT = re.compile(
    r"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.DOTALL
)
_PEM_KEY = re.compile(
    r"-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY|PUBLIC KEY)-----\r?\n.+?\r?\n"
    r"-----END \1-----",
    re.DOTALL,
)
_PEM_CRL = re.compile(r"-----BEGIN X509 CRL-----\r?\n.+?\r?\n-----END X509 CRL-----", re.DOTALL)
# Ciphertext waiting for the underlying stream before put_partial_data takes more
# plaintext: enough for a few full records, bounded so a slow peer cannot grow it.
_MAX_PENDING_OUT = 256 * 1024
_READ_SIZE = 64 * 1024
# X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH in OpenSSL's x509_vfy.h.
_NAME_MISMATCH = (62, 64)


def _file_path(path: object) -> Path:
    """A file argument as a Path.

    A name no file can have (a NUL, or a lone surrogate the file system cannot encode)
    is an OSError, as a missing file is: ``ERR_FILE_CANT_OPEN`` or ``ERR_FILE_CANT_WRITE``.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidTypeError(f"path must be a str or os.PathLike, not {type(path).__name__}")
    name = os.fspath(path)
    if isinstance(name, bytes):  # a PathLike may give bytes
        raise InvalidTypeError("path must name a file as text, not bytes")
    if "\0" in name:
        raise FileNotFoundError(f"no file name holds a NUL: {path!r}")
    try:
        os.fsencode(name)
    except UnicodeEncodeError as exc:
        raise FileNotFoundError(f"no file name holds {path!r}: {exc.reason}") from exc
    return Path(name)


def _read_text(path: str | os.PathLike[str]) -> str:
    return _file_path(path).read_text(encoding="ascii")


def _der_children(der: bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """Walk DER elements in ``der[start:end]``: (tag, element start, content start, end)."""
    pos = start
    while pos < end:
        tag, size = der[pos], der[pos + 1]
        content = pos + 2
        if size & 0x80:
            count = size & 0x7F
            size = int.from_bytes(der[content : content + count], "big")
            content += count
        yield tag, pos, content, content + size
        pos = content + size


def spki_sha256(certificate_der: bytes) -> bytes:
    """SHA-256 of a certificate's SubjectPublicKeyInfo, the value HTTP key pins name.

    Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serial,
    signature, issuer, validity, subject, subjectPublicKeyInfo, ... }, ... } (RFC 5280 §4.1).
    """
    try:
        (_, _, cert_start, cert_end), *_ = _der_children(certificate_der, 0, len(certificate_der))
        (_, _, tbs_start, tbs_end), *_ = _der_children(certificate_der, cert_start, cert_end)
        fields = [f for f in _der_children(certificate_der, tbs_start, tbs_end) if f[0] != 0xA0]
        _, spki_start, _, spki_end = fields[5]
    except (IndexError, ValueError) as exc:
        raise InvalidParameterError("not a DER X.509 certificate") from exc
    return hashlib.sha256(certificate_der[spki_start:spki_end]).digest()


class X509Certificate:
    """Godot's ``X509Certificate``: one certificate or a chain of several, in PEM."""

    def __init__(self) -> None:
        self._pems: list[str] = []

    def load_from_string(self, string: str) -> Error:
        """Load every PEM certificate in ``string``; ``ERR_PARSE_ERROR`` if there is none."""
        pems = _PEM_CERT.findall(check_text("string", string))
        if not pems:
            return Error.ERR_PARSE_ERROR
        try:
            der = b"".join(ssl.PEM_cert_to_DER_cert(pem) for pem in pems)
            # Parsed by OpenSSL now: a PEM block of valid base64 that holds no certificate
            # fails here, not in a handshake (or get_spki_pin()) much later.
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=der)
        except (ValueError, ssl.SSLError):
            return Error.ERR_PARSE_ERROR
        self._pems = pems
        return Error.OK

    def load(self, path: str | os.PathLike[str]) -> Error:
        """Load certificates from a PEM file."""
        try:
            text = _read_text(path)
        except OSError:
            return Error.ERR_FILE_CANT_OPEN
        except UnicodeError:
            return Error.ERR_PARSE_ERROR
        return self.load_from_string(text)

    def save_to_string(self) -> str:
        """The certificates as PEM text."""
        return "".join(pem + "\n" for pem in self._pems)

    def save(self, path: str | os.PathLike[str]) -> Error:
        """Write the certificates to a PEM file."""
        try:
            _file_path(path).write_text(self.save_to_string(), encoding="ascii")
        except OSError:
            return Error.ERR_FILE_CANT_WRITE
        return Error.OK

    def get_spki_pin(self) -> str:
        """The first certificate's public-key pin, ``"sha256//<base64>"`` (as curl writes it)."""
        if not self._pems:
            raise InvalidParameterError("no certificate loaded")
        digest = spki_sha256(ssl.PEM_cert_to_DER_cert(self._pems[0]))
        return "sha256//" + base64.b64encode(digest).decode()

    def __len__(self) -> int:
        return len(self._pems)


class CryptoKey:
    """Godot's ``CryptoKey``: a private (or public) key in PEM."""

    def __init__(self) -> None:
        self._pem = ""
        self._public_only = False

    def load_from_string(self, string_key: str, public_only: bool = False) -> Error:
        """Load a PEM key; ``ERR_PARSE_ERROR`` if there is none."""
        m = _PEM_KEY.search(check_text("string_key", string_key))
        if m is None or (m[1] == "PUBLIC KEY") != public_only:
            return Error.ERR_PARSE_ERROR
        self._pem, self._public_only = m[0], public_only
        return Error.OK

    def load(self, path: str | os.PathLike[str], public_only: bool = False) -> Error:
        """Load a key from a PEM file."""
        try:
            text = _read_text(path)
        except OSError:
            return Error.ERR_FILE_CANT_OPEN
        except UnicodeError:
            return Error.ERR_PARSE_ERROR
        return self.load_from_string(text, public_only)

    def save_to_string(self, public_only: bool = False) -> str:
        """The key as PEM text (only a key loaded as public can be saved as public)."""
        return self._pem + "\n" if self._pem and public_only == self._public_only else ""

    def save(self, path: str | os.PathLike[str], public_only: bool = False) -> Error:
        """Write the key to a PEM file (readable by the owner only)."""
        text = self.save_to_string(public_only)
        if not text:
            return Error.ERR_INVALID_PARAMETER
        try:
            fd = os.open(_file_path(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            if hasattr(os, "fchmod"):  # also when the file existed with wider permissions
                os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(text)
        except OSError:
            return Error.ERR_FILE_CANT_WRITE
        return Error.OK

    def is_public_only(self) -> bool:
        """True when only the public half was loaded."""
        return self._public_only


@contextlib.contextmanager
def _pem_file(text: str) -> Iterator[str]:
    """A private temporary file holding ``text``: ``ssl`` loads keys and CRLs only from files."""
    fd, name = tempfile.mkstemp(suffix=".pem")  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(text)
        yield name
    finally:
        os.unlink(name)


def _parse_pin(pin: str) -> bytes:
    value = pin.removeprefix("sha256//")
    try:
        digest = base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise InvalidParameterError(f"pin {pin!r} is not base64") from exc
    if len(digest) != 32:
        raise InvalidParameterError(f"pin {pin!r} is not a SHA-256 digest")
    return digest


class TLSOptions:
    """Godot's ``TLSOptions``: how a TLS connection verifies its peer. Immutable.

    Made only by the factories ``client()``, ``client_unsafe()`` and ``server()``. The
    keyword-only extras (pins, CRLs, client certificates) go beyond Godot, which has none.
    """

    _MODE_CLIENT, _MODE_CLIENT_UNSAFE, _MODE_SERVER = range(3)

    def __init__(self, _token: object = None) -> None:
        if _token is not _FACTORY:
            raise TypeError("use TLSOptions.client(), client_unsafe() or server()")
        self._mode = self._MODE_CLIENT
        self._trusted: X509Certificate | None = None
        self._common_name = ""
        self._key: CryptoKey | None = None
        self._certificate: X509Certificate | None = None
        self._pins: tuple[bytes, ...] = ()
        self._crls = ""
        self._context: ssl.SSLContext | None = None

    @classmethod
    def client(
        cls,
        trusted_chain: X509Certificate | None = None,
        common_name_override: str = "",
        *,
        pins: Iterable[str] = (),
        crls: str = "",
        certificate: X509Certificate | None = None,
        key: CryptoKey | None = None,
    ) -> TLSOptions:
        """Verify the server's chain and name (the default for ``https://``).

        ``trusted_chain`` replaces the default CAs (it never adds to them);
        ``common_name_override`` is the name sent as SNI and checked against the certificate.
        Extras: ``pins`` (``"sha256//<base64>"`` SPKI pins; the leaf must match one),
        ``crls`` (PEM CRLs; a revoked leaf fails), ``certificate`` and ``key`` (mutual TLS).
        """
        return cls._make(
            cls._MODE_CLIENT,
            trusted=trusted_chain,
            common_name=common_name_override,
            pins=pins,
            crls=crls,
            certificate=certificate,
            key=key,
        )

    @classmethod
    def client_unsafe(
        cls,
        trusted_chain: X509Certificate | None = None,
        *,
        pins: Iterable[str] = (),
        certificate: X509Certificate | None = None,
        key: CryptoKey | None = None,
    ) -> TLSOptions:
        """No name check and no SNI; without ``trusted_chain`` no verification at all.

        With a ``trusted_chain`` the chain must still verify against it.
        """
        return cls._make(
            cls._MODE_CLIENT_UNSAFE,
            trusted=trusted_chain,
            pins=pins,
            certificate=certificate,
            key=key,
        )

    @classmethod
    def server(cls, key: CryptoKey, certificate: X509Certificate) -> TLSOptions:
        """Serve TLS with ``certificate`` (a chain, leaf first) and its private ``key``."""
        if not isinstance(certificate, X509Certificate) or not isinstance(key, CryptoKey):
            raise InvalidTypeError("server() needs a CryptoKey and an X509Certificate")
        if not len(certificate) or not key.save_to_string():
            raise InvalidParameterError("server() needs a certificate and its private key")
        return cls._make(cls._MODE_SERVER, certificate=certificate, key=key)

    @classmethod
    def _make(
        cls,
        mode: int,
        *,
        trusted: X509Certificate | None = None,
        common_name: str = "",
        pins: Iterable[str] = (),
        crls: str = "",
        certificate: X509Certificate | None = None,
        key: CryptoKey | None = None,
    ) -> TLSOptions:
        # Checked here, where the options are made, not at the handshake much later.
        for name, value in (("trusted_chain", trusted), ("certificate", certificate)):
            if value is None:
                continue
            if not isinstance(value, X509Certificate):
                raise InvalidTypeError(
                    f"{name} must be an X509Certificate (load a PEM file with "
                    f"X509Certificate.load()), not {type(value).__name__}"
                )
            if not len(value):
                raise InvalidParameterError(
                    f"{name} holds no certificate: did its load() return an error?"
                )
        if key is not None:
            if not isinstance(key, CryptoKey):
                raise InvalidTypeError(f"key must be a CryptoKey, not {type(key).__name__}")
            if not key.save_to_string(key.is_public_only()):
                raise InvalidParameterError("key holds no key: did its load() return an error?")
        if (certificate is None) != (key is None):
            raise InvalidParameterError(
                "a client certificate needs its key, and a key its certificate"
            )
        check_text("common_name_override", common_name)
        check_text("crls", crls)
        what = 'a list of "sha256//<base64>" strings'
        pin_list = check_items("pins", pins, what)
        if not all(isinstance(pin, str) for pin in pin_list):
            raise InvalidTypeError(f"pins must be {what}")
        if crls and not _PEM_CRL.search(crls):
            raise InvalidParameterError("crls holds no PEM X509 CRL")
        options = cls(_FACTORY)
        options._mode = mode
        options._trusted = trusted
        options._common_name = common_name
        options._pins = tuple(_parse_pin(pin) for pin in pin_list)
        options._crls = crls
        options._certificate = certificate
        options._key = key
        return options

    def is_server(self) -> bool:
        """True for options made by ``server()``."""
        return self._mode == self._MODE_SERVER

    def is_unsafe_client(self) -> bool:
        """True for options made by ``client_unsafe()``."""
        return self._mode == self._MODE_CLIENT_UNSAFE

    def get_common_name_override(self) -> str:
        """The name checked instead of the host (``client()`` only)."""
        return self._common_name

    def get_trusted_ca_chain(self) -> X509Certificate | None:
        """The CAs that replace the default store, if any."""
        return self._trusted

    def get_private_key(self) -> CryptoKey | None:
        """The key of ``server()`` options or of a client certificate."""
        return self._key

    def get_own_certificate(self) -> X509Certificate | None:
        """The certificate of ``server()`` options or the client certificate."""
        return self._certificate

    def get_pins(self) -> tuple[bytes, ...]:
        """The SPKI SHA-256 digests the server's key must match (empty: no pinning)."""
        return self._pins

    def ssl_context(self) -> ssl.SSLContext:
        """The ``ssl.SSLContext`` for these options, built once and shared."""
        if self._context is None:
            self._context = self._build_context()
        return self._context

    def _build_context(self) -> ssl.SSLContext:
        server = self.is_server()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
        # The class reference: TLS 1.2 and 1.3 only; older versions are insecure.
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        # No TLS compression: CRIME (CVE-2012-4929).
        context.options |= ssl.OP_NO_COMPRESSION
        # No renegotiation: its attacks (CVE-2009-3555) and its DoS cost.
        context.options |= getattr(ssl, "OP_NO_RENEGOTIATION", 0)
        # A cut without close_notify must be visible, so truncation is never success.
        context.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
        if self._certificate is not None and self._key is not None:
            with _pem_file(self._certificate.save_to_string() + self._key.save_to_string()) as name:
                context.load_cert_chain(name)
        if server:
            return context
        # CERT_REQUIRED and hostname checking are PROTOCOL_TLS_CLIENT's defaults; unsafe
        # clients drop the name check, and verification too when no chain is given.
        if self.is_unsafe_client():
            context.check_hostname = False
            if self._trusted is None:
                context.verify_mode = ssl.CERT_NONE
        if self._trusted is not None:
            # A given chain replaces the default store (urllib3 CVE-2019-11324).
            context.load_verify_locations(cadata=self._trusted.save_to_string())
        elif context.verify_mode != ssl.CERT_NONE:
            _load_default_trust(context)
        if self._crls:
            with _pem_file(self._crls) as name:
                context.load_verify_locations(cafile=name)
            # The leaf's CRL must be present and must not list it.
            context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
        return context


_FACTORY = object()


def _load_default_trust(context: ssl.SSLContext) -> None:
    """The system store; ``certifi``'s bundle when the system has none and certifi is installed."""
    context.load_default_certs()
    paths = ssl.get_default_verify_paths()
    has_file = paths.cafile is not None and os.path.exists(paths.cafile)
    has_dir = False
    if paths.capath is not None and os.path.isdir(paths.capath):
        with os.scandir(paths.capath) as entries:
            has_dir = any(entries)
    if has_file or has_dir or context.cert_store_stats()["x509_ca"]:
        return
    try:
        import certifi  # noqa: PLC0415 - optional extra, only when the system has no CAs
    except ImportError:
        return
    context.load_verify_locations(cafile=certifi.where())


def _describe(exc: ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}"
    reason = exc.reason or exc.strerror or str(exc)
    return reason.replace("_", " ").lower() if reason.isupper() else reason


class StreamPeerTLS(StreamPeer):
    """Godot's ``StreamPeerTLS``: TLS over any `StreamPeer`, driven by ``poll()``."""

    class Status(IntEnum):
        """``StreamPeerTLS.Status``."""

        STATUS_DISCONNECTED = 0
        STATUS_HANDSHAKING = 1
        STATUS_CONNECTED = 2
        STATUS_ERROR = 3
        STATUS_ERROR_HOSTNAME_MISMATCH = 4

    STATUS_DISCONNECTED = Status.STATUS_DISCONNECTED
    STATUS_HANDSHAKING = Status.STATUS_HANDSHAKING
    STATUS_CONNECTED = Status.STATUS_CONNECTED
    STATUS_ERROR = Status.STATUS_ERROR
    STATUS_ERROR_HOSTNAME_MISMATCH = Status.STATUS_ERROR_HOSTNAME_MISMATCH

    def __init__(self) -> None:
        self._stream: StreamPeer | None = None
        self._ssl: ssl.SSLObject | None = None
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._unsent = b""
        self._plain = b""  # decrypted by poll(), not yet read
        self._status = self.STATUS_DISCONNECTED
        self._pins: tuple[bytes, ...] = ()

    # -- starting ----------------------------------------------------------------------

    def connect_to_stream(
        self, stream: StreamPeer, common_name: str = "", options: TLSOptions | None = None
    ) -> Error:
        """Start a client handshake over ``stream``; ``poll()`` completes it.

        ``common_name`` is the server name for SNI and verification, unless the options
        override it or are unsafe (then no name is sent or checked). A wrong argument
        returns ``ERR_INVALID_PARAMETER``, the reason kept for ``get_last_error()``.
        """
        try:
            check_instance("stream", stream, StreamPeer, "a StreamPeer")
            check_text("common_name", common_name)
            if options is not None:
                check_instance("options", options, TLSOptions, "TLSOptions.client() or None")
        except InvalidParameterError as exc:
            return self._refused(exc)
        options = TLSOptions.client() if options is None else options
        if options.is_server():
            return self._refuse("options must be client options: these are TLSOptions.server()")
        name = options.get_common_name_override() or common_name
        hostname = None if options.is_unsafe_client() else (name or None)
        try:
            context = options.ssl_context()
            sslobj = context.wrap_bio(self._incoming, self._outgoing, False, hostname)
        except (ssl.SSLError, ValueError, OSError) as exc:
            return self._refuse(f"cannot start TLS: {exc}")
        return self._start(stream, sslobj, options.get_pins())

    def accept_stream(self, stream: StreamPeer, options: TLSOptions) -> Error:
        """Start a server handshake over ``stream``; ``poll()`` completes it."""
        try:
            check_instance("stream", stream, StreamPeer, "a StreamPeer")
            check_instance("options", options, TLSOptions, "TLSOptions.server()")
        except InvalidParameterError as exc:
            return self._refused(exc)
        if not options.is_server():
            return self._refuse("options must be TLSOptions.server(): these are client options")
        try:
            sslobj = options.ssl_context().wrap_bio(self._incoming, self._outgoing, True)
        except (ssl.SSLError, ValueError, OSError) as exc:
            return self._refuse(f"cannot start TLS: {exc}")
        return self._start(stream, sslobj, ())

    def _refuse(self, message: str) -> Error:
        return self._refused(InvalidParameterError(message))

    def _start(self, stream: StreamPeer, sslobj: ssl.SSLObject, pins: tuple[bytes, ...]) -> Error:
        if self._status != self.STATUS_DISCONNECTED or self._ssl is not None:
            return self._refuse("this StreamPeerTLS was already used")
        self._stream, self._ssl, self._pins = stream, sslobj, pins
        self._status = self.STATUS_HANDSHAKING
        self.poll()
        failed = self._status in (self.STATUS_ERROR, self.STATUS_ERROR_HOSTNAME_MISMATCH)
        return Error.ERR_CANT_CONNECT if failed else Error.OK

    # -- driving -----------------------------------------------------------------------

    def poll(self) -> Error:
        """Take the handshake one step further; when connected, read what has arrived.

        Records that arrived are decrypted and kept for ``get_partial_data``, so a peer's
        close_notify is noticed here (``ERR_FILE_EOF``) even on an idle connection.
        """
        if self._status == self.STATUS_HANDSHAKING:
            return self._handshake()
        if self._status == self.STATUS_CONNECTED and not self._plain:
            # Between reads, a cut without close_notify truncates nothing: it is a close.
            err, self._plain = self._read(_READ_SIZE, cut_is_close=True)
            return err
        return Error.OK

    def _handshake(self) -> Error:
        assert self._ssl is not None
        try:
            while True:
                try:
                    self._ssl.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    self._flush()
                    if not self._pump():
                        return Error.OK
        except ssl.SSLCertVerificationError as exc:
            mismatch = exc.verify_code in _NAME_MISMATCH
            return self._handshake_failed(_describe(exc), exc, mismatch)
        except ssl.SSLError as exc:
            return self._handshake_failed(_describe(exc), exc)
        except PollHTTPError as exc:
            return self._handshake_failed(f"connection lost during the handshake: {exc}", exc)
        try:
            self._flush()
        except PollHTTPError as exc:
            return self._handshake_failed(f"connection lost during the handshake: {exc}", exc)
        if self._pins:
            leaf = self._ssl.getpeercert(binary_form=True)
            if leaf is None or spki_sha256(leaf) not in self._pins:
                return self._handshake_failed("the server's public key matches no pin", None)
        self._status = self.STATUS_CONNECTED
        return Error.OK

    def _handshake_failed(
        self, reason: str, cause: BaseException | None, mismatch: bool = False
    ) -> Error:
        message = f"TLS handshake failed: {reason}"
        error: TLSHandshakeError
        if isinstance(cause, ssl.SSLCertVerificationError):
            error = CertificateVerifyError(
                message, reason=reason, verify_code=cause.verify_code, hostname_mismatch=mismatch
            )
        elif cause is None and self._pins:
            error = PinMismatchError(message, reason=reason)
        else:
            error = TLSHandshakeError(message, reason=reason)
        error.__cause__ = cause
        self._last_error = error
        self._close_stream()
        self._status = self.STATUS_ERROR_HOSTNAME_MISMATCH if mismatch else self.STATUS_ERROR
        return Error.ERR_CANT_CONNECT

    def _pump(self) -> bool:
        """Move ciphertext from the stream into the TLS object; False if none was there."""
        assert self._stream is not None
        err, data = self._stream.get_partial_data(_READ_SIZE)
        if data:
            self._incoming.write(data)
            return True
        if err == Error.ERR_FILE_EOF:
            self._incoming.write_eof()
            return True
        if err != Error.OK:
            raise self._stream.get_last_error() or NetworkError("receive failed")
        return False

    def _flush(self) -> None:
        """Send the ciphertext the TLS object produced, as much as the stream takes now."""
        assert self._stream is not None
        pending = self._unsent + self._outgoing.read() if self._outgoing.pending else self._unsent
        while pending:
            err, sent = self._stream.put_partial_data(pending)
            if err != Error.OK:
                self._unsent = b""
                raise self._stream.get_last_error() or NetworkError("send failed")
            if not sent:
                break
            pending = pending[sent:]
        self._unsent = pending

    def _closed(self, message: str) -> Error:
        self._last_error = NetworkError(message)
        self._close_stream()
        self._status = self.STATUS_DISCONNECTED
        return Error.ERR_FILE_EOF

    def _broken(self, error: PollHTTPError) -> Error:
        self._last_error = error
        self._close_stream()
        self._status = self.STATUS_ERROR
        return error.code

    # -- data --------------------------------------------------------------------------

    def get_partial_data(self, nbytes: int) -> tuple[Error, bytes]:
        """Decrypt and return up to ``nbytes`` available bytes.

        ``ERR_FILE_EOF`` after the peer's close_notify; a connection cut without one is
        ``ERR_CONNECTION_ERROR`` (truncation), never a clean end.
        """
        try:
            nbytes = read_size(nbytes)
        except InvalidParameterError as exc:
            return self._refused(exc), b""
        if nbytes > 0 and self._plain:
            data, self._plain = self._plain[:nbytes], self._plain[nbytes:]
            return Error.OK, data
        return self._read(nbytes)

    def _read(self, nbytes: int, *, cut_is_close: bool = False) -> tuple[Error, bytes]:
        if self._status != self.STATUS_CONNECTED or self._ssl is None:
            return Error.FAILED, b""
        if nbytes <= 0:
            return Error.OK, b""
        try:
            while True:
                try:
                    data = self._ssl.read(nbytes)
                except ssl.SSLWantReadError:
                    if not self._pump():
                        self._flush()
                        return Error.OK, b""
                    continue
                if not data:
                    # Over a MemoryBIO, SSLObject.read() reports close_notify as b"".
                    return self._closed("TLS connection closed by the peer (close_notify)"), b""
                break
            self._flush()
        except ssl.SSLZeroReturnError:
            return self._closed("TLS connection closed by the peer (close_notify)"), b""
        except ssl.SSLEOFError as exc:
            if cut_is_close:
                return self._closed("TLS connection closed by the peer without close_notify"), b""
            error = NetworkError("TLS connection cut without close_notify (truncated)")
            error.__cause__ = exc
            return self._broken(error), b""
        except ssl.SSLError as exc:
            error = NetworkError(f"TLS error: {_describe(exc)}")
            error.__cause__ = exc
            return self._broken(error), b""
        except PollHTTPError as exc:
            return self._broken(exc), b""
        return Error.OK, data

    def put_partial_data(self, data: bytes | memoryview) -> tuple[Error, int]:
        """Encrypt and send what the stream can take now."""
        try:
            check_bytes("data", data)
        except InvalidParameterError as exc:
            return self._refused(exc), 0
        if self._status != self.STATUS_CONNECTED or self._ssl is None:
            return Error.FAILED, 0
        try:
            self._flush()
            if len(self._unsent) >= _MAX_PENDING_OUT:
                return Error.OK, 0
            taken = self._ssl.write(data[:_MAX_PENDING_OUT])
            self._flush()
        except ssl.SSLError as exc:
            error = NetworkError(f"TLS error: {_describe(exc)}")
            error.__cause__ = exc
            return self._broken(error), 0
        except PollHTTPError as exc:
            return self._broken(exc), 0
        return Error.OK, taken

    def get_available_bytes(self) -> int:
        """Decrypted bytes ready to read without touching the stream."""
        pending = self._ssl.pending() if self._ssl is not None else 0
        return len(self._plain) + (pending if self._status == self.STATUS_CONNECTED else 0)

    # -- the rest ------------------------------------------------------------------------

    def get_session_info(self) -> dict[str, Any]:
        """What the handshake settled: ``version``, ``cipher``, ``alpn`` and ``certificate``.

        ``certificate`` is the peer's, as ``ssl.SSLObject.getpeercert()`` gives it (empty
        when unverified). Empty before the handshake completes. Not in Godot.
        """
        sslobj = self._ssl
        if sslobj is None or self._status != self.STATUS_CONNECTED:
            return {}
        cipher = sslobj.cipher()
        return {
            "version": sslobj.version(),
            "cipher": cipher[0] if cipher else None,
            "alpn": sslobj.selected_alpn_protocol(),
            "certificate": sslobj.getpeercert() or {},
        }

    def get_status(self) -> StreamPeerTLS.Status:
        """Where the TLS session stands."""
        return self._status

    def get_stream(self) -> StreamPeer | None:
        """The stream the TLS records travel on."""
        return self._stream

    def fileno(self) -> int:
        """The descriptor of the stream below, or -1."""
        return self._stream.fileno() if self._stream is not None else -1

    def has_pending_output(self) -> bool:
        """Whether ciphertext waits for the stream below to take it."""
        return bool(self._unsent) or (
            self._stream is not None and self._stream.has_pending_output()
        )

    def wait(
        self, *, readable: bool = True, writable: bool = False, timeout: float | None = None
    ) -> bool:
        """Wait on the stream below; ciphertext still to send means waiting to write."""
        timeout = check_seconds("timeout", timeout)
        if self.has_pending_output():
            writable = True
        if self._stream is None:
            return False
        # The stream's own wait: a TCP peer keeps one poller instead of a selector per call.
        return self._stream.wait(readable=readable, writable=writable, timeout=timeout)

    def disconnect_from_stream(self) -> None:
        """Send close_notify (best effort, never waiting) and close the stream below."""
        if self._ssl is not None and self._status == self.STATUS_CONNECTED:
            with contextlib.suppress(ssl.SSLError, PollHTTPError):
                self._ssl.unwrap()
            with contextlib.suppress(PollHTTPError):
                self._flush()
        self._close_stream()
        self._status = self.STATUS_DISCONNECTED

    close = disconnect_from_stream

    def _close_stream(self) -> None:
        if self._stream is not None:
            self._stream.close()
