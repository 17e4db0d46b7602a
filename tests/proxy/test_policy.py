"""transport/_proxy.py without I/O: parse_proxy, connect_authority, absolute_target, and
environment_proxy (http_proxy, https_proxy, no_proxy, as curl and urllib read them)."""

from __future__ import annotations

import base64
from typing import TypedDict

import pytest

from pollhttp import Error, InvalidParameterError, TLSOptions
from pollhttp.transport import (
    Proxy,
    absolute_target,
    connect_authority,
    environment_proxy,
    parse_proxy,
)

# -- parse_proxy ----------------------------------------------------------------------------


def test_parse_plain_host_and_port() -> None:
    assert parse_proxy("127.0.0.1", 3128) == Proxy("127.0.0.1", 3128)
    assert parse_proxy("http://proxy.example", 8080) == Proxy("proxy.example", 8080)


def test_parse_https_proxy_keeps_its_tls_options() -> None:
    options = TLSOptions.client()
    proxy = parse_proxy("HTTPS://proxy.example/", 443, tls_options=options)
    assert proxy == Proxy("proxy.example", 443, True, "", "", options)


def test_parse_name_is_idna_lower_case() -> None:
    proxy = parse_proxy("http://Bücher.Example", 3128)
    assert proxy is not None
    assert proxy.host == "xn--bcher-kva.example"


@pytest.mark.parametrize("host", ["[::1]", "::1", "http://[::1]"])
def test_parse_ipv6(host: str) -> None:
    proxy = parse_proxy(host, 3128)
    assert proxy is not None
    assert proxy.host == "::1"


@pytest.mark.parametrize("unset", [("", 3128), ("proxy.example", -1), ("", -1)])
def test_parse_unset(unset: tuple[str, int]) -> None:
    assert parse_proxy(*unset) is None


def test_parse_userinfo() -> None:
    proxy = parse_proxy("http://alice:s3cret@proxy.example", 3128)
    assert proxy == Proxy("proxy.example", 3128, False, "alice", "s3cret")
    assert proxy.authorization == b"Basic " + base64.b64encode(b"alice:s3cret")


def test_parse_userinfo_percent_decoded() -> None:
    proxy = parse_proxy("al%40ce:p%3Ass%20w@proxy.example", 3128)
    assert proxy is not None
    assert (proxy.username, proxy.password) == ("al@ce", "p:ss w")


def test_parse_userinfo_with_at_sign_in_the_password() -> None:
    """The last ``@`` ends the userinfo (curl and urllib agree)."""
    proxy = parse_proxy("alice:p@ss@proxy.example", 3128)
    assert proxy is not None
    assert (proxy.host, proxy.username, proxy.password) == ("proxy.example", "alice", "p@ss")


def test_parse_keyword_credentials_win() -> None:
    proxy = parse_proxy("alice:old@proxy.example", 3128, username="bob", password="new")
    assert proxy is not None
    assert (proxy.username, proxy.password) == ("bob", "new")


def test_authorization_only_with_credentials() -> None:
    assert Proxy("p", 1).authorization is None
    assert Proxy("p", 1, username="u").authorization == b"Basic " + base64.b64encode(b"u:")
    assert Proxy("p", 1, password="pw").authorization == b"Basic " + base64.b64encode(b":pw")


def test_authorization_is_utf8() -> None:
    proxy = Proxy("p", 1, username="zoë", password="ключ")
    assert proxy.authorization == b"Basic " + base64.b64encode("zoë:ключ".encode())


@pytest.mark.parametrize("port", [0, 65536, 70000, -2])
def test_parse_port_out_of_range(port: int) -> None:
    with pytest.raises(InvalidParameterError) as info:
        parse_proxy("proxy.example", port)
    assert info.value.code == Error.ERR_INVALID_PARAMETER


@pytest.mark.parametrize("port", [1, 65535])
def test_parse_port_bounds(port: int) -> None:
    proxy = parse_proxy("proxy.example", port)
    assert proxy is not None
    assert proxy.port == port


class Credentials(TypedDict, total=False):
    """The keyword arguments of `parse_proxy` that carry credentials."""

    username: str
    password: str


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "alice\r\nX-Injected: 1"},
        {"password": "pw\nX-Injected: 1"},
        {"password": "pw\r"},
        {"username": "a\x00b"},
        {"password": "del\x7f"},
    ],
)
def test_parse_control_characters_in_credentials(credentials: Credentials) -> None:
    with pytest.raises(InvalidParameterError):
        parse_proxy("proxy.example", 3128, **credentials)


