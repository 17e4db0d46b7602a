"""A small local HTTP/1.1 server, so that examples and the demo run offline.

It serves ``/`` (a short text), ``/chunked`` (a chunked body with a trailer) and ``/large``
(1 MiB) over persistent connections. It is for trying pollhttp, not for production.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["DemoServer"]

_HELLO = b"Hello from the pollhttp demo server!\n"
_LARGE = bytes(range(256)) * 4096  # 1 MiB


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # persistent connections
    disable_nagle_algorithm = True  # chunks are written one by one

    def log_message(self, format: str, *args: object) -> None:
        pass  # the demo prints its own trace

    def do_GET(self) -> None:
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(5):
                piece = f"chunk {i}\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\nX-Checksum: demo\r\n\r\n")
            return
        body = _LARGE if self.path == "/large" else _HELLO
        status = 200 if self.path in ("/", "/large") else 404
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class DemoServer:
    """A threaded server on 127.0.0.1 and a free port; use as a context manager."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> DemoServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
