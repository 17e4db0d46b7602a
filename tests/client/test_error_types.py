"""The exception classes say what failed, with fields: programs (and the CLI's exit
statuses) tell a timeout from a refusal and a bad certificate from a pin by type, not text.
"""

from __future__ import annotations

import functools
import socket

import pytest
import trustme

from pollhttp import Error, HTTPClient, HTTPRequest, Resolution, Result, Status, TLSOptions
from pollhttp._errors import (
    CertificateVerifyError,
    ConnectTimeoutError,
    PinMismatchError,
    RedirectSchemeError,
    TLSHandshakeTimeoutError,
)

from ..request.conftest import Recorded, complete
from ..support.polling import poll_while_waiting
from ..support.servers import Read, ScriptedServer, Send, response
from ..support.tls import Pause, TLSServer, ca_certificate, server_context, spki_pin
from .test_happy_eyeballs import Blackhole


def answer(addresses: list[tuple[str, int]], host: str, port: int) -> Resolution:
    return Resolution.finished(list(addresses))


def failing_connect(client: HTTPClient, port: int, options: TLSOptions | None = None):
    assert client.connect_to_host("127.0.0.1", port, options) in (Error.OK, Error.ERR_CANT_CONNECT)
    poll_while_waiting(client, 5)
    return client.get_last_error()


def test_a_connect_that_runs_out_of_time_is_a_connect_timeout():
    hole = Blackhole()
    try:
        client = HTTPClient()
        client.connect_timeout = 0.3
        error = failing_connect(client, hole.port)
    finally:
        hole.close()
    assert client.get_status() == Status.STATUS_CANT_CONNECT
    assert isinstance(error, ConnectTimeoutError)
    assert error.timeout == 0.3


def test_every_address_timing_out_is_a_connect_timeout_and_one_refusal_is_not():
    hole = Blackhole()
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        refused = closed.getsockname()[1]
    try:
        for addresses, timed_out in (
            ([("127.0.0.1", hole.port), ("127.0.0.1", hole.port)], True),
            ([("127.0.0.1", hole.port), ("127.0.0.1", refused)], False),
        ):
            client = HTTPClient(resolver=functools.partial(answer, addresses))
            client.connect_timeout = 0.3
            client.connect_to_host("two.test", 80)
            poll_while_waiting(client, 5)
            assert isinstance(client.get_last_error(), ConnectTimeoutError) is timed_out
    finally:
        hole.close()


def test_a_silent_tls_server_is_a_handshake_timeout():
    with TLSServer([[Pause(3)]]) as server:  # accepts TCP, never answers the ClientHello
        client = HTTPClient()
        client.connect_timeout = 0.3
        error = failing_connect(client, server.port, TLSOptions.client())
    assert client.get_status() == Status.STATUS_TLS_HANDSHAKE_ERROR
    assert isinstance(error, TLSHandshakeTimeoutError)
    assert (error.timeout, error.reason) == (0.3, "timed out")


@pytest.mark.parametrize(("names", "mismatch"), [(("other.test",), True), (("127.0.0.1",), False)])
def test_a_certificate_that_fails_verification_says_how(names, mismatch):
    ca = trustme.CA()
    leaf = ca.issue_cert(*names)
    trusted = TLSOptions.client(ca_certificate(ca if mismatch else trustme.CA()))
    with TLSServer([[Read()]], server_context(leaf=leaf)) as server:
        error = failing_connect(HTTPClient(), server.port, trusted)
    assert isinstance(error, CertificateVerifyError)
    assert error.hostname_mismatch is mismatch
    assert error.verify_code != 0


def test_a_key_that_matches_no_pin_is_a_pin_mismatch():
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    options = TLSOptions.client(ca_certificate(ca), pins=[spki_pin(ca.cert_pem)])
    with TLSServer([[Read()]], server_context(leaf=leaf)) as server:
        error = failing_connect(HTTPClient(), server.port, options)
    assert isinstance(error, PinMismatchError)


def test_a_redirect_to_another_scheme_names_it():
    moved = response("302 Found", ["Location: ftp://files.test/x"])
    with ScriptedServer([[Read(), Send(moved)]]) as server:
        run = Recorded(HTTPRequest())
        assert run.req.request(f"http://127.0.0.1:{server.port}/") == Error.OK
        result = complete(run)
        run.req.close()
    assert result[0] == Result.RESULT_REQUEST_FAILED
    error = run.req.get_last_error()
    assert isinstance(error, RedirectSchemeError)
    assert (error.scheme, error.location) == ("ftp", "ftp://files.test/x")
