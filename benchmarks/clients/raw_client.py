"""The raw-socket loop: the most a Python client could do, not a usable client.

It sends request bytes built once, reads with ``recv_into`` into one reusable buffer, and
parses only what it must to find the body (the end of the head, Content-Length, chunk
sizes); body pieces go to the checker as views of that buffer, never copied. The
``concurrent`` loop is one thread with a selector over 64 non-blocking sockets.
"""

from __future__ import annotations

import selectors
import socket
import ssl
from collections.abc import Callable

from _common import ONE_K_BODY, ONE_K_PATH, Config, Measurement, expect

from clients import _shape

_LENGTH = b"\r\nContent-Length: "
_CHUNKED = b"\r\nTransfer-Encoding: chunked"


def open_socket(config: Config, tls: bool) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", config.tls_port if tls else config.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls:
        context = ssl.create_default_context(cafile=config.ca_path)
        sock = context.wrap_socket(sock, server_hostname="127.0.0.1")
    return sock


class Client:
    def __init__(self, config: Config, tls: bool) -> None:
        self.sock = open_socket(config, tls)
        self.host = f"Host: 127.0.0.1:{config.tls_port if tls else config.port}\r\n".encode()
        self.buf = bytearray(max(config.read_size, 65536))
        self.view = memoryview(self.buf)
        self.requests: dict[str, bytes] = {}
        self.n = self.pos = 0

    def _head(self) -> tuple[int, int, int]:
        """Read a response head: (status, body start, Content-Length or -1 for chunked)."""
        buf, view, recv_into = self.buf, self.view, self.sock.recv_into
        n = recv_into(buf)
        end = buf.find(b"\r\n\r\n", 0, n)
        while end < 0:
            got = recv_into(view[n:])
            expect(got > 0, "connection closed in the head")
            n += got
            end = buf.find(b"\r\n\r\n", 0, n)
        self.n = n
        at = buf.find(_LENGTH, 0, end)
        if at < 0:
            expect(buf.find(_CHUNKED, 0, end) >= 0, "neither Content-Length nor chunked")
            return int(buf[9:12]), end + 4, -1
        start = at + len(_LENGTH)
        return int(buf[9:12]), end + 4, int(buf[start : buf.find(b"\r", start)])

    def _whole(self) -> tuple[int, bytes]:
        status, start, length = self._head()
        total, n = start + length, self.n
        while n < total:
            got = self.sock.recv_into(self.view[n:total])
            expect(got > 0, "connection closed in the body")
            n += got
        return status, bytes(self.view[start:total])

    def get(self, path: str) -> tuple[int, bytes]:
        request = self.requests.get(path)
        if request is None:
            request = self.requests[path] = b"GET %s HTTP/1.1\r\n%s\r\n" % (
                path.encode(),
                self.host,
            )
        self.sock.sendall(request)
        return self._whole()

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        head = b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n" % (
            path.encode(),
            self.host,
            len(body),
        )
        self.sock.sendall(head)
        self.sock.sendall(body)
        return self._whole()

    def stream(self, path: str, feed: Callable[[bytes], None]) -> int:
        self.sock.sendall(b"GET %s HTTP/1.1\r\n%s\r\n" % (path.encode(), self.host))
        status, start, length = self._head()
        view, recv_into = self.view, self.sock.recv_into
        if length < 0:
            self.pos = start
            self._chunked(feed)
            return status
        n = self.n
        have = min(n - start, length)
        if have:
            feed(view[start : start + have])
        left = length - have
        while left:
            got = recv_into(view[: min(left, len(view))])
            expect(got > 0, "connection closed in the body")
            feed(view[:got])
            left -= got
        return status

    def _fill(self) -> None:
        self.n = self.sock.recv_into(self.buf)
        self.pos = 0
        expect(self.n > 0, "connection closed in a chunked body")

    def _line(self) -> bytes:
        buf, line = self.buf, b""
        while True:
            end = buf.find(b"\n", self.pos, self.n)
            if end >= 0:
                line += bytes(buf[self.pos : end + 1])
                self.pos = end + 1
                return line
            line += bytes(buf[self.pos : self.n])
            self._fill()

    def _chunked(self, feed: Callable[[bytes], None]) -> None:
        view = self.view
        while True:
            size = int(self._line().split(b";", 1)[0], 16)
            if size == 0:
                while self._line() != b"\r\n":  # trailer fields, if any
                    pass
                return
            while size:
                if self.pos == self.n:
                    self._fill()
                take = min(size, self.n - self.pos)
                feed(view[self.pos : self.pos + take])
                self.pos += take
                size -= take
            expect(self._line() == b"\r\n", "chunk data not followed by CRLF")

    def close(self) -> None:
        self.sock.close()


def seq_small(config: Config, m: Measurement) -> None:
    _shape.small(config, m, Client, tls=False)


def tls_small(config: Config, m: Measurement) -> None:
    _shape.small(config, m, Client, tls=True)


def download_100m(config: Config, m: Measurement) -> None:
    _shape.bulk(config, m, Client, "download_100m")


def chunked_50m(config: Config, m: Measurement) -> None:
    _shape.bulk(config, m, Client, "chunked_50m")


def upload_50m(config: Config, m: Measurement) -> None:
    _shape.upload(config, m, Client)


def concurrent(config: Config, m: Measurement) -> None:
    warm = Client(config, False)
    status, body = warm.get(ONE_K_PATH)
    expect(status == 200 and body == ONE_K_BODY, "warm-up")
    warm.close()
    request = b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (ONE_K_PATH.encode(), config.port)

    def work() -> None:
        selector = selectors.DefaultSelector()
        state: dict[socket.socket, list] = {}  # sock -> [requests left, bytes so far]
        for _ in range(config.conc_connections):
            sock = socket.socket()
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.connect_ex(("127.0.0.1", config.port))
            state[sock] = [config.conc_requests, b""]
            selector.register(sock, selectors.EVENT_WRITE)
        while state:
            events = selector.select(5.0)
            expect(bool(events), "no socket ready for 5 s")
            for key, mask in events:
                sock = key.fileobj
                entry = state[sock]  # type: ignore[index]
                if mask & selectors.EVENT_WRITE:
                    expect(sock.send(request) == len(request), "short send")  # type: ignore[union-attr]
                    selector.modify(sock, selectors.EVENT_READ)
                    continue
                data = entry[1] + sock.recv(65536)  # type: ignore[union-attr]
                end = data.find(b"\r\n\r\n")
                if end < 0 or len(data) < end + 4 + 1024:
                    expect(bool(data) and len(data) > len(entry[1]), "connection closed")
                    entry[1] = data
                    continue
                expect(
                    data[9:12] == b"200" and data[end + 4 :] == ONE_K_BODY,
                    "wrong 1k response",
                )
                entry[0] -= 1
                entry[1] = b""
                if entry[0]:
                    expect(sock.send(request) == len(request), "short send")  # type: ignore[union-attr]
                else:
                    selector.unregister(sock)
                    sock.close()  # type: ignore[union-attr]
                    del state[sock]  # type: ignore[arg-type]
        selector.close()

    m.run(work, config.conc_connections * config.conc_requests)
