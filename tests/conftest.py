"""Guards that hold for every test of the suite, and the fixtures shared across packages.

Shared here: ``ca`` and ``other_ca`` (trustme CAs, one per run: a CA is never changed by a
test), ``leaf`` (a server certificate of ``ca`` for 127.0.0.1 and localhost), ``client``
(an `HTTPClient` closed at the end) and ``nginx`` (one nginx per module; skips when the
binary is missing). A module or package that needs something else defines its own fixture
of the same name, which wins there.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

import pytest
import trustme

from pollhttp import HTTPClient

from .support.nginx import NginxServer, find_nginx


@pytest.fixture(autouse=True)
def _dev_null_stays_a_device(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test after which ``/dev/null`` is no longer a character device."""
    yield
    # A download renamed over its target once replaced /dev/null with a regular file when
    # the suite ran as root (as CI does), breaking every later redirection on the machine.
    # One stat per test is cheap and names the test that did it.
    try:
        mode = os.stat(os.devnull).st_mode
    except OSError as exc:
        pytest.fail(f"{request.node.nodeid} removed {os.devnull}: {exc}", pytrace=False)
    if not stat.S_ISCHR(mode):
        pytest.fail(
            f"{request.node.nodeid} left {os.devnull} as a {stat.filemode(mode)} "
            "(not a character device)",
            pytrace=False,
        )


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
