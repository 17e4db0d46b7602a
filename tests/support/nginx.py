"""A real nginx on 127.0.0.1 for integration tests.

`NginxServer` runs nginx in the foreground (``daemon off;``) with everything it writes
(config, pid file, logs, temp dirs, docroot) inside one temporary directory, waits until
its port accepts connections, and stops it by PID (SIGQUIT, then SIGKILL) on exit.

The access log is JSON, one request a line, and records nginx's connection serial number
(``$connection``) and the request's number on that connection (``$connection_requests``),
so tests can count the connections the server saw, and the TLS version of HTTPS requests
(``$ssl_protocol``, empty for plain HTTP). Requests under ``/close/`` also write
nginx's debug log for their connection (``connection.log``), which shows whether nginx
kept the connection alive (``set http keepalive handler``) or closed it
(``close http connection``).

With ``tls=True`` a second server block listens with ``ssl`` on ``tls_port`` and serves the
same docroot and locations, with keepalive. Its certificate comes from a trustme CA and is
valid for ``localhost`` and ``127.0.0.1``; the CA (``ca_pem``, ``ca_path``) is the one the
tests trust. Everything is written into the temporary directory.

Locations (all serve the docroot; the prefix is stripped), the same in both server blocks:

* ``/``: static files, with ETag and Last-Modified (conditional requests answer 304).
* ``/gzip/``: gzip on for text/plain, so ``Accept-Encoding: gzip`` gives a chunked body.
* ``/close/``: the debug connection log described above.
* ``/last/``: ``keepalive_requests 1``: nginx closes the connection after the response.
* ``/idle/``: ``keepalive_timeout 200ms``: nginx closes the connection soon after.
* ``= /no-content``: ``return 204``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

NGINX_PATHS = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")

#: The period of the byte pattern in large test files: a prime, so that a chunk lost,
#: repeated or shifted by any power-of-two size shows up as wrong bytes.
PATTERN_PERIOD = 251
_PATTERN_UNIT = bytes(range(PATTERN_PERIOD))

_CONFIG = """\
@USER@
worker_processes 1;
pid @PREFIX@/nginx.pid;
error_log @PREFIX@/logs/error.log notice;

events {
    worker_connections 256;
}

http {
    types {
        text/plain txt;
        text/html html;
        application/octet-stream bin;
    }
    default_type application/octet-stream;

    log_format counting escape=json
        '{"connection":$connection,"requests":$connection_requests,'
        '"method":"$request_method","uri":"$request_uri","status":$status,'
        '"body_bytes":$body_bytes_sent,"host":"$http_host",'
        '"connection_header":"$http_connection","scheme":"$scheme",'
        '"ssl_protocol":"$ssl_protocol"}';
    access_log @PREFIX@/logs/access.log counting;

    client_body_temp_path @PREFIX@/temp/client_body;
    proxy_temp_path @PREFIX@/temp/proxy;
    fastcgi_temp_path @PREFIX@/temp/fastcgi;
    uwsgi_temp_path @PREFIX@/temp/uwsgi;
    scgi_temp_path @PREFIX@/temp/scgi;

    sendfile on;
    keepalive_timeout 60s;
    keepalive_requests 1000;
    server_tokens on;

    server {
        listen 127.0.0.1:@PORT@;
        server_name localhost;
        root @DOCROOT@;
        etag on;

@LOCATIONS@    }
@TLS_SERVER@}
"""


_LOCATIONS = """\
        location / {
        }

        location /gzip/ {
            alias @DOCROOT@/;
            gzip on;
            gzip_types text/plain;
            gzip_min_length 1;
            gzip_http_version 1.0;
            gzip_comp_level 1;
        }

        location /close/ {
            alias @DOCROOT@/;
            error_log @PREFIX@/logs/connection.log debug;
        }

        location /last/ {
            alias @DOCROOT@/;
            keepalive_requests 1;
        }

        location /idle/ {
            alias @DOCROOT@/;
            keepalive_timeout 200ms;
        }

        location = /no-content {
            return 204;
        }
"""

_TLS_SERVER = """
    server {
        listen 127.0.0.1:@TLS_PORT@ ssl;
        server_name localhost;
        root @DOCROOT@;
        etag on;

        ssl_certificate @PREFIX@/tls/server.pem;
        ssl_certificate_key @PREFIX@/tls/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;

@LOCATIONS@    }
"""


def find_nginx() -> str:
    """The nginx binary; skips the test if there is none."""
    for candidate in (*NGINX_PATHS, shutil.which("nginx")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.skip(
        "nginx binary not found (looked in " + ", ".join(NGINX_PATHS) + " and PATH); "
        "scripts/test installs it (Debian package nginx-light)"
    )


def _free_ports(count: int) -> list[int]:
    """``count`` different ports that are free on 127.0.0.1 (bound together, then released)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def _write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only (for private keys)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


