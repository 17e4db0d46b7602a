"""Waiting on a stalled server costs (almost) no CPU: the process sleeps in the kernel.

Each test waits 2 s on a server that answers only after 2.5 s, measures the process's CPU
time over those 2 s (all threads, the test servers' too), then checks that the late answer
still wakes the waiter and arrives whole.
"""

from __future__ import annotations

import asyncio
import time

import pollhttp
from pollhttp import Error, HTTPClient, HTTPRequest, Result, Status, aio

from ..support.polling import connect
from ..support.servers import Pause, Read, ScriptedServer, Send, response
from .conftest import cpu_share, report

STALL = 2.0
MAX_CPU = 0.05
LATE_BODY = b"the answer, at last"


def stalled_server() -> ScriptedServer:
    return ScriptedServer([[Read(), Pause(STALL + 0.5), Send(response(body=LATE_BODY))]])


def test_raw_client_waiting_uses_no_cpu(clients):
    with stalled_server() as server:
        client = HTTPClient()
        clients.append(client)
        connect(client, "127.0.0.1", server.port)
        assert client.request(HTTPClient.METHOD_GET, "/", []) == Error.OK

        def step() -> None:
            for ready in pollhttp.wait([client], 1.0):
                ready.poll()

        share, calls = cpu_share(step, STALL)
        report("CPU while pollhttp.wait() waits (HTTPClient)", f"{share:.2%} over {calls} waits")
        assert client.get_status() == Status.STATUS_REQUESTING
        assert share < MAX_CPU

        body = b""
        deadline = time.monotonic() + 5.0
        while client.get_status() != Status.STATUS_CONNECTED:
            assert time.monotonic() < deadline, client.get_status()
            for ready in pollhttp.wait([client], 1.0):
                ready.poll()
                body += ready.read_response_body_chunk()
        assert body == LATE_BODY


def _drive_request(req: HTTPRequest, completions: list) -> None:
    def step() -> None:
        for ready in pollhttp.wait([req], 1.0):
            ready.poll()

    share, calls = cpu_share(step, STALL)
    mode = "threads" if req.use_threads else "poll"
    report(f"CPU while pollhttp.wait() waits (HTTPRequest, {mode})", f"{share:.2%} over {calls}")
    assert completions == []
    assert share < MAX_CPU, f"{share:.1%} CPU over {calls} wait() calls"
    deadline = time.monotonic() + 5.0
    while not completions:
        assert time.monotonic() < deadline
        step()
    assert completions[0][0] == Result.RESULT_SUCCESS
    assert completions[0][3] == LATE_BODY


def test_http_request_waiting_uses_no_cpu():
    completions: list = []
    with stalled_server() as server, HTTPRequest() as req:
        req.request_completed.connect(lambda *args: completions.append(args))
        assert req.request(f"http://127.0.0.1:{server.port}/") == Error.OK
        _drive_request(req, completions)


def test_threaded_http_request_waiting_uses_no_cpu():
    """The worker thread does the I/O and rings the wake-up descriptor; the caller sleeps."""
    completions: list = []
    with stalled_server() as server, HTTPRequest() as req:
        req.use_threads = True
        req.request_completed.connect(lambda *args: completions.append(args))
        assert req.request(f"http://127.0.0.1:{server.port}/") == Error.OK
        _drive_request(req, completions)


def test_aio_waiting_uses_no_cpu():
    async def main(port: int) -> tuple[float, bytes]:
        task = asyncio.create_task(aio.get(f"http://127.0.0.1:{port}/"))
        wall, cpu = time.monotonic(), time.process_time()
        await asyncio.sleep(STALL)
        share = (time.process_time() - cpu) / (time.monotonic() - wall)
        assert not task.done()
        answer = await asyncio.wait_for(task, 5.0)
        return share, answer.content

    with stalled_server() as server:
        share, body = asyncio.run(main(server.port))
    report("CPU while an aio.get() waits", f"{share:.2%}")
    assert share < MAX_CPU
    assert body == LATE_BODY
