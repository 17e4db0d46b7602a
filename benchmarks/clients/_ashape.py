"""The scenarios' shape for asyncio clients (see _shape.py): ``await get(path)``,
``await stream(path, feed)``, ``await post(path, body)``; ``concurrent`` runs one task per
connection on one event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from _common import (
    CHUNKED_PATH,
    CHUNKED_SIZE,
    DOWNLOAD_PATH,
    DOWNLOAD_SIZE,
    ONE_K_BODY,
    ONE_K_PATH,
    SMALL_BODY,
    SMALL_PATH,
    UPLOAD_PATH,
    UPLOAD_SIZE,
    Config,
    Measurement,
    expect,
    upload_answer,
    upload_body,
)


class AsyncClient(Protocol):
    async def get(self, path: str) -> tuple[int, bytes]: ...
    async def stream(self, path: str, feed: Callable[[bytes], None]) -> int: ...
    async def post(self, path: str, body: bytes) -> tuple[int, bytes]: ...
    async def close(self) -> None: ...


#: Makes a client inside the running loop: (config, tls, connections) -> client.
Factory = Callable[[Config, bool, int], Awaitable[AsyncClient]]


async def _warm(client: AsyncClient, path: str = SMALL_PATH, body: bytes = SMALL_BODY) -> None:
    status, got = await client.get(path)
    expect(status == 200 and got == body, f"warm-up: {status} {got[:40]!r}")


def small(config: Config, m: Measurement, make: Factory, tls: bool) -> None:
    async def main() -> None:
        client = await make(config, tls, 1)
        await _warm(client)

        async def work() -> None:
            for _ in range(config.seq_n):
                status, body = await client.get(SMALL_PATH)
                if status != 200 or body != SMALL_BODY:
                    expect(False, f"wrong small response: {status} {body[:40]!r}")

        await m.arun(work, config.seq_n)
        await client.close()

    asyncio.run(main())


def bulk(config: Config, m: Measurement, make: Factory, scenario: str) -> None:
    path, size, count = {
        "download_100m": (DOWNLOAD_PATH, DOWNLOAD_SIZE, config.download_n),
        "chunked_50m": (CHUNKED_PATH, CHUNKED_SIZE, config.chunked_n),
    }[scenario]

    async def main() -> None:
        client = await make(config, False, 1)
        await _warm(client)

        async def work() -> None:
            for _ in range(count):
                checker = m.checker(size)
                status = await client.stream(path, checker.feed)
                expect(status == 200, f"status {status}")
                checker.finish()

        await m.arun(work, size * count)
        await client.close()

    asyncio.run(main())


def upload(config: Config, m: Measurement, make: Factory) -> None:
    body = upload_body(UPLOAD_SIZE)
    answer = upload_answer(len(body))

    async def main() -> None:
        client = await make(config, False, 1)
        await _warm(client)

        async def work() -> None:
            for _ in range(config.upload_n):
                status, got = await client.post(UPLOAD_PATH, body)
                expect(status == 200 and got == answer, f"upload answer: {status} {got[:40]!r}")

        await m.arun(work, len(body) * config.upload_n)
        await client.close()

    asyncio.run(main())


def concurrent(config: Config, m: Measurement, make: Factory) -> None:
    """64 tasks on one loop, each making 20 requests through one shared client."""

    async def main() -> None:
        client = await make(config, False, config.conc_connections)
        await _warm(client, ONE_K_PATH, ONE_K_BODY)

        async def one_connection() -> None:
            for _ in range(config.conc_requests):
                status, body = await client.get(ONE_K_PATH)
                if status != 200 or body != ONE_K_BODY:
                    expect(False, f"wrong 1k response: {status} {body[:40]!r}")

        async def work() -> None:
            await asyncio.gather(*(one_connection() for _ in range(config.conc_connections)))

        await m.arun(work, config.conc_connections * config.conc_requests)
        await client.close()

    asyncio.run(main())