@dataclass(frozen=True)
class AccessEntry:
    """One line of the access log."""

    connection: int  # nginx's connection serial number
    requests: int  # this request's number on its connection, from 1
    method: str
    uri: str  # the request target as sent, query included
    status: int
    body_bytes: int
    host: str  # the Host header the client sent
    connection_header: str  # the Connection header the client sent ("" when none)
    scheme: str  # "http" or "https"
    ssl_protocol: str  # the TLS version, e.g. "TLSv1.3" ("" for plain HTTP)


class NginxServer:
    """nginx listening on 127.0.0.1 (a free port), living in ``base``; a context manager.

    With ``tls=True`` it also serves HTTPS on ``tls_port`` (needs trustme).
    """

    def __init__(self, base: Path, binary: str | None = None, *, tls: bool = False) -> None:
        self.binary = binary or find_nginx()
        self.prefix = Path(base)
        self.docroot = self.prefix / "html"
        self.logs = self.prefix / "logs"
        self.config = self.prefix / "nginx.conf"
        self.pid_file = self.prefix / "nginx.pid"
        self.access_log_path = self.logs / "access.log"
        self.connection_log_path = self.logs / "connection.log"
        self.error_log_path = self.logs / "error.log"
        self.port = 0
        self.tls = tls
        #: The HTTPS port (0 without TLS or before start()).
        self.tls_port = 0
        #: The CA that issued the server's certificate, PEM ("" without TLS).
        self.ca_pem = ""
        self.ca_path = self.prefix / "tls" / "ca.pem"
        self._proc: subprocess.Popen[bytes] | None = None
        for directory in (self.docroot, self.logs, self.prefix / "temp"):
            directory.mkdir(parents=True, exist_ok=True)
        version = subprocess.run(
            [self.binary, "-V"], capture_output=True, check=False, timeout=10
        ).stderr.decode("utf-8", "replace")
        #: Whether this nginx was built with debug logging (Debian's builds are).
        self.has_debug_log = "--with-debug" in version
        if tls:
            if "--with-http_ssl_module" not in version:
                pytest.skip(f"{self.binary} was built without the ssl module")
            self._write_certificates()

    def _write_certificates(self) -> None:
        """A trustme CA and a leaf for localhost and 127.0.0.1, as PEM files in ``tls/``."""
        import trustme  # noqa: PLC0415 - a test dependency, needed only for TLS

        directory = self.prefix / "tls"
        directory.mkdir(exist_ok=True)
        ca = trustme.CA()
        leaf = ca.issue_cert("localhost", "127.0.0.1")
        self.ca_pem = ca.cert_pem.bytes().decode("ascii")
        self.ca_path.write_text(self.ca_pem)
        (directory / "server.pem").write_bytes(
            b"".join(pem.bytes() for pem in leaf.cert_chain_pems)
        )
        _write_private(directory / "server.key", leaf.private_key_pem.bytes())

    # -- life cycle ------------------------------------------------------------------------

    def __enter__(self) -> NginxServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 10.0) -> None:
        """Start nginx and wait (bounded) until its port accepts connections.

        The port is picked free just before; if something takes it first, nginx fails
        to bind and is started again on another port.
        """
        problems = []
        for _attempt in range(5):
            if self.tls:
                self.port, self.tls_port = _free_ports(2)
            else:
                (self.port,) = _free_ports(1)
            self._write_config()
            if self._launch(timeout):
                return
            problems.append(self._startup_problem())
            if "Address already in use" not in problems[-1]:
                break
        raise RuntimeError("nginx did not start:\n" + "\n".join(problems))

    def _write_config(self) -> None:
        text = (
            _CONFIG.replace("@USER@", "user root;" if os.geteuid() == 0 else "")
            .replace("@TLS_SERVER@", _TLS_SERVER if self.tls else "")
            .replace("@LOCATIONS@", _LOCATIONS)
            .replace("@PREFIX@", str(self.prefix))
            .replace("@DOCROOT@", str(self.docroot))
            .replace("@PORT@", str(self.port))
            .replace("@TLS_PORT@", str(self.tls_port))
        )
        self.config.write_text(text)

    def _launch(self, timeout: float) -> bool:
        self.pid_file.unlink(missing_ok=True)
        with open(self.logs / "stderr.log", "ab") as stderr:
            self._proc = subprocess.Popen(
                [
                    self.binary,
                    "-p",
                    f"{self.prefix}/",
                    "-c",
                    str(self.config),
                    "-e",
                    str(self.error_log_path),
                    "-g",
                    "daemon off;",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                # Its own process group, so that the SIGKILL fallback reaches the worker.
                start_new_session=True,
            )
        proc = self._proc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # nginx writes its pid file after binding the ports: a pid file with our PID
            # means the listeners are ours, not another process that took a port.
            if self._pid_file_matches(proc.pid) and all(
                self._accepts_connections(port) for port in self._ports()
            ):
                return True
            try:
                proc.wait(timeout=0.01)  # returns at once if nginx exits
            except subprocess.TimeoutExpired:
                continue
            return False
        self.stop()
        raise RuntimeError(
            f"nginx did not accept connections on ports {self._ports()} within {timeout} s:\n"
            + self._startup_problem()
        )

    def _pid_file_matches(self, pid: int) -> bool:
        try:
            return self.pid_file.read_text().strip() == str(pid)
        except OSError:
            return False

    def _ports(self) -> list[int]:
        return [self.port, self.tls_port] if self.tls else [self.port]

    @staticmethod
    def _accepts_connections(port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return True
        except OSError:
            return False

    def _startup_problem(self) -> str:
        texts = []
        for path in (self.logs / "stderr.log", self.error_log_path):
            if path.exists():
                texts.append(path.read_text(errors="replace")[-4000:])
        return "\n".join(texts) or "(no error output)"

    def stop(self, timeout: float = 5.0) -> None:
        """Stop nginx by PID: SIGQUIT (graceful), wait, then SIGKILL to its process group."""
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGQUIT)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=timeout)

    @property
    def pid(self) -> int | None:
        """The master process's PID while nginx runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    # -- content and logs ----------------------------------------------------------------

    def write_file(self, name: str, data: bytes) -> Path:
        """Put a file in the docroot (``name`` may contain directories)."""
        path = self.docroot / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def access_log(self) -> list[AccessEntry]:
        """All requests nginx has logged so far, oldest first."""
        if not self.access_log_path.exists():
            return []
        entries = []
        for line in self.access_log_path.read_text().splitlines():
            if line.strip():
                entries.append(AccessEntry(**json.loads(line)))
        return entries

    def wait_for_access(
        self, predicate: Callable[[AccessEntry], bool], count: int, timeout: float = 5.0
    ) -> list[AccessEntry]:
        """Wait until ``count`` logged requests match; nginx logs a request after sending it."""
        deadline = time.monotonic() + timeout
        while True:
            entries = [entry for entry in self.access_log() if predicate(entry)]
            if len(entries) >= count:
                return entries
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"nginx logged {len(entries)} of {count} expected requests: {entries}"
                )
            time.sleep(0.002)

    def tagged(self, tag: str, count: int, timeout: float = 5.0) -> list[AccessEntry]:
        """The requests whose target carries ``t=<tag>`` in its query (see `query`)."""
        marker = f"t={tag}"
        return self.wait_for_access(
            lambda entry: marker in entry.uri.partition("?")[2].split("&"), count, timeout
        )

    def connection_events(self, connection: int) -> list[str]:
        """Debug-log messages of one connection made through ``/close/``."""
        if not self.connection_log_path.exists():
            return []
        marker = f" *{connection} "
        return [
            line.split(marker, 1)[1]
            for line in self.connection_log_path.read_text(errors="replace").splitlines()
            if marker in line
        ]

    def wait_for_connection_event(self, connection: int, text: str, timeout: float = 5.0) -> None:
        """Wait until nginx's debug log shows ``text`` for ``connection``."""
        deadline = time.monotonic() + timeout
        while not any(text in event for event in self.connection_events(connection)):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"nginx never logged {text!r} for connection {connection}: "
                    f"{self.connection_events(connection)[-10:]}"
                )
            time.sleep(0.002)


