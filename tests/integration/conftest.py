"""Fixtures for the integration tests: one nginx for the session (HTTP and HTTPS), its files."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from pollhttp import Error, X509Certificate

from ..support.nginx import NginxServer, find_nginx, pattern, write_pattern_file

BIG_SIZE = 100 * 1024 * 1024


@dataclass(frozen=True)
class Site:
    """The files nginx serves (URL path -> content) and where to find them."""

    server: NginxServer
    hello: bytes  # /hello.txt
    data: bytes  # /data.bin: pattern bytes, a little over 1 MiB
    text: bytes  # /text.txt: text/plain, large enough for gzip
    big_path: str = "/big.bin"  # created by the big_file fixture

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def tls_port(self) -> int:
        """The HTTPS port: the same docroot and locations, over TLS."""
        return self.server.tls_port


def _text() -> bytes:
    # Hex digests compress about 2:1, so the gzip body spans many chunks.
    lines = [
        f"{i:06d} {hashlib.sha256(str(i).encode()).hexdigest()}\n".encode() for i in range(4000)
    ]
    return b"".join(lines)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    binary = find_nginx()  # skips the whole module when nginx is missing
    server = NginxServer(tmp_path_factory.mktemp("nginx"), binary, tls=True)
    content = Site(
        server=server,
        hello=b"Hello from nginx!\n",
        data=pattern(0, (1 << 20) + 12345),
        text=_text(),
    )
    server.write_file("hello.txt", content.hello)
    server.write_file("data.bin", content.data)
    server.write_file("text.txt", content.text)
    with server:
        yield content


@pytest.fixture(scope="session")
def big_file(site: Site) -> Iterator[str]:
    """The 100 MiB pattern file, written once and deleted at the end of the session."""
    path = site.server.docroot / site.big_path.lstrip("/")
    write_pattern_file(path, BIG_SIZE)
    yield site.big_path
    path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def ca_chain(site: Site) -> X509Certificate:
    """The CA that issued nginx's certificate, for ``TLSOptions.client(trusted_chain=...)``."""
    chain = X509Certificate()
    assert chain.load(site.server.ca_path) == Error.OK
    return chain
