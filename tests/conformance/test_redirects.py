"""Conformance: redirects (ecosystem.md §3.3 cases 32-36, Godot §7.1.19).

Two scripted servers: ``A`` answers first, ``B`` is another origin (another port, or another
host name mapped by an injected resolver). ``{A}`` and ``{B}`` in the bytes a server sends
stand for their base URLs. HTTPRequest follows redirects; HTTPClient never does: it returns
the 3xx as it came, with ``Location`` untouched, and nothing reaches ``B``.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import trustme

from pollhttp import (
    Error,
    HTTPClient,
    Method,
    Resolution,
    ResolveError,
    Result,
    Status,
    TLSOptions,
)

from ..support.servers import Close, Read, ScriptedServer, Send, Step
from ..support.tls import TLSServer, ca_certificate, server_context
from .common import head
from .harness import GET, HEAD, POST, PUT, ClientRun, complete, drive_client, make_request

FINAL = head("HTTP/1.1 200 OK", "Content-Length: 5", body=b"final")
CREDENTIALS = (
    "Authorization: Bearer secret",
    "Cookie: session=1",
    "Proxy-Authorization: Basic cA==",
)
CUSTOM = "X-Custom: kept"


def redirect(status: str, location: str, *more: str, body: bytes = b"") -> bytes:
    return head(
        f"HTTP/1.1 {status}",
        f"Location: {location}",
        *more,
        f"Content-Length: {len(body)}",
        body=body,
    )


@dataclass(frozen=True)
class Row:
    """A redirect case: what A and B send, the request, and the expected outcome."""

    id: str
    title: str
    a: list[list[Step]]
    b: list[list[Step]] | None
    result: Result
    code: int
    body: bytes
    method: Method = GET
    headers: tuple[str, ...] = ()
    data: bytes = b""
    path: str = "/start"
    userinfo: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)
    #: Checks on what the servers received: check(a_requests, b_requests).
    check: Callable[[list[bytes], list[bytes]], None] | None = None
    names: bool = False  # use host names a.test and b.test through a resolver


def row(case_id: str, title: str, a, b, result: Result, code: int, body: bytes, **kw: Any):
    return pytest.param(
        Row(case_id, title, a, b, result, code, body, **kw), id=f"{case_id}-{title}"
    )


def lines_of(raw: bytes) -> list[str]:
    return re.split(r"\r?\n", raw.split(b"\r\n\r\n", 1)[0].decode("latin-1"))


def names_of(raw: bytes) -> set[str]:
    return {line.partition(":")[0].lower() for line in lines_of(raw)[1:]}


def body_of(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[1]


def b_has_no_credentials(a: list[bytes], b: list[bytes]) -> None:
    assert {"authorization", "cookie", "proxy-authorization"} <= names_of(a[0])
    assert len(b) == 1
    assert not names_of(b[0]) & {"authorization", "cookie", "proxy-authorization"}
    assert "X-Custom: kept" in lines_of(b[0])


def a_keeps_credentials(a: list[bytes], b: list[bytes]) -> None:
    assert b == []
    assert len(a) == 2
    for raw in a:
        assert {"authorization", "cookie", "proxy-authorization", "x-custom"} <= names_of(raw)


def url_credentials_stay_home(a: list[bytes], b: list[bytes]) -> None:
    token = base64.b64encode(b"user:pa ss").decode()
    assert f"Authorization: Basic {token}" in lines_of(a[0])
    assert "authorization" not in names_of(b[0])


def became_get(from_method: str):
    def check(a: list[bytes], b: list[bytes]) -> None:
        assert lines_of(a[0])[0].startswith(f"{from_method} /start ")
        assert body_of(a[0]) == b"payload"
        second = (b or a[1:])[0]
        assert lines_of(second)[0].startswith("GET /final ")
        assert body_of(second) == b""
        assert not names_of(second) & {"content-length", "content-type", "transfer-encoding"}

    return check


def kept(method: str):
    def check(a: list[bytes], b: list[bytes]) -> None:
        second = (b or a[1:])[0]
        assert lines_of(second)[0].startswith(f"{method} /final ")
        assert body_of(second) == b"payload"
        assert "Content-Type: text/plain" in lines_of(second)
        assert "Content-Length: 7" in lines_of(second)

    return check


def stays_head(a: list[bytes], b: list[bytes]) -> None:
    assert lines_of(a[1])[0].startswith("HEAD /final ")


def nothing_followed(a: list[bytes], b: list[bytes]) -> None:
    assert len(a) == 1
    assert b == []


def target_is(expected: bytes):
    def check(a: list[bytes], b: list[bytes]) -> None:
        second = (b or a[1:])[0]
        assert second.split(b"\r\n", 1)[0] == b"GET " + expected + b" HTTP/1.1"
        assert b"\r\nX-Inj" not in second

    return check


def followed(times: int):
    def check(a: list[bytes], b: list[bytes]) -> None:
        assert len(a) + len(b) == times + 1

    return check


def serve_all(*responses: bytes) -> list[Step]:
    steps: list[Step] = []
    for data in responses:
        steps += [Read(), Send(data)]
    return steps


SUCCESS = Result.RESULT_SUCCESS
OWS = " \t"
PAYLOAD = ("Content-Type: text/plain",)

ROWS = [
    # -- 32: cross-origin redirects strip credentials -----------------------------------------
    row(
        "E32",
        "port-change-strips-authorization-cookie-proxy-authorization",
        [serve_all(redirect("302 Found", "{B}/final"))],
        [serve_all(FINAL)],
        SUCCESS,
        200,
        b"final",
        headers=(*CREDENTIALS, CUSTOM),
        check=b_has_no_credentials,
    ),
    row(
        "E32b",
        "host-change-strips-credentials",
        [serve_all(redirect("301 Moved Permanently", "http://b.test:{B_PORT}/final"))],
        [serve_all(FINAL)],
        SUCCESS,
        200,
        b"final",
        headers=(*CREDENTIALS, CUSTOM),
        names=True,
        check=b_has_no_credentials,
    ),
    row(
        "E32c",
        "header-names-matched-case-insensitively",
        [serve_all(redirect("307 Temporary Redirect", "{B}/final"))],
        [serve_all(FINAL)],
        SUCCESS,
        200,
        b"final",
        headers=("AUTHORIZATION: x", "cOoKiE: y", "proxy-AUTHORIZATION: z", CUSTOM),
        check=b_has_no_credentials,
    ),
    row(
        "E32d",
        "url-credentials-never-sent-to-another-origin",
        [serve_all(redirect("302 Found", "{B}/final"))],
        [serve_all(FINAL)],
        SUCCESS,
        200,
        b"final",
        userinfo="user:pa%20ss@",
        check=url_credentials_stay_home,
    ),
    row(
        "E32e",
        "same-origin-redirect-keeps-credentials",
        [serve_all(redirect("302 Found", "/final"), FINAL)],
        None,
        SUCCESS,
        200,
        b"final",
        headers=(*CREDENTIALS, CUSTOM),
        check=a_keeps_credentials,
    ),
    # -- 34: redirects that turn into GET drop the content ---------------------------------------
    row(
        "E34",
        "303-after-post-becomes-get-without-content",
        [serve_all(redirect("303 See Other", "{B}/final"))],
        [serve_all(FINAL)],
        SUCCESS,
        200,
        b"final",
        method=POST,
        headers=PAYLOAD,
        data=b"payload",
        check=became_get("POST"),
    ),
    row(
        "E34b",
        "302-after-post-becomes-get",
        [serve_all(redirect("302 Found", "/final"), FINAL)],
        None,
        SUCCESS,
        200,
        b"final",
        method=POST,
        headers=PAYLOAD,
        data=b"payload",
        check=became_get("POST"),
    ),
    row(
        "E34c",
        "301-after-post-becomes-get",
        [serve_all(redirect("301 Moved Permanently", "/final"), FINAL)],
        None,
        SUCCESS,
        200,
        b"final",
        method=POST,
        headers=PAYLOAD,
        data=b"payload",
        check=became_get("POST"),
    ),
    row(
        "E34d",
        "303-after-put-becomes-get",
        [serve_all(redirect("303 See Other", "/final"), FINAL)],
        None,
        SUCCESS,
        200,
        b"final",
        method=PUT,
        headers=PAYLOAD,
        data=b"payload",
        check=became_get("PUT"),
    ),
    row(
        "E34e",
        "307-keeps-post-and-content",
        [serve_all(redirect("307 Temporary Redirect", "/final"), FINAL)],
        None,
        SUCCESS,
        200,
        b"final",
        method=POST,
        headers=PAYLOAD,
        data=b"payload",
        check=kept("POST"),
    ),
    row(
        "E34f",
        "308-keeps-put-and-content",
        [serve_all(redirect("308 Permanent Redirect", "/final"), FINAL)],
        None,
        SUCCESS,
        200,
        b"final",
        method=PUT,
        headers=PAYLOAD,
        data=b"payload",
        check=kept("PUT"),
    ),
    row(
        "E34g",
        "303-after-head-stays-head",
        [serve_all(redirect("303 See Other", "/final"), FINAL)],
        None,
        SUCCESS,
        200,
        b"",
        method=HEAD,
        check=stays_head,
    ),
    # -- 35: max_redirects and loops --------------------------------------------------------------
    row(
        "E35",
        "max-redirects-0-returns-the-3xx",
        [serve_all(redirect("302 Found", "{B}/final", body=b"moved"))],
        [serve_all(FINAL)],
        SUCCESS,
        302,
        b"moved",
        attrs={"max_redirects": 0},
        check=nothing_followed,
    ),
    row(
        "E35b",
        "max-redirects-1-with-two-hops",
        [serve_all(redirect("302 Found", "/one"), redirect("302 Found", "/two", body=b"again"))],
        None,
        Result.RESULT_REDIRECT_LIMIT_REACHED,
        302,
        b"",
        attrs={"max_redirects": 1},
        check=followed(1),
    ),
    row(
        "E35c",
        "loop-to-itself-detected-with-unlimited-redirects",
        [serve_all(*[redirect("302 Found", "/start")] * 3)],
        None,
        Result.RESULT_REDIRECT_LIMIT_REACHED,
        302,
        b"",
        attrs={"max_redirects": -1},
        check=followed(1),
    ),
    row(
        "E35d",
        "ping-pong-loop-between-origins-detected",
        [serve_all(redirect("302 Found", "{B}/b"))] * 3,
        [serve_all(redirect("302 Found", "{A}/start"))] * 3,
        Result.RESULT_REDIRECT_LIMIT_REACHED,
        302,
        b"",
        attrs={"max_redirects": -1},
    ),
    # -- 36: bad Location -------------------------------------------------------------------------
    row(
        "E36",
        "control-character-tab-in-location",
        [serve_all(redirect("302 Found", "/a\tb"))],
        None,
        Result.RESULT_REQUEST_FAILED,
        0,
        b"",
        check=nothing_followed,
    ),
    row(
        "E36b",
        "ftp-scheme",
        [serve_all(redirect("302 Found", "ftp://127.0.0.1/file"))],
        None,
        Result.RESULT_REQUEST_FAILED,
        0,
        b"",
        check=nothing_followed,
    ),
    row(
        "E36c",
        "javascript-scheme",
        [serve_all(redirect("302 Found", "javascript:alert(1)"))],
        None,
        Result.RESULT_REQUEST_FAILED,
        0,
        b"",
        check=nothing_followed,
    ),
    row(
        "E36d",
        "file-scheme",
        [serve_all(redirect("301 Moved Permanently", "file:///etc/passwd"))],
        None,
        Result.RESULT_REQUEST_FAILED,
        0,
        b"",
        check=nothing_followed,
    ),
    row(
        "E36e",
        "bare-cr-in-location-is-a-protocol-error",
        [serve_all(redirect("302 Found", "/a\rX-Inj: 1"))],
        None,
        Result.RESULT_CONNECTION_ERROR,
        0,
        b"",
        check=nothing_followed,
    ),
    row(
        "E36f",
        "nul-in-location-is-a-protocol-error",
        [serve_all(redirect("302 Found", "/a\0b"))],
        None,
        Result.RESULT_CONNECTION_ERROR,
        0,
        b"",
        check=nothing_followed,
    ),
    row(
        "E36k",
        "lf-in-location-ends-the-field",
        [serve_all(redirect("302 Found", "/a\nX-Inj: 1"), FINAL)],
        None,
        SUCCESS,
        200,
        b"final",
        check=target_is(b"/a"),
    ),
    row(
        "E36g",
        "encoded-crlf-followed-encoded",
        [serve_all(redirect("302 Found", "/x%0d%0aX-Inj:%201"), FINAL)],
        None,
        SUCCESS,
        200,
        b"final",
        check=target_is(b"/x%0d%0aX-Inj:%201"),
    ),
    row(
        "E36h",
        "utf8-in-location-percent-encoded",
        [serve_all(redirect("302 Found", "/caf\xc3\xa9"), FINAL)],
        None,
        SUCCESS,
        200,
        b"final",
        check=target_is(b"/caf%C3%A9"),
    ),
    row(
        "E36i",
        "space-in-location",
        [serve_all(redirect("302 Found", "/a b"))],
        None,
        Result.RESULT_REQUEST_FAILED,
        0,
        b"",
        check=nothing_followed,
    ),
    row(
        "E36j",
        "unbalanced-ipv6-bracket",
        [serve_all(redirect("302 Found", "http://[::1/x"))],
        None,
        Result.RESULT_REQUEST_FAILED,
        0,
        b"",
        check=nothing_followed,
    ),
    # -- Godot §7.1.19 ----------------------------------------------------------------------------
    row(
        "G19",
        "content-location-is-not-location",
        [
            serve_all(
                head(
                    "HTTP/1.1 302 Found", "Content-Location: /x", "Content-Length: 4", body=b"here"
                )
            )
        ],
        None,
        SUCCESS,
        302,
        b"here",
        check=nothing_followed,
    ),
    row(
        "G19b",
        "location-without-space-after-colon",
        [serve_all(b"HTTP/1.1 302 Found\r\nLocation:/final\r\nContent-Length: 0\r\n\r\n", FINAL)],
        None,
        SUCCESS,
        200,
        b"final",
        check=target_is(b"/final"),
    ),
    row(
        "G19c",
        "relative-location-without-slash",
        [serve_all(redirect("302 Found", "final"), FINAL)],
        None,
        SUCCESS,
        200,
        b"final",
        path="/dir/page",
        check=target_is(b"/dir/final"),
    ),
    row(
        "G19d",
        "dot-segments-resolved",
        [serve_all(redirect("302 Found", "../up?q=1"), FINAL)],
        None,
        SUCCESS,
        200,
        b"final",
        path="/a/b/c",
        check=target_is(b"/a/up?q=1"),
    ),
    row(
        "G19e",
        "scheme-relative-location",
        [serve_all(redirect("302 Found", "//127.0.0.1:{B_PORT}/final"))],
        [serve_all(FINAL)],
        SUCCESS,
        200,
        b"final",
        check=target_is(b"/final"),
    ),
    row(
        "G19f",
        "303-and-308-are-followed",
        [
            serve_all(
                redirect("303 See Other", "/two"),
                redirect("308 Permanent Redirect", "/final"),
                FINAL,
            )
        ],
        None,
        SUCCESS,
        200,
        b"final",
        check=followed(2),
    ),
    row(
        "G19g",
        "3xx-other-than-redirects-is-returned",
        [serve_all(redirect("300 Multiple Choices", "/final", body=b"pick"))],
        None,
        SUCCESS,
        300,
        b"pick",
        check=nothing_followed,
    ),
]


class NameResolver:
    """a.test -> A's port, b.test -> B's port; anything else fails."""

    def __init__(self, ports: dict[str, int]) -> None:
        self.ports = ports

    def __call__(self, host: str, port: int) -> Resolution:
        if host in self.ports:
            return Resolution.finished([("127.0.0.1", self.ports[host])])
        return Resolution.finished([], ResolveError(f"test resolver: no {host}"))


def _fill(scripts: list[list[Step]], values: dict[bytes, bytes]) -> list[list[Step]]:
    filled = []
    for script in scripts:
        steps: list[Step] = []
        for step in script:
            if isinstance(step, Send):
                data = step.data
                for key, value in values.items():
                    data = data.replace(key, value)
                steps.append(Send(data))
            else:
                steps.append(step)
        filled.append(steps)
    return filled


def _servers(r: Row) -> tuple[ScriptedServer, ScriptedServer]:
    a = ScriptedServer([[]])
    b = ScriptedServer([[]])
    host_a = f"a.test:{a.port}" if r.names else f"127.0.0.1:{a.port}"
    host_b = f"b.test:{b.port}" if r.names else f"127.0.0.1:{b.port}"
    values = {
        b"{A}": f"http://{host_a}".encode(),
        b"{B}": f"http://{host_b}".encode(),
        b"{B_PORT}": str(b.port).encode(),
    }
    a.scripts = _fill(r.a, values)
    b.scripts = _fill(r.b or [[Close()]], values)
    return a, b


@pytest.mark.parametrize("r", ROWS)
def test_redirect_request(r: Row) -> None:
    a, b = _servers(r)
    with a, b:
        resolver = NameResolver({"a.test": a.port, "b.test": b.port}) if r.names else None
        run = make_request(resolver=resolver, **r.attrs)
        host = "a.test" if r.names else "127.0.0.1"
        try:
            url = f"http://{r.userinfo}{host}:{a.port}{r.path}"
            assert run.req.request_raw(url, list(r.headers), r.method, r.data) == Error.OK
            result, code, headers, body = complete(run)
            assert run.req.poll() == Error.ERR_UNCONFIGURED
        finally:
            run.req.close()
    error = run.req.get_last_error()
    assert (result, code, body) == (r.result, r.code, r.body), error
    if code == 0:
        assert headers == []
    if r.check is not None:
        r.check(a.requests, b.requests)


@pytest.mark.parametrize("r", ROWS)
def test_redirect_client(r: Row) -> None:
    """HTTPClient does not follow: it returns A's first response as it came."""
    a, b = _servers(r)
    first = next(step.data for step in a.scripts[0] if isinstance(step, Send))
    status_line = lines_of(first)[0]
    with a, b:
        client = HTTPClient()
        try:
            assert client.connect_to_host("127.0.0.1", a.port) == Error.OK
            deadline = time.monotonic() + 5
            while client.get_status() == Status.STATUS_CONNECTING:
                assert time.monotonic() < deadline
                client.poll()
            run = ClientRun(client)
            drive_client(client, run, r.method, r.path, list(r.headers), r.data)
            if r.result == Result.RESULT_CONNECTION_ERROR:
                # A Location with a bare CR or a NUL breaks the head itself.
                assert run.status == Status.STATUS_CONNECTION_ERROR
                assert run.final == Error.ERR_CONNECTION_ERROR
            else:
                assert client.get_response_code() == int(status_line.split()[1])
                assert run.body == (b"" if r.method == HEAD else body_of(first))
                assert client.get_response_headers() == [_decoded(f) for f in lines_of(first)[1:]]
        finally:
            client.close()
    assert b.connections == 0
    assert len(a.requests) == 1