@pytest.mark.parametrize(
    "host", ["alice:pw%0D%0AX-Injected:%201@proxy.example", "alice%0a:pw@proxy.example"]
)
def test_parse_encoded_control_characters_in_userinfo(host: str) -> None:
    with pytest.raises(InvalidParameterError):
        parse_proxy(host, 3128)


@pytest.mark.parametrize(
    "host", ["proxy example", "proxy.example\r\n", "http://", "proxy.example/path", "a@"]
)
def test_parse_invalid_hosts(host: str) -> None:
    with pytest.raises(InvalidParameterError):
        parse_proxy(host, 3128)


# -- connect_authority and absolute_target -------------------------------------------------


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("origin.example", 443, b"origin.example:443"),
        ("127.0.0.1", 8443, b"127.0.0.1:8443"),
        ("::1", 443, b"[::1]:443"),
        ("2001:db8::1", 8443, b"[2001:db8::1]:8443"),
    ],
)
def test_connect_authority(host: str, port: int, expected: bytes) -> None:
    assert connect_authority(host, port) == expected


@pytest.mark.parametrize(
    ("host_header", "target", "expected"),
    [
        (b"origin.example", b"/", b"http://origin.example/"),
        (b"origin.example:8080", b"/a?b=c", b"http://origin.example:8080/a?b=c"),
        (b"[::1]:8080", b"/v6", b"http://[::1]:8080/v6"),
        (b"origin.example", b"http://other.example/x", b"http://other.example/x"),
        (b"origin.example", b"HTTP://Other.example/x", b"HTTP://Other.example/x"),
        (b"origin.example", b"https://other.example/x", b"https://other.example/x"),
        (b"origin.example:81", b"*", b"http://origin.example:81"),
    ],
)
def test_absolute_target(host_header: bytes, target: bytes, expected: bytes) -> None:
    assert absolute_target("http", host_header, target) == expected


# -- environment_proxy -------------------------------------------------------------------------


def env_proxy(scheme: str, host: str, port: int, **environ: str) -> Proxy | None:
    return environment_proxy(scheme, host, port, environ)


def test_environment_http_and_https() -> None:
    environ = {"http_proxy": "http://hp.example:3128", "https_proxy": "http://sp.example:3129"}
    assert env_proxy("http", "origin.example", 80, **environ) == Proxy("hp.example", 3128)
    assert env_proxy("https", "origin.example", 443, **environ) == Proxy("sp.example", 3129)


def test_environment_nothing_set() -> None:
    assert env_proxy("http", "origin.example", 80) is None
    assert env_proxy("https", "origin.example", 443) is None


def test_environment_upper_case() -> None:
    assert env_proxy("https", "o.example", 443, HTTPS_PROXY="sp.example:8080") == Proxy(
        "sp.example", 8080
    )
    # HTTP_PROXY in upper case is ignored, as curl ignores it (httpoxy, CVE-2016-5385).
    assert env_proxy("http", "o.example", 80, HTTP_PROXY="hp.example:8080") is None


def test_environment_lower_case_wins() -> None:
    environ = {
        "http_proxy": "http://lower.example:1",
        "HTTP_PROXY": "http://upper.example:2",
        "https_proxy": "http://lower.example:3",
        "HTTPS_PROXY": "http://upper.example:4",
    }
    assert env_proxy("http", "o.example", 80, **environ) == Proxy("lower.example", 1)
    assert env_proxy("https", "o.example", 443, **environ) == Proxy("lower.example", 3)


def test_environment_lower_case_no_proxy_wins() -> None:
    environ = {"http_proxy": "hp.example:3128", "no_proxy": "a.example", "NO_PROXY": "*"}
    assert env_proxy("http", "a.example", 80, **environ) is None
    assert env_proxy("http", "b.example", 80, **environ) == Proxy("hp.example", 3128)


def test_environment_upper_case_no_proxy() -> None:
    environ = {"http_proxy": "hp.example:3128", "NO_PROXY": "a.example"}
    assert env_proxy("http", "a.example", 80, **environ) is None


def test_environment_http_proxy_ignored_under_cgi() -> None:
    """httpoxy (CVE-2016-5385): a request's ``Proxy:`` header becomes HTTP_PROXY in CGI."""
    environ = {"HTTP_PROXY": "http://attacker.example:8080", "REQUEST_METHOD": "GET"}
    assert env_proxy("http", "o.example", 80, **environ) is None
    del environ["REQUEST_METHOD"]
    assert env_proxy("http", "o.example", 80, **environ) is None  # not outside CGI either
    # The lower-case name cannot come from a request header: it still counts.
    environ["http_proxy"] = "http://hp.example:3128"
    assert env_proxy("http", "o.example", 80, **environ) == Proxy("hp.example", 3128)
    # HTTPS_PROXY cannot be set by a header (headers become HTTP_*): it still counts.
    environ["HTTPS_PROXY"] = "http://sp.example:3129"
    assert env_proxy("https", "o.example", 443, **environ) == Proxy("sp.example", 3129)


