"""nginx for the benchmarks: 127.0.0.1, HTTP and HTTPS, keep-alive, one worker.

The approach is that of tests/support/nginx.py (foreground nginx, everything in one
temporary directory, stopped by PID), without pytest, with the benchmark's locations:

* ``/small`` (13 bytes), ``/1k``, ``/100m``, ``/50m``: static files, sendfile on.
* ``/chunked/50m``: a response of unknown length, so nginx sends it chunked. nginx
  proxies ``/50m`` from a second server block of its own (on a unix socket), with
  ``proxy_hide_header Content-Length`` (the length is not passed on, so HTTP/1.1 clients
  get ``Transfer-Encoding: chunked``) and ``proxy_buffering off`` with a 64 KiB
  ``proxy_buffer_size``: each read from the upstream (at most 64 KiB) is sent as one
  chunk. `check_chunked` looks at the wire and records the chunk sizes.
* ``/upload``: answers only after it has read the whole request body. ``return 200``
  would not do: nginx answers first and discards the body afterwards. Here the body is
  read into memory (``client_body_buffer_size 64m``: no temporary file) because
  ``proxy_pass`` reads the whole body before it contacts the upstream
  (``proxy_request_buffering`` is on by default); the body itself is not forwarded
  (``proxy_pass_request_body off``), and the upstream answers ``ok <Content-Length>``.
  `check_upload_waits` proves on the wire that no answer comes before the last byte.
* ``/nginx-status``: stub_status, when this nginx has the module (Debian's do): its
  ``accepts`` counter lets ``onecall_1000`` count the connections a client opened.

The keep-alive limits are raised so that 3,000 requests share one connection.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from _common import (
    CHUNKED_PATH,
    CHUNKED_SIZE,
    DOWNLOAD_SIZE,
    ONE_K_BODY,
    PATTERN_PERIOD,
    SMALL_BODY,
    STATUS_PATH,
    UPLOAD_PATH,
    upload_answer,
)

NGINX_PATHS = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")

_CONFIG = """\
@USER@
worker_processes 1;
pid @PREFIX@/nginx.pid;
error_log @PREFIX@/logs/error.log warn;

events {
    worker_connections 1024;
}

