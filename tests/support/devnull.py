"""The /dev/null guard, self-contained (tests/cli/test_dev_null_guard.py runs it on its own)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

import pytest


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
