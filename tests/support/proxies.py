"""Forward proxies on 127.0.0.1 for the proxy tests: tinyproxy, proxy.py and a scripted one.

`ProxyProcess` runs a real proxy in the foreground with everything it writes (config, pid
file, logs) inside one temporary directory, waits (bounded) until its port accepts
connections, and stops it by PID (SIGTERM, then SIGKILL to its process group) on exit.
Build one with `tinyproxy()` (Debian's binary; ``BasicAuth`` and ``ConnectPort`` options)
or `proxy_py()` (the PyPI package; ``--basic-auth`` and a TLS certificate).

`RawProxy` is a threaded raw-socket server for byte-exact edge cases: ``handler(conn)``
runs on its own thread for every accepted connection with a `ProxyConnection`, which reads
request heads (recorded in ``RawProxy.heads``), sends bytes as given, relays a tunnel to
an origin on 127.0.0.1, and records what the client sent after a head.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from .servers import ThreadedListener

TINYPROXY_PATHS = ("/usr/bin/tinyproxy", "/usr/sbin/tinyproxy", "/usr/local/bin/tinyproxy")


# -- real proxies in a subprocess ------------------------------------------------------------


def find_tinyproxy() -> str:
    """The tinyproxy binary; skips the test if there is none."""
    for candidate in (*TINYPROXY_PATHS, shutil.which("tinyproxy")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.skip("tinyproxy not found; scripts/test installs it (Debian package tinyproxy)")


def free_port() -> int:
    """A port that is free on 127.0.0.1 now (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def accepts_connections(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens on ``host:port`` (a TCP connect succeeds)."""
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


class ProxyProcess:
    """A proxy process on 127.0.0.1 living in ``directory``; a context manager.

    ``launch(port)`` returns the command line for a port; ``port_file``, when given, is
    where the proxy writes the port it bound (proxy.py's ``--port 0 --port-file``), so
    no free port has to be guessed.
    """

    def __init__(
        self,
        name: str,
        directory: Path,
        launch: Callable[[int], Sequence[str]],
        *,
        port_file: Path | None = None,
    ) -> None:
        self.name = name
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.output_path = self.directory / "output.log"
        self.port = 0
        self._launch_argv = launch
        self._port_file = port_file
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ProxyProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        """The proxy's PID while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def start(self, timeout: float = 15.0) -> None:
        """Start the proxy and wait (bounded) until its port accepts connections.

        A port picked free just before may be taken by someone else first: the proxy then
        exits, and is started again on another port.
        """
        problems: list[str] = []
        for _attempt in range(5):
            if self._launch(timeout):
                return
            problems.append(self.output())
            if "in use" not in problems[-1]:
                break
        raise RuntimeError(f"{self.name} did not start:\n" + "\n".join(problems))

    def _launch(self, timeout: float) -> bool:
        port = 0 if self._port_file is not None else free_port()
        if self._port_file is not None:
            self._port_file.unlink(missing_ok=True)
        with open(self.output_path, "ab") as output:
            self._proc = subprocess.Popen(
                list(self._launch_argv(port)),
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                # Its own process group, so that the SIGKILL fallback reaches any child.
                start_new_session=True,
            )
        proc = self._proc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if port == 0:
                port = self._read_port_file()
            if port and accepts_connections(port):
                self.port = port
                return True
            try:
                proc.wait(timeout=0.01)  # returns at once if the proxy exits
            except subprocess.TimeoutExpired:
                continue
            self._proc = None
            return False
        self.stop()
        raise RuntimeError(
            f"{self.name} did not accept connections within {timeout} s:\n{self.output()}"
        )

    def _read_port_file(self) -> int:
        assert self._port_file is not None
        try:
            text = self._port_file.read_text().split()
        except OSError:
            return 0
        return int(text[0]) if text and text[0].isdigit() else 0

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the proxy by PID: SIGTERM, wait, then SIGKILL to its process group."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=timeout)
        # Children (proxy.py's acceptors) that outlived their parent share its group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    def output(self) -> str:
        """What the proxy printed (its log, for tinyproxy), for failure messages."""
        texts = []
        for path in sorted(self.directory.glob("*.log")):
            texts.append(f"--- {path.name}\n" + path.read_text(errors="replace")[-4000:])
        return "\n".join(texts) or "(no output)"


def tinyproxy(
    directory: Path,
    *,
    basic_auth: tuple[str, str] | None = None,
    connect_ports: Sequence[int] = (),
) -> ProxyProcess:
    """tinyproxy in the foreground (``-d``) with its own config in ``directory``.

    ``basic_auth`` adds ``BasicAuth user pass``; ``connect_ports`` allows CONNECT to those
    ports only (``ConnectPort`` lines; with none, every port is allowed).
    """
    binary = find_tinyproxy()
    directory = Path(directory)

    def launch(port: int) -> list[str]:
        lines = [
            f"Port {port}",
            "Listen 127.0.0.1",
            f'PidFile "{directory / "tinyproxy.pid"}"',
            f'LogFile "{directory / "tinyproxy.log"}"',
            "LogLevel Info",
            "Timeout 30",
            "MaxClients 64",
            "Allow 127.0.0.1",
        ]
        if basic_auth is not None:
            lines.append(f"BasicAuth {basic_auth[0]} {basic_auth[1]}")
        lines += [f"ConnectPort {allowed}" for allowed in connect_ports]
        config = directory / "tinyproxy.conf"
        config.write_text("\n".join(lines) + "\n")
        return [binary, "-d", "-c", str(config)]

    return ProxyProcess("tinyproxy", directory, launch)


def proxy_py(
    directory: Path,
    *,
    basic_auth: tuple[str, str] | None = None,
    cert_file: Path | None = None,
    key_file: Path | None = None,
) -> ProxyProcess:
    """proxy.py (``python -m proxy``) with one worker; TLS to clients with a certificate."""
    directory = Path(directory)
    port_file = directory / "port"

    def launch(port: int) -> list[str]:
        argv = [
            sys.executable,
            "-m",
            "proxy",
            "--hostname",
            "127.0.0.1",
            "--port",
            str(port),
            "--port-file",
            str(port_file),
            "--num-workers",
            "1",
            "--num-acceptors",
            "1",
            "--log-file",
            str(directory / "proxy.log"),
        ]
        if basic_auth is not None:
            argv += ["--basic-auth", f"{basic_auth[0]}:{basic_auth[1]}"]
        if cert_file is not None and key_file is not None:
            argv += ["--cert-file", str(cert_file), "--key-file", str(key_file)]
        return argv

    return ProxyProcess("proxy.py", directory, launch, port_file=port_file)


# -- the scripted raw proxy ------------------------------------------------------------------


class ProxyConnection:
    """One accepted connection of a `RawProxy`, for its handler."""

    def __init__(self, proxy: RawProxy, sock: socket.socket) -> None:
        self.proxy = proxy
        self.sock = sock
        self.pending = bytearray()  # read past the last head
        sock.settimeout(0.02)

    def _recv(self) -> bytes:
        """Bytes from the client; b"" at its end (or when the proxy stops)."""
        while not self.proxy.stopping.is_set():
            try:
                return self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return b""
        return b""

    def read_head(self) -> bytes | None:
        """Read one request head (through the blank line), record it, and return it."""
        while b"\r\n\r\n" not in self.pending:
            data = self._recv()
            if not data:
                return None
            self.pending += data
        end = self.pending.index(b"\r\n\r\n") + 4
        head = bytes(self.pending[:end])
        del self.pending[:end]
        self.proxy.heads.append(head)
        return head

    def read_request(self) -> bytes | None:
        """Read a head and its Content-Length body; record it in ``heads`` and return both."""
        head = self.read_head()
        if head is None:
            return None
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(self.pending) < length:
            data = self._recv()
            if not data:
                break
            self.pending += data
        body = bytes(self.pending[:length])
        del self.pending[:length]
        return head + body

    def send(self, data: bytes) -> None:
        """Send bytes exactly as given, in one ``sendall`` (one write)."""
        self.sock.settimeout(5.0)
        try:
            self.sock.sendall(data)
        finally:
            self.sock.settimeout(0.02)

    def collect_until_close(self) -> bytes:
        """Everything the client sends until it closes; recorded in ``RawProxy.after_head``."""
        received = bytearray(self.pending)
        self.pending.clear()
        while True:
            data = self._recv()
            if not data:
                break
            received += data
        self.proxy.after_head.append(bytes(received))
        return bytes(received)

    def wait_for_data(self) -> bytes:
        """The next bytes the client sends after the head (b"" if it closes first)."""
        if self.pending:
            data = bytes(self.pending)
            self.pending.clear()
            return data
        return self._recv()

    def relay(self, port: int, host: str = "127.0.0.1") -> None:
        """Carry bytes both ways between the client and ``host:port`` until both ends close.

        What the client sends is recorded (``RawProxy.upstream``) for checks on the tunnel.
        """
        upstream_record = bytearray()
        self.proxy.upstream.append(upstream_record)
        with socket.create_connection((host, port), timeout=5.0) as origin:
            origin.setblocking(False)
            self.sock.setblocking(False)
            if self.pending:
                origin.sendall(bytes(self.pending))
                upstream_record += self.pending
                self.pending.clear()
            open_ends = {self.sock: origin, origin: self.sock}
            while open_ends and not self.proxy.stopping.is_set():
                readable, _, _ = select.select(list(open_ends), [], [], 0.02)
                for source in readable:
                    target = open_ends[source]
                    try:
                        data = source.recv(65536)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        del open_ends[source]
                        with contextlib.suppress(OSError):
                            target.shutdown(socket.SHUT_WR)
                        continue
                    if source is self.sock:
                        upstream_record += data
                    target.setblocking(True)
                    target.settimeout(5.0)
                    try:
                        target.sendall(data)
                    except OSError:
                        open_ends.clear()
                    finally:
                        target.setblocking(False)


class RawProxy(ThreadedListener):
    """A raw-socket proxy on ``host`` (127.0.0.1) and a free port; a context manager.

    ``handler(conn)`` runs on its own thread for each connection; the connection is closed
    when it returns. Recorded: ``connections``, ``heads`` (every head read), ``after_head``
    (what `ProxyConnection.collect_until_close` saw), ``upstream`` (what the client sent
    into each relayed tunnel) and ``errors`` (exceptions the handlers raised, as text).
    """

    def __init__(
        self, handler: Callable[[ProxyConnection], object], host: str = "127.0.0.1"
    ) -> None:
        super().__init__(host)
        self.stopping = self._stop
        self.handler = handler
        self.heads: list[bytes] = []
        self.after_head: list[bytes] = []
        self.upstream: list[bytearray] = []
        self.errors: list[str] = []

    def handle(self, sock: socket.socket, index: int) -> None:
        try:
            self.handler(ProxyConnection(self, sock))
        except Exception as exc:  # reported to the test through ``errors``
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            sock.close()

    def wait_for_connections(self, count: int, timeout: float = 5.0) -> None:
        """Wait (bounded) until ``count`` connections were accepted and handled."""
        deadline = time.monotonic() + timeout
        while self.connections < count or any(t.is_alive() for t in self._threads[:count]):
            if time.monotonic() > deadline:
                raise AssertionError(f"the proxy handled {self.connections} of {count}")
            time.sleep(0.002)
