"""Fixtures for the proxy tests: real proxies for the session, certificates, clients.

Proxies (each started once, on first use, and stopped by PID at the end of the session):
tinyproxy and proxy.py, each plain and with basic authentication; tinyproxy that allows
CONNECT to port 443 only; proxy.py that speaks TLS to its clients (a trustme certificate
for 127.0.0.1 from its own CA).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import trustme

from pollhttp import HTTPClient, TLSOptions

from ..support.proxies import ProxyProcess, proxy_py, tinyproxy
from ..support.tls import ca_certificate

USER, PASSWORD = "proxyuser", "proxypass"
KINDS = ("tinyproxy", "proxy.py")


@dataclass(frozen=True)
class RunningProxy:
    """A proxy the tests use: its kind ("tinyproxy" or "proxy.py") and its port."""

    kind: str
    process: ProxyProcess

    @property
    def port(self) -> int:
        return self.process.port


def _start(process: ProxyProcess) -> Iterator[ProxyProcess]:
    with process:
        yield process


@pytest.fixture(scope="session")
def tinyproxy_plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    yield from _start(tinyproxy(tmp_path_factory.mktemp("tinyproxy")))


@pytest.fixture(scope="session")
def tinyproxy_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    directory = tmp_path_factory.mktemp("tinyproxy-auth")
    yield from _start(tinyproxy(directory, basic_auth=(USER, PASSWORD)))


@pytest.fixture(scope="session")
def tinyproxy_443_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    directory = tmp_path_factory.mktemp("tinyproxy-443")
    yield from _start(tinyproxy(directory, connect_ports=[443]))


@pytest.fixture(scope="session")
def proxypy_plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    yield from _start(proxy_py(tmp_path_factory.mktemp("proxypy")))


@pytest.fixture(scope="session")
def proxypy_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    directory = tmp_path_factory.mktemp("proxypy-auth")
    yield from _start(proxy_py(directory, basic_auth=(USER, PASSWORD)))


@pytest.fixture(scope="session")
def proxy_ca() -> trustme.CA:
    """The CA of the TLS proxy's certificate (not the origin's)."""
    return trustme.CA()


@pytest.fixture(scope="session")
def proxypy_tls(
    tmp_path_factory: pytest.TempPathFactory, proxy_ca: trustme.CA
) -> Iterator[ProxyProcess]:
    directory = tmp_path_factory.mktemp("proxypy-tls")
    leaf = proxy_ca.issue_cert("127.0.0.1")
    cert_file, key_file = directory / "proxy.pem", directory / "proxy.key"
    cert_file.write_bytes(b"".join(pem.bytes() for pem in leaf.cert_chain_pems))
    key_file.write_bytes(leaf.private_key_pem.bytes())
    key_file.chmod(0o600)
    yield from _start(proxy_py(directory, cert_file=cert_file, key_file=key_file))


@pytest.fixture(params=KINDS)
def plain_proxy(request: pytest.FixtureRequest) -> RunningProxy:
    """Each real proxy without authentication, in turn."""
    name = "tinyproxy_plain" if request.param == "tinyproxy" else "proxypy_plain"
    return RunningProxy(request.param, request.getfixturevalue(name))


@pytest.fixture(params=KINDS)
def auth_proxy(request: pytest.FixtureRequest) -> RunningProxy:
    """Each real proxy with basic authentication (USER, PASSWORD), in turn."""
    name = "tinyproxy_auth" if request.param == "tinyproxy" else "proxypy_auth"
    return RunningProxy(request.param, request.getfixturevalue(name))


@pytest.fixture(scope="session")
def origin_leaf(ca: trustme.CA) -> trustme.LeafCert:
    """The TLS origin's certificate: localhost (the name tests connect to) and 127.0.0.1."""
    return ca.issue_cert("localhost", "127.0.0.1")


@pytest.fixture(scope="session")
def origin_trust(ca: trustme.CA) -> TLSOptions:
    return TLSOptions.client(ca_certificate(ca))


@pytest.fixture(scope="session")
def proxy_trust(proxy_ca: trustme.CA) -> TLSOptions:
    return TLSOptions.client(ca_certificate(proxy_ca))


@pytest.fixture
def client(client: HTTPClient) -> HTTPClient:
    """The shared client (tests/conftest.py), with a connect timeout of 5 s."""
    client.connect_timeout = 5.0
    return client
