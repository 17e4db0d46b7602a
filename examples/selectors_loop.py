"""Several downloads in one thread, in your own ``selectors`` loop.

Run it as it is and it starts pollhttp's offline demo server and downloads four of its
pages (one slowly); give URLs to download those instead::

    python examples/selectors_loop.py
    python examples/selectors_loop.py http://127.0.0.1:8000/a http://127.0.0.1:8000/b

Every object says what it waits for with ``get_wait_interest()``: ``None`` (nothing: it
is idle or finished), ``READY_NOW`` (fd -1: poll it now), or a descriptor with read or
write interest. The loop keeps one selector, brings its registrations up to date with
those interests on every turn, sleeps in ``select()`` until a descriptor is ready, a
request's deadline (``get_wait_timeout()``) is due, or the loop's own timer fires (here
a progress line every quarter second), and then polls the requests that can move.
If all you need is "sleep until one can move", ``pollhttp.wait(requests, timeout)`` does
this in one call.

It prints one line per completed download and exits with status 0 when all succeeded.
"""

from __future__ import annotations

import selectors
import sys
import time
from contextlib import ExitStack

from pollhttp import Error, HTTPRequest, Result
from pollhttp.demo import DemoServer

TICK = 0.25  # seconds between progress lines


def download_all(urls: list[str], timeout: float = 30.0) -> bool:
    results: dict[str, tuple[Result, int, int]] = {}
    with ExitStack() as stack, selectors.DefaultSelector() as selector:
        requests: dict[HTTPRequest, str] = {}
        for url in urls:
            req = stack.enter_context(HTTPRequest())
            req.timeout = timeout

            def completed(result, code, _headers, body, url=url):
                results[url] = (result, code, len(body))
                print(f"done: {url} -> {result.name} {code}, {len(body)} bytes", flush=True)

            req.request_completed.connect(completed)
            if req.request(url) != Error.OK:
                print(f"cannot request {url}: {req.get_last_error()}", file=sys.stderr)
                return False
            requests[req] = url

        registered: dict[int, int] = {}  # fd -> events, as the selector has them
        next_tick = time.monotonic() + TICK
        while len(results) < len(urls):
            # 1. What does each running request wait for?
            ready_now: list[HTTPRequest] = []
            wanted: dict[int, int] = {}
            owners: dict[int, list[HTTPRequest]] = {}
            sleep = max(0.0, next_tick - time.monotonic())
            for req in requests:
                interest = req.get_wait_interest()
                if interest is None:
                    continue
                if interest.fd < 0:
                    ready_now.append(req)
                    continue
                events = (selectors.EVENT_READ if interest.read else 0) | (
                    selectors.EVENT_WRITE if interest.write else 0
                )
                wanted[interest.fd] = wanted.get(interest.fd, 0) | (events or selectors.EVENT_READ)
                owners.setdefault(interest.fd, []).append(req)
                due = req.get_wait_timeout()
                if due is not None:
                    sleep = min(sleep, due)
            # 2. Bring the selector up to date (descriptors come and go with connections).
            for fd in list(registered):
                if fd not in wanted:
                    selector.unregister(fd)
                    del registered[fd]
            for fd, events in wanted.items():
                if fd not in registered:
                    selector.register(fd, events)
                elif registered[fd] != events:
                    selector.modify(fd, events)
                registered[fd] = events
            # 3. Sleep until something can move (not at all if a request is ready now).
            to_poll = set(ready_now)
            if not ready_now:
                for key, _events in selector.select(sleep):
                    to_poll.update(owners.get(key.fd, ()))
                # A request whose deadline is due must be polled to report its timeout.
                to_poll.update(r for r in requests if r.get_wait_timeout() == 0)
            # 4. Poll the requests that can move; callbacks run inside poll().
            for req in to_poll:
                req.poll()
            # The loop's own work: here, a progress line now and then.
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + TICK
                done = sum(r.get_downloaded_bytes() for r in requests)
                print(f"... {len(results)}/{len(urls)} complete, {done} bytes so far", flush=True)
    return all(result == Result.RESULT_SUCCESS for result, _, _ in results.values())


def main(argv: list[str]) -> int:
    if argv:
        return 0 if download_all(argv) else 1
    with DemoServer() as server:
        base = f"http://127.0.0.1:{server.port}"
        slow = f"{base}/slow?size=131072&chunks=8&delay=0.1"  # about 0.7 s
        return 0 if download_all([f"{base}/", f"{base}/chunked", f"{base}/large", slow]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
