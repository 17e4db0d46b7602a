"""Guards that hold for every test of the suite, and the fixtures shared across packages.

Shared here: ``ca`` and ``other_ca`` (trustme CAs, one per run: a CA is never changed by a
test), ``leaf`` (a server certificate of ``ca`` for 127.0.0.1 and localhost), ``client``
(an `HTTPClient` closed at the end) and ``nginx`` (one nginx per module; skips when the
binary is missing). A module or package that needs something else defines its own fixture
of the same name, which wins there.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trustme

from pollhttp import HTTPClient

from .support.devnull import _dev_null_stays_a_device  # noqa: F401 - an autouse fixture
from .support.nginx import NginxServer, find_nginx

# -- certificates ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    """The CA of the TLS servers the tests run."""
    return trustme.CA()


@pytest.fixture(scope="session")
def other_ca() -> trustme.CA:
    """A second CA, which trusts none of ``ca``'s certificates."""
    return trustme.CA()


@pytest.fixture(scope="session")
def leaf(ca: trustme.CA) -> trustme.LeafCert:
    """The usual server certificate: valid for 127.0.0.1 and localhost."""
    return ca.issue_cert("127.0.0.1", "localhost")


# -- clients and servers -----------------------------------------------------------------------


@pytest.fixture
def client() -> Iterator[HTTPClient]:
    """An `HTTPClient` with the default settings, closed at the end of the test."""
    made = HTTPClient()
    yield made
    made.close()


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxServer]:
    """One nginx for the module, with an empty document root (skips when the binary is missing)."""
    binary = find_nginx()
    with NginxServer(tmp_path_factory.mktemp("nginx"), binary) as server:
        yield server
