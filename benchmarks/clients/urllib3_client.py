"""urllib3: an HTTPConnectionPool (one connection; 64 shared by the threads of
``concurrent``), bodies preloaded, large ones streamed; ``onecall_1000`` is
``urllib3.request("GET", url)``, the module-level PoolManager's one-call API."""

from __future__ import annotations

from collections.abc import Callable

import urllib3
from _common import Config, Measurement

from clients import _shape


class Client:
    def __init__(self, config: Config, tls: bool, pool: urllib3.HTTPConnectionPool | None = None):
        if pool is not None:
            self.pool = pool
        elif tls:
            self.pool = urllib3.HTTPSConnectionPool(
                "127.0.0.1", config.tls_port, maxsize=1, ca_certs=config.ca_path
            )
        else:
            self.pool = urllib3.HTTPConnectionPool("127.0.0.1", config.port, maxsize=1)
        self.read_size = config.read_size

    def get(self, path: str) -> tuple[int, bytes]:
        response = self.pool.request("GET", path)
        return response.status, response.data

    def stream(self, path: str, feed: Callable[[bytes], None]) -> int:
        response = self.pool.request("GET", path, preload_content=False)
        for piece in response.stream(self.read_size):
            feed(piece)
        response.release_conn()
        return response.status

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        response = self.pool.request("POST", path, body=body)
        return response.status, response.data

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
    pool = urllib3.HTTPConnectionPool(
        "127.0.0.1", config.port, maxsize=config.conc_connections, block=True
    )
    _shape.threaded(config, m, lambda: Client(config, False, pool))


def _onecall(url: str) -> tuple[int, bytes]:
    response = urllib3.request("GET", url)
    return response.status, response.data


def onecall_1000(config: Config, m: Measurement) -> None:
    _shape.onecall(config, m, _onecall, 'urllib3.request("GET", url)')