def _decoded(line: str) -> str:
    raw = line.encode("latin-1")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    name, _, value = text.partition(":")
    return f"{name}: {value.strip(OWS)}"


# -- https origins: scheme changes and downgrades (32, 33) ----------------------------------------


def test_E32f_http_to_https_strips_credentials(ca: trustme.CA, leaf: trustme.LeafCert) -> None:
    """E32f: a scheme change is a new origin: credentials are dropped on the way to https."""
    secure = TLSServer([[Read(), Send(FINAL)]], server_context(leaf=leaf))
    moved = redirect("302 Found", f"https://127.0.0.1:{secure.port}/final")
    with secure, ScriptedServer([serve_all(moved)]) as plain:
        run = make_request()
        run.req.set_tls_options(TLSOptions.client(ca_certificate(ca)))
        try:
            url = f"http://127.0.0.1:{plain.port}/start"
            assert run.req.request(url, [*CREDENTIALS, CUSTOM]) == Error.OK
            result = complete(run)
        finally:
            run.req.close()
    assert result[:2] == (SUCCESS, 200)
    b_has_no_credentials(plain.requests, secure.requests)


def test_E33_https_to_http_downgrade_strips_credentials(
    ca: trustme.CA, leaf: trustme.LeafCert
) -> None:
    """E33: https to http on the same host drops Authorization, Cookie, Proxy-Authorization."""
    with ScriptedServer([serve_all(FINAL)]) as plain:
        moved = redirect("301 Moved Permanently", f"http://localhost:{plain.port}/final")
        with TLSServer([[Read(), Send(moved)]], server_context(leaf=leaf)) as secure:
            run = make_request()
            run.req.set_tls_options(TLSOptions.client(ca_certificate(ca)))
            try:
                url = f"https://user:pw@localhost:{secure.port}/start"
                assert run.req.request(url, [*CREDENTIALS, CUSTOM]) == Error.OK
                result = complete(run)
            finally:
                run.req.close()
    assert result[:2] == (SUCCESS, 200)
    first = lines_of(secure.requests[0])
    assert "Authorization: Bearer secret" in first
    assert len(plain.requests) == 1
    assert not names_of(plain.requests[0]) & {"authorization", "cookie", "proxy-authorization"}
    assert "X-Custom: kept" in lines_of(plain.requests[0])