http {
    default_type application/octet-stream;
    access_log off;

    client_body_temp_path @PREFIX@/temp/client_body;
    proxy_temp_path @PREFIX@/temp/proxy;
    fastcgi_temp_path @PREFIX@/temp/fastcgi;
    uwsgi_temp_path @PREFIX@/temp/uwsgi;
    scgi_temp_path @PREFIX@/temp/scgi;

    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 300s;
    keepalive_requests 1000000;

    server {
        listen 127.0.0.1:@PORT@ backlog=1024;
        listen 127.0.0.1:@TLS_PORT@ ssl backlog=1024;
        server_name localhost;
        root @DOCROOT@;

        ssl_certificate @PREFIX@/tls/server.pem;
        ssl_certificate_key @PREFIX@/tls/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;

        location / {
        }

        location = @CHUNKED_PATH@ {
            alias @DOCROOT@/50m;
            sendfile off;
            output_buffers 1 64k;
            add_after_body /empty;
            addition_types *;
        }

        location = @UPLOAD_PATH@ {
            client_max_body_size 64m;
            client_body_buffer_size 64m;
            proxy_pass http://unix:@UPSTREAM@:/upload-done;
            proxy_method GET;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Body-Length $content_length;
        }
@STATUS@
    }

    server {
        listen unix:@UPSTREAM@;
        root @DOCROOT@;

        location / {
        }

        location = /upload-done {
            default_type text/plain;
            return 200 "ok $http_x_body_length\\n";
        }
    }
}
"""


def find_nginx() -> str | None:
    for candidate in (*NGINX_PATHS, shutil.which("nginx")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _free_ports(count: int) -> list[int]:
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def write_pattern_file(path: Path, size: int) -> None:
    """``size`` pattern bytes (byte i is i % 251), written in blocks of about 1 MiB."""
    block = bytes(range(PATTERN_PERIOD)) * 4096  # whole periods: every block is the same
    with open(path, "wb") as out:
        left = size
        while left >= len(block):
            out.write(block)
            left -= len(block)
        out.write(block[:left])


class BenchNginx:
    """nginx in ``base`` (a directory it owns); a context manager.

    ``wrap`` turns the nginx command into the one to run (e.g. ``taskset -c 1 ...``), or
    ``preexec_fn`` pins the process; the worker inherits the master's CPU affinity.
    """

    def __init__(
        self,
        base: Path,
        *,
        wrap: Callable[[list[str]], list[str]] = lambda cmd: cmd,
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        binary = find_nginx()
        if binary is None:
            raise SystemExit(
                "nginx not found (looked in " + ", ".join(NGINX_PATHS) + " and PATH): "
                "apt-get install nginx-light"
            )
        self.binary = binary
        self.wrap = wrap
        self.preexec_fn = preexec_fn
        self.prefix = Path(base)
        self.docroot = self.prefix / "html"
        self.logs = self.prefix / "logs"
        self.config = self.prefix / "nginx.conf"
        self.pid_file = self.prefix / "nginx.pid"
        self.upstream = self.prefix / "upstream.sock"
        self.ca_path = self.prefix / "tls" / "ca.pem"
        self.port = self.tls_port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        for directory in (self.docroot, self.logs, self.prefix / "temp", self.prefix / "tls"):
            directory.mkdir(parents=True, exist_ok=True)
        self.version = (
            subprocess.run([binary, "-v"], capture_output=True, check=False, timeout=10)
            .stderr.decode("utf-8", "replace")
            .strip()
            .removeprefix("nginx version: ")
        )
        built_with = subprocess.run(
            [binary, "-V"], capture_output=True, check=False, timeout=10
        ).stderr.decode("utf-8", "replace")
        self.has_status = "--with-http_stub_status_module" in built_with
        self._write_certificates()
        self._write_files()

    def _write_certificates(self) -> None:
        """A trustme CA and a leaf for localhost and 127.0.0.1."""
        import trustme  # noqa: PLC0415 - needed only here, not in client processes

        ca = trustme.CA()
        leaf = ca.issue_cert("localhost", "127.0.0.1")
        self.ca_path.write_bytes(ca.cert_pem.bytes())
        tls = self.prefix / "tls"
        (tls / "server.pem").write_bytes(b"".join(pem.bytes() for pem in leaf.cert_chain_pems))
        fd = os.open(tls / "server.key", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(leaf.private_key_pem.bytes())

    def _write_files(self) -> None:
        (self.docroot / "small").write_bytes(SMALL_BODY)
        (self.docroot / "1k").write_bytes(ONE_K_BODY)
        (self.docroot / "empty").write_bytes(b"")
        write_pattern_file(self.docroot / "100m", DOWNLOAD_SIZE)
        write_pattern_file(self.docroot / "50m", CHUNKED_SIZE)

    def __enter__(self) -> BenchNginx:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 10.0) -> None:
        problems = []
        for _attempt in range(5):
            self.port, self.tls_port = _free_ports(2)
            self.upstream.unlink(missing_ok=True)
            text = (
                _CONFIG.replace("@USER@", "user root;" if os.geteuid() == 0 else "")
                .replace("@PREFIX@", str(self.prefix))
                .replace("@DOCROOT@", str(self.docroot))
                .replace("@UPSTREAM@", str(self.upstream))
                .replace("@CHUNKED_PATH@", CHUNKED_PATH)
                .replace("@UPLOAD_PATH@", UPLOAD_PATH)
                .replace(
                    "@STATUS@",
                    f"\n        location = {STATUS_PATH} {{\n            stub_status;\n        }}"
                    if self.has_status
                    else "",
                )
                .replace("@PORT@", str(self.port))
                .replace("@TLS_PORT@", str(self.tls_port))
            )
            self.config.write_text(text)
            if self._launch(timeout):
                return
            problems.append(self._startup_problem())
            if "Address already in use" not in problems[-1]:
                break
        raise RuntimeError("nginx did not start:\n" + "\n".join(problems))

    def _launch(self, timeout: float) -> bool:
        self.pid_file.unlink(missing_ok=True)
        command = [
            self.binary,
            "-p",
            f"{self.prefix}/",
            "-c",
            str(self.config),
            "-e",
            str(self.logs / "error.log"),
            "-g",
            "daemon off;",
        ]
        with open(self.logs / "stderr.log", "ab") as stderr:
            self._proc = subprocess.Popen(
                self.wrap(command),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
                # Only when there is no taskset, to pin; no threads run at this point.
                preexec_fn=self.preexec_fn,  # noqa: PLW1509
            )
        proc = self._proc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._pid_file_matches(proc.pid) and all(
                self._accepts(port) for port in (self.port, self.tls_port)
            ):
                return True
            try:
                proc.wait(timeout=0.01)
            except subprocess.TimeoutExpired:
                continue
            return False
        self.stop()
        raise RuntimeError("nginx did not accept connections in time:\n" + self._startup_problem())

    def _pid_file_matches(self, pid: int) -> bool:
        try:
            return self.pid_file.read_text().strip() == str(pid)
        except OSError:
            return False

    @staticmethod
    def _accepts(port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return True
        except OSError:
            return False

    def _startup_problem(self) -> str:
        texts = []
        for path in (self.logs / "stderr.log", self.logs / "error.log"):
            if path.exists():
                texts.append(path.read_text(errors="replace")[-4000:])
        return "\n".join(texts) or "(no error output)"

    @property
    def master_pid(self) -> int:
        """The nginx master's process id (-1 when it is not running)."""
        return self._proc.pid if self._proc is not None else -1

    def worker_pids(self) -> list[int]:
        """The worker processes (children of the master), from /proc."""
        if self._proc is None:
            return []
        master = self._proc.pid
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                pids.append(int(entry.name))
        return pids

    def stop(self, timeout: float = 5.0) -> None:
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

    # -- checks of the server's behaviour, made once per run -------------------------------

    def _request(self, raw: bytes, tls: bool = False, timeout: float = 10.0) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.tls_port if tls else self.port))
        sock.settimeout(timeout)
        if tls:
            context = ssl.create_default_context(cafile=str(self.ca_path))
            sock = context.wrap_socket(sock, server_hostname="127.0.0.1")
        sock.sendall(raw)
        return sock

    def check_upload_waits(self, size: int = 4 * 1024 * 1024) -> None:
        """``/upload`` must not answer before the whole body is in; then it says its length."""
        head = (
            f"POST {UPLOAD_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {size}\r\n\r\n"
        ).encode()
        with self._request(head + bytes(size // 2)) as sock:
            sock.settimeout(0.3)
            try:
                early = sock.recv(1024)
            except TimeoutError:
                early = b""
            if early:
                raise RuntimeError(f"nginx answered /upload before the body was in: {early!r}")
            sock.settimeout(10)
            sock.sendall(bytes(size - size // 2))
            answer = _read_response(sock)
        if not (answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(upload_answer(size))):
            raise RuntimeError(f"unexpected /upload answer: {answer[-200:]!r}")

    def check_chunked(self) -> dict[str, object]:
        """``/chunked/50m`` must be chunked; returns how its chunk sizes came out."""
        raw = f"GET {CHUNKED_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        sizes: list[int] = []
        with self._request(raw.encode()) as sock:
            buf = bytearray()
            while b"\r\n\r\n" not in buf:
                buf += sock.recv(65536)
            end = buf.index(b"\r\n\r\n")
            head = bytes(buf[:end])
            del buf[: end + 4]
            if b"\r\ntransfer-encoding: chunked" not in head.lower():
                raise RuntimeError(f"{CHUNKED_PATH} is not chunked: {head!r}")
            while True:  # the chunks, without holding the body
                while b"\r\n" not in buf:
                    buf += sock.recv(65536)
                end = buf.index(b"\r\n")
                size = int(bytes(buf[:end]).split(b";")[0], 16)
                del buf[: end + 2]
                if size == 0:
                    break
                while len(buf) < size + 2:
                    piece = sock.recv(1 << 20)
                    if not piece:
                        raise RuntimeError(f"{CHUNKED_PATH} ended early")
                    buf += piece
                if buf[size : size + 2] != b"\r\n":
                    raise RuntimeError(f"{CHUNKED_PATH}: chunk not followed by CRLF")
                del buf[: size + 2]
                sizes.append(size)
        if sum(sizes) != CHUNKED_SIZE:
            raise RuntimeError(f"{CHUNKED_PATH} carried {sum(sizes)} bytes")
        full = sum(1 for size in sizes if size == 65536)
        return {
            "chunks": len(sizes),
            "chunks_of_64k": full,
            "smallest": min(sizes),
            "largest": max(sizes),
        }


def _read_response(sock: socket.socket) -> bytes:
    """A whole response with a Content-Length (enough for the checks above)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError(f"connection closed in the response head: {data!r}")
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].lower()
    length = int(head.split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
    while len(data) < len(head) + 4 + length:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed in the response body")
        data += chunk
    return data
