"""aiohttp: one ClientSession whose connector holds the connections (64 in
``concurrent``)."""

from __future__ import annotations

import ssl
from collections.abc import Callable

import aiohttp
from _common import Config, Measurement

from clients import _ashape


class Client:
    def __init__(self, config: Config, tls: bool, connections: int) -> None:
        context = ssl.create_default_context(cafile=config.ca_path) if tls else None
        connector = aiohttp.TCPConnector(limit=connections, ssl=context if tls else True)
        self.session = aiohttp.ClientSession(config.base_url(tls), connector=connector)
        self.read_size = config.read_size

    async def get(self, path: str) -> tuple[int, bytes]:
        async with self.session.get(path) as response:
            return response.status, await response.read()

    async def stream(self, path: str, feed: Callable[[bytes], None]) -> int:
        async with self.session.get(path) as response:
            async for piece in response.content.iter_chunked(self.read_size):
                feed(piece)
            return response.status

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        async with self.session.post(path, data=body) as response:
            return response.status, await response.read()

    async def close(self) -> None:
        await self.session.close()


async def make(config: Config, tls: bool, connections: int) -> Client:
    return Client(config, tls, connections)


def seq_small(config: Config, m: Measurement) -> None:
    _ashape.small(config, m, make, tls=False)


def tls_small(config: Config, m: Measurement) -> None:
    _ashape.small(config, m, make, tls=True)


def download_100m(config: Config, m: Measurement) -> None:
    _ashape.bulk(config, m, make, "download_100m")


def chunked_50m(config: Config, m: Measurement) -> None:
    _ashape.bulk(config, m, make, "chunked_50m")


def upload_50m(config: Config, m: Measurement) -> None:
    _ashape.upload(config, m, make)


def concurrent(config: Config, m: Measurement) -> None:
    _ashape.concurrent(config, m, make)
