"""requests: one Session per connection (one per thread in ``concurrent``);
``onecall_1000`` is ``requests.get(url)``, a new Session (and connection) per call."""

from __future__ import annotations

from collections.abc import Callable

import requests
from _common import Config, Measurement

from clients import _shape


class Client:
    def __init__(self, config: Config, tls: bool) -> None:
        self.session = requests.Session()
        self.base = config.base_url(tls)
        self.verify: str | bool = config.ca_path if tls else True
        self.read_size = config.read_size

    def get(self, path: str) -> tuple[int, bytes]:
        response = self.session.get(self.base + path, verify=self.verify)
        return response.status_code, response.content

    def stream(self, path: str, feed: Callable[[bytes], None]) -> int:
        with self.session.get(self.base + path, stream=True) as response:
            for piece in response.iter_content(self.read_size):
                feed(piece)
            return response.status_code

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        response = self.session.post(self.base + path, data=body)
        return response.status_code, response.content

    def close(self) -> None:
        self.session.close()


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


def _onecall(url: str) -> tuple[int, bytes]:
    response = requests.get(url)
    return response.status_code, response.content


def onecall_1000(config: Config, m: Measurement) -> None:
    _shape.onecall(config, m, _onecall, "requests.get(url)")
