"""The transport refuses wrong arguments where they are given (issue 19).

The StreamPeer family follows Godot: a method that returns an ``Error`` returns
``ERR_INVALID_PARAMETER`` and keeps the reason for ``get_last_error()``, and reads or sends
nothing. Settings and ``wait()`` raise, as the rest of pollhttp does. DNSCache, Resolution,
TLSOptions, X509Certificate and CryptoKey check what they are given when they are given it.
"""

from __future__ import annotations

import array
import io
import math
import socket
from collections.abc import Iterator

import pytest
import trustme

from pollhttp import (
    CryptoKey,
    DNSCache,
    Error,
    InvalidParameterError,
    InvalidTypeError,
    Resolution,
    ResolveError,
    StreamPeerTCP,
    StreamPeerTLS,
    TLSOptions,
    X509Certificate,
)
from pollhttp.transport import PrefixedStreamPeer

from ..support.scripted_peer import ScriptedStreamPeer
from ..support.servers import wait_for
from ..support.tls import certificate, private_key

# -- StreamPeerTCP ---------------------------------------------------------------------------


@pytest.fixture
def pair() -> Iterator[tuple[StreamPeerTCP, socket.socket]]:
    """A connected StreamPeerTCP and the server's end of the connection."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(5)
        tcp = StreamPeerTCP()
        assert tcp.connect_to_host("127.0.0.1", listener.getsockname()[1]) == Error.OK
        server, _ = listener.accept()
        try:
            wait_for(lambda: tcp.poll() == Error.OK and tcp.get_status() == tcp.STATUS_CONNECTED)
            yield tcp, server
        finally:
            tcp.disconnect_from_host()
            server.close()


def refused(peer: object, result: object, named: str) -> None:
    """``result`` is ERR_INVALID_PARAMETER and the peer keeps why, naming ``named``."""
    code = result[0] if isinstance(result, tuple) else result
    assert code == Error.ERR_INVALID_PARAMETER
    error = peer.get_last_error()  # type: ignore[attr-defined]
    assert isinstance(error, InvalidParameterError)
    assert named in str(error)


@pytest.mark.parametrize(
    ("host", "port", "named"),
    [
        (None, 80, "host must be a str"),
        (b"127.0.0.1", 80, "host must be a str"),
        ("127.0.0.1", None, "port must be an int"),
        ("127.0.0.1", "80", "port must be an int"),
        ("127.0.0.1", 80.0, "port must be an int"),
        ("127.0.0.1", 0, "port must be 1..65535"),
        ("127.0.0.1", 2**64, "port must be 1..65535"),
    ],
    ids=repr,
)
def test_connect_to_host_refuses_wrong_host_and_port(host, port, named):
    tcp = StreamPeerTCP()
    refused(tcp, tcp.connect_to_host(host, port), named)
    assert tcp.get_status() == tcp.STATUS_NONE
    assert tcp.fileno() == -1


@pytest.mark.parametrize("nbytes", [None, "16", 1.5, True, {}, -1], ids=repr)
def test_reads_refuse_a_wrong_nbytes_and_read_nothing(pair, nbytes):
    tcp, server = pair
    server.sendall(b"hello")
    wait_for(lambda: tcp.get_available_bytes() == 5)
    refused(tcp, tcp.get_partial_data(nbytes), "nbytes")
    refused(tcp, tcp.get_data(nbytes), "nbytes")
    assert tcp.get_available_bytes() == 5
    assert tcp.get_partial_data(16) == (Error.OK, b"hello")


def test_a_huge_nbytes_reads_what_is_there(pair):
    """Up to nbytes: no allocation of nbytes first (MemoryError, OverflowError)."""
    tcp, server = pair
    server.sendall(b"hello")
    wait_for(lambda: tcp.get_available_bytes() == 5)
    assert tcp.get_partial_data(2**62) == (Error.OK, b"hello")
    server.sendall(b"abc")
    assert tcp.get_data(3) == (Error.OK, b"abc")


@pytest.mark.parametrize(
    ("buffer", "named"),
    [
        ([0] * 8, "buffer must be a bytearray or a writable memoryview, not list"),
        (bytes(8), "buffer must be a bytearray or a writable memoryview, not bytes"),
        (memoryview(bytes(8)), "buffer is read-only"),
        (8, "buffer must be a bytearray"),
        ("12345678", "buffer must be a bytearray"),
        (None, "buffer must be a bytearray"),
    ],
    ids=repr,
)
def test_get_partial_data_into_needs_a_writable_buffer(pair, buffer, named):
    tcp, server = pair
    server.sendall(b"hello")
    wait_for(lambda: tcp.get_available_bytes() == 5)
    refused(tcp, tcp.get_partial_data_into(buffer), named)
    assert tcp.get_available_bytes() == 5


def test_get_partial_data_into_takes_a_view_of_wider_items_as_bytes(pair):
    tcp, server = pair
    server.sendall(b"12345678")
    wait_for(lambda: tcp.get_available_bytes() == 8)
    numbers = array.array("i", [0, 0])
    assert tcp.get_partial_data_into(memoryview(numbers)) == (Error.OK, 8)
    assert numbers.tobytes() == b"12345678"


@pytest.mark.parametrize("data", ["text", None, 5, [1, 2], io.BytesIO(b"x")], ids=repr)
def test_sends_refuse_what_is_not_bytes_and_send_nothing(pair, data):
    tcp, server = pair
    refused(tcp, tcp.put_partial_data(data), "data must be bytes")
    refused(tcp, tcp.put_data(data), "data must be bytes")
    assert tcp.put_data(bytearray(b"ok")) == Error.OK
    server.settimeout(5)
    assert server.recv(16) == b"ok"  # and nothing before it


def test_wait_takes_check_seconds(pair):
    tcp, _ = pair
    assert tcp.wait(readable=False, writable=True, timeout=5e16)  # no limit, no overflow
    assert tcp.wait(readable=False, writable=True, timeout=math.inf)
    with pytest.raises(InvalidTypeError, match="timeout must be a number of seconds"):
        tcp.wait(timeout="1")
    with pytest.raises(InvalidParameterError, match="timeout"):
        tcp.wait(timeout=-1)
    with pytest.raises(InvalidParameterError, match="timeout"):
        StreamPeerTCP().wait(timeout=math.nan)  # no socket: still checked


@pytest.mark.parametrize("enabled", ["false", b"", None, 1, object()], ids=repr)
def test_set_no_delay_needs_a_flag(pair, enabled):
    tcp, _ = pair
    with pytest.raises(InvalidTypeError, match="enabled must be True or False"):
        tcp.set_no_delay(enabled)
    tcp.set_no_delay(False)


def test_connect_timeout_is_checked():
    with pytest.raises(InvalidTypeError, match="connect_timeout"):
        StreamPeerTCP("30")  # type: ignore[arg-type]
    tcp = StreamPeerTCP(math.inf)
    assert tcp.connect_timeout == math.inf
    tcp.connect_timeout = 5e16  # beyond any clock: no limit
    assert tcp.connect_timeout == math.inf
    with pytest.raises(InvalidTypeError, match="connect_timeout"):
        tcp.connect_timeout = None  # type: ignore[assignment]
    with pytest.raises(InvalidParameterError, match="connect_timeout"):
        tcp.connect_timeout = -1
    assert tcp.connect_timeout == math.inf


# -- StreamPeerTLS and the base class --------------------------------------------------------


@pytest.fixture(scope="module")
def server_options() -> TLSOptions:
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost")
    return TLSOptions.server(private_key(leaf.private_key_pem), certificate(*leaf.cert_chain_pems))


@pytest.mark.parametrize("stream", [None, "127.0.0.1", [], {}, StreamPeerTCP], ids=repr)
def test_tls_needs_a_stream_peer(stream, server_options):
    tls = StreamPeerTLS()
    refused(tls, tls.connect_to_stream(stream, "localhost"), "stream must be a StreamPeer")
    tls = StreamPeerTLS()
    refused(tls, tls.accept_stream(stream, server_options), "stream must be a StreamPeer")
    assert tls.get_status() == tls.STATUS_DISCONNECTED


@pytest.mark.parametrize("options", ["", "x", 0, X509Certificate()], ids=repr)
def test_connect_to_stream_refuses_what_is_not_tls_options(options):
    """An empty string is not None: it is refused, not replaced by the default options."""
    peer = ScriptedStreamPeer([])
    tls = StreamPeerTLS()
    refused(tls, tls.connect_to_stream(peer, "localhost", options), "options must be TLSOptions")
    assert tls.get_status() == tls.STATUS_DISCONNECTED
    assert not peer.written  # no ClientHello


def test_connect_to_stream_refuses_a_wrong_common_name():
    peer = ScriptedStreamPeer([])
    tls = StreamPeerTLS()
    refused(tls, tls.connect_to_stream(peer, b"localhost"), "common_name must be a str")  # type: ignore[arg-type]
    assert not peer.written


@pytest.mark.parametrize("options", [None, "x", TLSOptions.client_unsafe()], ids=repr)
def test_accept_stream_needs_server_options(options):
    tls = StreamPeerTLS()
    refused(tls, tls.accept_stream(ScriptedStreamPeer([]), options), "options")


def test_tls_data_methods_refuse_wrong_arguments():
    tls = StreamPeerTLS()
    refused(tls, tls.get_partial_data(None), "nbytes")  # type: ignore[arg-type]
    refused(tls, tls.get_data(None), "nbytes")  # type: ignore[arg-type]
    refused(tls, tls.get_partial_data_into(bytes(4)), "buffer")  # type: ignore[arg-type]
    refused(tls, tls.get_partial_data_into({}), "buffer")  # type: ignore[arg-type]
    refused(tls, tls.put_partial_data("x"), "data must be bytes")  # type: ignore[arg-type]
    refused(tls, tls.put_data(None), "data must be bytes")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="timeout"):
        tls.wait(timeout=[])  # type: ignore[arg-type]
    assert tls.wait(timeout=5e16) is False  # nothing below to wait on


def test_a_prefixed_peer_refuses_a_wrong_nbytes_and_keeps_its_prefix():
    below = ScriptedStreamPeer([b"rest"])
    peer = PrefixedStreamPeer(below, b"first")
    refused(peer, peer.get_partial_data(None), "nbytes")  # type: ignore[arg-type]
    refused(peer, peer.get_partial_data_into([]), "buffer")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="timeout"):
        peer.wait(timeout="1")  # type: ignore[arg-type]
    assert peer.get_data(9) == (Error.OK, b"firstrest")


# -- TLSOptions, X509Certificate, CryptoKey --------------------------------------------------


@pytest.mark.parametrize(
    "pins", [None, 5, {"sha256//" + "A" * 43 + "=": 1}, io.StringIO("sha256//x")], ids=repr
)
def test_pins_must_be_a_list_of_strings(pins):
    with pytest.raises(InvalidTypeError, match="pins must be a list of"):
        TLSOptions.client(pins=pins)
    with pytest.raises(InvalidTypeError, match="pins must be a list of"):
        TLSOptions.client_unsafe(pins=pins)


def test_pins_from_a_generator_are_all_kept():
    pin = "sha256//" + "A" * 43 + "="
    options = TLSOptions.client(pins=(p for p in [pin, pin]))
    assert options.get_pins() == (bytes(32), bytes(32))


@pytest.mark.parametrize("name", ["\ud800", "a\udc55b.pem"], ids=repr)
def test_a_file_name_no_file_system_can_encode_cannot_be_opened(tmp_path, name, monkeypatch):
    """Like a NUL in the name: an error code, not a UnicodeEncodeError."""
    monkeypatch.chdir(tmp_path)
    ca = trustme.CA()
    cert = certificate(ca.cert_pem)
    key = private_key(ca.private_key_pem)
    assert cert.save(name) == Error.ERR_FILE_CANT_WRITE
    assert key.save(name) == Error.ERR_FILE_CANT_WRITE
    assert X509Certificate().load(name) == Error.ERR_FILE_CANT_OPEN
    assert CryptoKey().load(name) == Error.ERR_FILE_CANT_OPEN
    assert list(tmp_path.iterdir()) == []


# -- DNSCache and Resolution -----------------------------------------------------------------


def answer(host: str, port: int) -> Resolution:
    return Resolution.finished([("127.0.0.1", port)])


@pytest.mark.parametrize(
    ("kwargs", "error", "named"),
    [
        ({"resolver": None}, InvalidTypeError, "resolver must be callable"),
        ({"resolver": "8.8.8.8"}, InvalidTypeError, "resolver must be callable"),
        ({"clock": None}, InvalidTypeError, "clock must be callable"),
        ({"clock": len}, InvalidTypeError, "clock must be callable"),
        ({"clock": lambda: "now"}, InvalidTypeError, "clock must return seconds"),
        ({"clock": lambda: math.nan}, InvalidParameterError, "clock returned NaN"),
        ({"ttl": None}, InvalidTypeError, "ttl must be a number of seconds"),
        ({"ttl": "60"}, InvalidTypeError, "ttl"),
        ({"ttl": -1}, InvalidParameterError, "ttl"),
        ({"max_entries": None}, InvalidTypeError, "max_entries must be an int"),
        ({"max_entries": 0}, InvalidParameterError, "max_entries must be 1.."),
    ],
    ids=repr,
)
def test_dns_cache_checks_its_arguments(kwargs, error, named):
    kwargs = {"resolver": answer, **kwargs}
    with pytest.raises(error, match=named):
        DNSCache(**kwargs)


def test_dns_cache_ttl_is_checked_when_set():
    cache = DNSCache(answer)
    with pytest.raises(InvalidTypeError, match="ttl"):
        cache.ttl = None  # type: ignore[assignment]
    assert cache.ttl == 60.0
    cache.ttl = 1e300  # beyond any clock: until clear()
    assert cache.ttl == math.inf
    assert cache("a.test", 80) is cache("a.test", 80)


def test_dns_cache_of_one_entry_keeps_the_newest():
    cache = DNSCache(answer, max_entries=1)
    first = cache("a.test", 80)
    cache("b.test", 80)
    assert len(cache) == 1
    assert cache("a.test", 80) is not first


@pytest.mark.parametrize(
    "resolver",
    [lambda host, port: None, lambda host, port: "127.0.0.1", len],
    ids=["None", "a str", "len"],
)
def test_dns_cache_remembers_no_wrong_answer(resolver):
    cache = DNSCache(resolver)
    for _ in range(2):
        with pytest.raises(ResolveError, match="the resolver"):
            cache("a.test", 80)
    assert len(cache) == 0


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"addresses": None}, "addresses must be a list of"),
        ({"addresses": "127.0.0.1"}, "addresses must be a list of"),
        ({"addresses": [("127.0.0.1", "80")]}, "addresses must be a list of"),
        ({"addresses": [("127.0.0.1",)]}, "addresses must be a list of"),
        ({"addresses": [], "error": "no such host"}, "error must be a ResolveError"),
    ],
    ids=repr,
)
def test_resolution_finished_checks_its_arguments(kwargs, named):
    with pytest.raises(InvalidTypeError, match=named):
        Resolution.finished(**kwargs)


def test_resolution_finished_takes_pairs_in_any_collection():
    done = Resolution.finished((["::1", 80], ("127.0.0.1", 80)))  # type: ignore[arg-type]
    assert done.addresses == [("::1", 80), ("127.0.0.1", 80)]


def test_a_pem_block_that_holds_no_certificate_is_a_parse_error():
    """Valid base64 is not enough: the handshake, or get_spki_pin(), would fail much later."""
    cert = X509Certificate()
    pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    assert cert.load_from_string(pem) == Error.ERR_PARSE_ERROR
    assert len(cert) == 0
    good = trustme.CA().cert_pem.bytes().decode()
    assert cert.load_from_string(good + pem) == Error.ERR_PARSE_ERROR  # all or nothing
    assert cert.load_from_string(good) == Error.OK
    assert cert.get_spki_pin().startswith("sha256//")