def test_environment_http_proxy_not_used_for_https() -> None:
    assert env_proxy("https", "o.example", 443, http_proxy="hp.example:3128") is None


def test_environment_default_ports() -> None:
    assert env_proxy("http", "o.example", 80, http_proxy="http://hp.example") == Proxy(
        "hp.example", 80
    )
    proxy = env_proxy("https", "o.example", 443, https_proxy="https://sp.example")
    assert proxy == Proxy("sp.example", 443, True)


def test_environment_credentials_percent_decoded() -> None:
    proxy = env_proxy("http", "o.example", 80, http_proxy="http://al%40ce:p%3Ass@hp.example:3128")
    assert proxy == Proxy("hp.example", 3128, False, "al@ce", "p:ss")


def test_environment_ipv6_proxy() -> None:
    assert env_proxy("http", "o.example", 80, http_proxy="http://[::1]:3128") == Proxy("::1", 3128)


@pytest.mark.parametrize(
    "value", ["socks5://127.0.0.1:1080", "http://hp.example:99999", "http://:3128"]
)
def test_environment_unusable_proxy(value: str) -> None:
    with pytest.raises(InvalidParameterError):
        env_proxy("http", "o.example", 80, http_proxy=value)


def test_environment_credentials_with_control_characters() -> None:
    with pytest.raises(InvalidParameterError):
        env_proxy("http", "o.example", 80, http_proxy="http://u:p%0d%0aX:1@hp.example:3128")


NO_PROXY_CASES = [
    # (no_proxy, host, port, bypassed)
    ("origin.example", "origin.example", 80, True),
    ("origin.example", "ORIGIN.example", 80, True),
    ("origin.example", "sub.origin.example", 80, True),
    ("origin.example", "notorigin.example", 80, False),
    ("origin.example", "origin.example.net", 80, False),
    (".origin.example", "sub.origin.example", 80, True),
    (".origin.example", "origin.example", 80, True),
    ("a.example, origin.example ,b.example", "origin.example", 80, True),
    ("a.example,,b.example", "origin.example", 80, False),
    ("*", "anything.example", 80, True),
    ("*", "10.1.2.3", 80, True),
    ("127.0.0.1", "127.0.0.1", 80, True),
    ("127.0.0.1", "127.0.0.2", 80, False),
    ("10.0.0.0/8", "10.20.30.40", 80, True),
    ("10.0.0.0/8", "11.0.0.1", 80, False),
    ("192.168.1.0/24", "192.168.1.77", 80, True),
    ("::1", "::1", 80, True),
    ("::1", "[::1]", 80, True),
    ("[::1]", "::1", 80, True),
    ("fd00::/8", "fd12:3456::1", 80, True),
    ("fd00::/8", "fe80::1", 80, False),
    ("origin.example:8080", "origin.example", 8080, True),
    ("origin.example:8080", "origin.example", 80, False),
    ("127.0.0.1:8080", "127.0.0.1", 8080, True),
    ("127.0.0.1:8080", "127.0.0.1", 9090, False),
    ("[::1]:8080", "::1", 8080, True),
    ("[::1]:8080", "::1", 9090, False),
    ("localhost", "127.0.0.1", 80, False),  # names are not resolved
    ("10.0.0.0/8", "ten.example", 80, False),
]


@pytest.mark.parametrize(("no_proxy", "host", "port", "bypassed"), NO_PROXY_CASES)
def test_no_proxy(no_proxy: str, host: str, port: int, bypassed: bool) -> None:
    environ = {"http_proxy": "http://hp.example:3128", "no_proxy": no_proxy}
    expected = None if bypassed else Proxy("hp.example", 3128)
    assert env_proxy("http", host, port, **environ) == expected


def test_no_proxy_applies_to_https_too() -> None:
    environ = {"https_proxy": "http://sp.example:3129", "no_proxy": "origin.example"}
    assert env_proxy("https", "origin.example", 443, **environ) is None
    assert env_proxy("https", "other.example", 443, **environ) == Proxy("sp.example", 3129)


def test_environment_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", "http://hp.example:3128")
    assert environment_proxy("http", "o.example", 80) == Proxy("hp.example", 3128)
    monkeypatch.setenv("no_proxy", "o.example")
    assert environment_proxy("http", "o.example", 80) is None