def query(path: str, tag: str, **extra: object) -> str:
    """``path`` with ``?t=<tag>`` (and more fields), to find the request in the access log."""
    fields = [f"t={tag}", *(f"{name}={value}" for name, value in extra.items())]
    return f"{path}?{'&'.join(fields)}"


# -- large files with a checkable byte pattern ----------------------------------------------


def pattern(offset: int, length: int) -> bytes:
    """The pattern file's bytes at ``offset``: byte i is ``i % 251``."""
    start = offset % PATTERN_PERIOD
    repeats = (start + length) // PATTERN_PERIOD + 1
    return (_PATTERN_UNIT * repeats)[start : start + length]


def write_pattern_file(path: Path, size: int) -> None:
    """Write ``size`` pattern bytes in blocks of about 1 MiB (never all in memory)."""
    block = _PATTERN_UNIT * 4096  # a whole number of periods: every block is the same
    with open(path, "wb") as out:
        left = size
        while left >= len(block):
            out.write(block)
            left -= len(block)
        out.write(block[:left])


class PatternChecker:
    """Checks a body against the pattern chunk by chunk, holding no more than one chunk."""

    def __init__(self, max_chunk: int) -> None:
        self._template = _PATTERN_UNIT * (max_chunk // PATTERN_PERIOD + 2)
        self.offset = 0

    def feed(self, chunk: bytes) -> None:
        start = self.offset % PATTERN_PERIOD
        if len(chunk) > len(self._template) - start:
            raise AssertionError(f"chunk of {len(chunk)} bytes is larger than expected")
        expected = self._template[start : start + len(chunk)]
        if chunk != expected:
            bad = next(i for i, (a, b) in enumerate(zip(chunk, expected, strict=True)) if a != b)
            raise AssertionError(f"wrong body byte at offset {self.offset + bad}")
        self.offset += len(chunk)
