"""Helpers for the command's tests: run ``python -m pollhttp`` as a subprocess, and servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from pollhttp.demo import DemoServer

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
FAKE_DNS = Path(__file__).with_name("fake_dns.py")
_PROXY_VARIABLES = {"http_proxy", "https_proxy", "no_proxy", "all_proxy", "request_method"}


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for the command: this checkout's sources, no proxies, no forced bars."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key.lower() not in _PROXY_VARIABLES and key != "POLLHTTP_PROGRESS"
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(SRC), env.get("PYTHONPATH"))))
    env.update(extra or {})
    return env


@dataclass
class Ran:
    """What one run of the command did."""

    code: int
    out: bytes
    err: str

    @property
    def text(self) -> str:
        return self.out.decode("utf-8", "replace")


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    cwd: Path | str | None = None,
    timeout: float = 20,
    fake_dns: dict[str, str] | None = None,
    stdout: int | IO[bytes] | None = subprocess.PIPE,
) -> Ran:
    """Run ``pollhttp ARGS`` and return its exit status, stdout and stderr.

    With ``fake_dns`` the command runs under a resolver that knows only those names
    (``{"name": "127.0.0.1"}``) and fails the rest, so no test ever asks real DNS.
    Never a traceback: every run checks that.
    """
    extra = dict(env or {})
    if fake_dns is not None:
        extra["FAKE_DNS"] = ",".join(f"{k}={v}" for k, v in fake_dns.items())
        command = [sys.executable, str(FAKE_DNS), *args]
    else:
        command = [sys.executable, "-m", "pollhttp", *args]
    proc = subprocess.run(
        command,
        input=stdin if stdin is not None else b"",
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=cli_env(extra),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    err = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    return Ran(proc.returncode, proc.stdout or b"", err)


@pytest.fixture(scope="module")
def demo():
    with DemoServer() as server:
        yield server


@pytest.fixture(scope="module")
def demo_https():
    with DemoServer(https=True) as server:
        yield server


@pytest.fixture(scope="module")
def ca_file(demo_https, tmp_path_factory):
    """The demo HTTPS server's CA certificate, as a PEM file."""
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    path.write_text(demo_https.ca.cert_pem, encoding="ascii")
    return path


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def request_lines(raw: bytes) -> list[str]:
    """A raw request's head as lines (request line first), without the blank line."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return head.split("\r\n")
