"""http.client (standard library): one HTTPConnection per connection, kept alive."""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Callable

from _common import Config, Measurement

from clients import _shape


class Client:
    def __init__(self, config: Config, tls: bool) -> None:
        if tls:
            context = ssl.create_default_context(cafile=config.ca_path)
            self.conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                "127.0.0.1", config.tls_port, context=context
            )
        else:
            self.conn = http.client.HTTPConnection("127.0.0.1", config.port)
        self.read_size = config.read_size

    def get(self, path: str) -> tuple[int, bytes]:
        self.conn.request("GET", path)
        response = self.conn.getresponse()
        return response.status, response.read()

    def stream(self, path: str, feed: Callable[[bytes], None]) -> int:
        self.conn.request("GET", path)
        response = self.conn.getresponse()
        read, size = response.read, self.read_size
        while piece := read(size):
            feed(piece)
        return response.status

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        self.conn.request("POST", path, body=body)
        response = self.conn.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.conn.close()


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
    _shape.threaded(config, m, lambda: Client(config, False))
