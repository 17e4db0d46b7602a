"""httpx, asynchronous: one AsyncClient on asyncio."""

from __future__ import annotations

import ssl
from collections.abc import Callable

import httpx
from _common import Config, Measurement

from clients import _ashape


class Client:
    def __init__(self, config: Config, tls: bool, connections: int) -> None:
        verify = ssl.create_default_context(cafile=config.ca_path) if tls else True
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.client = httpx.AsyncClient(base_url=config.base_url(tls), verify=verify, limits=limits)

    async def get(self, path: str) -> tuple[int, bytes]:
        response = await self.client.get(path)
        return response.status_code, response.content

    async def stream(self, path: str, feed: Callable[[bytes], None]) -> int:
        async with self.client.stream("GET", path) as response:
            async for piece in response.aiter_bytes():
                feed(piece)
            return response.status_code

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        response = await self.client.post(path, content=body)
        return response.status_code, response.content

    async def close(self) -> None:
        await self.client.aclose()


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
