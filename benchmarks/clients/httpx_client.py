"""httpx, synchronous: one Client (its pool is shared by the threads of ``concurrent``);
``onecall_1000`` is ``client.get(url)`` on one ``httpx.Client()`` made beforehand (issue 13's
row: ``httpx.get`` would open a connection per call)."""

from __future__ import annotations

import ssl
from collections.abc import Callable

import httpx
from _common import Config, Measurement

from clients import _shape


class Client:
    def __init__(self, config: Config, tls: bool, shared: httpx.Client | None = None) -> None:
        if shared is not None:
            self.client = shared
        else:
            verify = ssl.create_default_context(cafile=config.ca_path) if tls else True
            self.client = httpx.Client(base_url=config.base_url(tls), verify=verify)

    def get(self, path: str) -> tuple[int, bytes]:
        response = self.client.get(path)
        return response.status_code, response.content

    def stream(self, path: str, feed: Callable[[bytes], None]) -> int:
        with self.client.stream("GET", path) as response:
            for piece in response.iter_bytes():
                feed(piece)
            return response.status_code

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        response = self.client.post(path, content=body)
        return response.status_code, response.content

    def close(self) -> None:
        pass


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
    n = config.conc_connections
    shared = httpx.Client(
        base_url=config.base_url(),
        limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
    )
    _shape.threaded(config, m, lambda: Client(config, False, shared))
    shared.close()


def onecall_1000(config: Config, m: Measurement) -> None:
    client = httpx.Client()

    def call(url: str) -> tuple[int, bytes]:
        response = client.get(url)
        return response.status_code, response.content

    _shape.onecall(config, m, call, "httpx.Client().get(url)")
    client.close()
