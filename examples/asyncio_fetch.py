"""Concurrent downloads with asyncio: ``pollhttp.aio``, no threads and no busy loop.

Run it as it is and it starts pollhttp's offline demo server, fetches six of its pages
at once (one gzip-encoded, one slow), posts JSON to its echo page, and cancels a slow
request that misses its deadline; give URLs to fetch those instead::

    python examples/asyncio_fetch.py
    python examples/asyncio_fetch.py http://127.0.0.1:8000/a http://127.0.0.1:8000/b

``await aio.get(url)`` (and ``aio.post``, ``aio.request``) take the arguments of
``pollhttp.get()`` and return the same ``Response``; failures raise the same exceptions.
While a transfer waits, its socket is registered with the running loop
(``add_reader``/``add_writer``), so other tasks run: here a ticker counts the loop's turns.
Cancelling a task (``asyncio.wait_for`` timing out, ``task.cancel()``) closes its
connection.

It prints one line per response and exits with status 0 when all succeeded.
"""

from __future__ import annotations

import asyncio
import sys
import time

import pollhttp
from pollhttp import aio
from pollhttp.demo import DemoServer


async def fetch(url: str) -> bool:
    start = time.monotonic()
    try:
        response = await aio.get(url, timeout=30)
    except pollhttp.PollHTTPError as exc:
        print(f"failed: {url}: {type(exc).__name__}: {exc}", flush=True)
        return False
    took = time.monotonic() - start
    print(
        f"done: {url} -> {response.status_code}, {len(response.content)} bytes in {took:.3f} s",
        flush=True,
    )
    return response.ok


async def ticker(stop: asyncio.Event) -> int:
    """Other work on the same loop: it keeps running while the downloads wait."""
    turns = 0
    while not stop.is_set():
        await asyncio.sleep(0.01)
        turns += 1
    return turns


async def fetch_all(urls: list[str]) -> bool:
    stop = asyncio.Event()
    ticks = asyncio.create_task(ticker(stop))
    results = await asyncio.gather(*(fetch(url) for url in urls))
    stop.set()
    print(f"the ticker ran {await ticks} times meanwhile", flush=True)
    return all(results)


async def demo(base: str) -> bool:
    pages = ["/", "/chunked", "/large", "/gzip", "/json", "/slow?size=65536&chunks=4&delay=0.05"]
    ok = await fetch_all([base + page for page in pages])
    # POST a JSON body; the demo's /echo answers with the request it received.
    echo = await aio.post(f"{base}/echo", json={"score": 42})
    print(f"posted: {echo.status_code}, the server got {echo.json()['body']}", flush=True)
    ok = ok and echo.json()["body"] == '{"score":42}'
    # A deadline shorter than the transfer (1 s): wait_for cancels the task, which closes
    # its connection.
    slow = f"{base}/slow?size=65536&chunks=6&delay=0.2"
    try:
        await asyncio.wait_for(aio.get(slow), 0.3)
        print("cancel: the slow request finished before its deadline", flush=True)
        ok = False
    except asyncio.TimeoutError:
        print("cancel: the slow request missed its deadline; cancelled and closed", flush=True)
    return ok


def main(argv: list[str]) -> int:
    if argv:
        return 0 if asyncio.run(fetch_all(argv)) else 1
    with DemoServer() as server:
        return 0 if asyncio.run(demo(f"http://127.0.0.1:{server.port}")) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
