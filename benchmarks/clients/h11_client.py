"""h11 (sans-IO, pure Python) driven by hand over a plain or TLS socket.

Bodies are sent with ``send_with_data_passthrough`` (no copy of the upload). The
``concurrent`` loop is one thread with a selector over 64 non-blocking sockets, as for the
raw-socket loop.
"""

from __future__ import annotations

import selectors
import socket
from collections.abc import Callable

import h11
from _common import ONE_K_BODY, ONE_K_PATH, Config, Measurement, expect

from clients import _shape
from clients.raw_client import open_socket

SMALL_READ = 65536


class Client:
    def __init__(self, config: Config, tls: bool) -> None:
        self.sock = open_socket(config, tls)
        self.conn = h11.Connection(h11.CLIENT)
        self.host = f"127.0.0.1:{config.tls_port if tls else config.port}"
        self.read_size = config.read_size

    def _send(self, method: str, path: str, body: bytes = b"") -> None:
        conn = self.conn
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        headers = [("Host", self.host)]
        if method == "POST":
            headers.append(("Content-Length", str(len(body))))
        data = conn.send(h11.Request(method=method, target=path, headers=headers))
        if body:
            self.sock.sendall(data)
            for piece in conn.send_with_data_passthrough(h11.Data(data=body)):
                self.sock.sendall(piece)
            data = b""
        data += conn.send(h11.EndOfMessage())
        self.sock.sendall(data)

    def _receive(self, feed: Callable[[bytes], None], read_size: int) -> int:
        conn, recv = self.conn, self.sock.recv
        status = 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(recv(read_size))
            elif type(event) is h11.Data:
                feed(event.data)
            elif type(event) is h11.Response:
                status = event.status_code
            elif type(event) is h11.EndOfMessage:
                return status
            else:
                expect(False, f"unexpected h11 event {event!r}")

    def get(self, path: str) -> tuple[int, bytes]:
        self._send("GET", path)
        pieces: list[bytes] = []
        status = self._receive(pieces.append, SMALL_READ)
        return status, b"".join(pieces)

    def stream(self, path: str, feed: Callable[[bytes], None]) -> int:
        self._send("GET", path)
        return self._receive(feed, self.read_size)

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        self._send("POST", path, body)
        pieces: list[bytes] = []
        status = self._receive(pieces.append, SMALL_READ)
        return status, b"".join(pieces)

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


class _Slot:
    def __init__(self, sock: socket.socket, host: str, requests: int) -> None:
        self.sock, self.host, self.left = sock, host, requests
        self.conn = h11.Connection(h11.CLIENT)
        self.pieces: list[bytes] = []
        self.status = 0

    def send(self) -> None:
        conn = self.conn
        if conn.our_state is h11.DONE:
            conn.start_next_cycle()
        data = conn.send(
            h11.Request(method="GET", target=ONE_K_PATH, headers=[("Host", self.host)])
        ) + conn.send(h11.EndOfMessage())
        expect(self.sock.send(data) == len(data), "short send")

    def readable(self) -> bool:
        """Take what arrived; False once all requests are done."""
        conn = self.conn
        conn.receive_data(self.sock.recv(SMALL_READ))
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                return True
            if type(event) is h11.Data:
                self.pieces.append(event.data)
            elif type(event) is h11.Response:
                self.status = event.status_code
            elif type(event) is h11.EndOfMessage:
                if self.status != 200 or b"".join(self.pieces) != ONE_K_BODY:
                    expect(False, "wrong 1k response")
                self.pieces.clear()
                self.left -= 1
                if not self.left:
                    return False
                self.send()
                return True
            else:
                expect(False, f"unexpected h11 event {event!r}")


def concurrent(config: Config, m: Measurement) -> None:
    warm = Client(config, False)
    status, body = warm.get(ONE_K_PATH)
    expect(status == 200 and body == ONE_K_BODY, "warm-up")
    warm.close()
    host = f"127.0.0.1:{config.port}"

    def work() -> None:
        selector = selectors.DefaultSelector()
        for _ in range(config.conc_connections):
            sock = socket.socket()
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.connect_ex(("127.0.0.1", config.port))
            selector.register(sock, selectors.EVENT_WRITE, _Slot(sock, host, config.conc_requests))
        while selector.get_map():
            events = selector.select(5.0)
            expect(bool(events), "no socket ready for 5 s")
            for key, mask in events:
                slot: _Slot = key.data
                if mask & selectors.EVENT_WRITE:
                    slot.send()
                    selector.modify(slot.sock, selectors.EVENT_READ, slot)
                elif not slot.readable():
                    selector.unregister(slot.sock)
                    slot.sock.close()
        selector.close()

    m.run(work, config.conc_connections * config.conc_requests)