def test_E32g_proxy_credentials_stay_with_the_same_proxy() -> None:
    """E32g: a cross-origin redirect through the same proxy keeps the proxy's own
    Proxy-Authorization (from the proxy settings), but not the caller's header."""
    # A new origin is a new connection to the proxy, even through the same proxy.
    scripts = [serve_all(redirect("302 Found", "http://b.test/final")), serve_all(FINAL)]
    with ScriptedServer(scripts) as proxy:
        run = make_request()
        run.req.set_http_proxy("127.0.0.1", proxy.port, username="pu", password="pp")
        try:
            url = "http://a.test/start"
            assert run.req.request(url, ["Authorization: Bearer secret", CUSTOM]) == Error.OK
            result = complete(run)
        finally:
            run.req.close()
    assert result[:2] == (SUCCESS, 200)
    token = "Basic " + base64.b64encode(b"pu:pp").decode()
    first, second = (lines_of(raw) for raw in proxy.requests)
    assert first[0] == "GET http://a.test/start HTTP/1.1"
    assert second[0] == "GET http://b.test/final HTTP/1.1"
    assert f"Proxy-Authorization: {token}" in first
    assert f"Proxy-Authorization: {token}" in second
    assert "Authorization: Bearer secret" in first
    assert "Authorization: Bearer secret" not in second
