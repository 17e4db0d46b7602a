"""How long one poll() call takes while 64 downloads of 10 MiB run at once, from one thread.

A benchmark, not a test: it asserts nothing about time. It starts nginx on 127.0.0.1 the
way the tests do (``tests/support/nginx.py``: a temporary prefix, a free port), writes one
pattern file, then downloads it ``--count`` times at once, driven by ``pollhttp.wait()``,
and times every call that moves a transfer:

* ``request``: ``HTTPRequest.poll()``, the body kept in memory (the completing poll joins
  the body: that is part of what a caller pays);
* ``request-file``: ``HTTPRequest.poll()`` with ``download_file`` (the body goes to disk);
* ``client``: a raw ``HTTPClient``: ``poll()`` while the request goes out and the head comes
  in, then ``read_response_body_chunk()``; one call of either is one sample.

For each it prints the number of calls, their mean, median, 99th percentile and maximum
duration, the wall time and the total throughput. Bodies are checked after the clock stops
(length and byte pattern), so a fast wrong answer cannot pass.

Usage::

    python benchmarks/poll_latency.py                    # all three, 64 x 10 MiB
    python benchmarks/poll_latency.py --mode request --count 16 --size-mib 50
    python benchmarks/poll_latency.py --json results.json

Needs nginx (``scripts/test`` installs it from Debian's packages).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.nginx import (  # noqa: E402
    NginxServer,
    PatternChecker,
    find_nginx,
    pattern,
    write_pattern_file,
)

import pollhttp  # noqa: E402
from pollhttp import Error, HTTPClient, HTTPRequest, Result, Status  # noqa: E402

MiB = 1 << 20
MODES = ("request", "request-file", "client")


@dataclass
class Run:
    mode: str
    count: int
    size: int
    calls: int
    mean_ms: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    wall_s: float
    mib_per_s: float
    poll_time_budget_ms: float
    poll_byte_budget: int


def summarize(mode: str, count: int, size: int, durations: list[float], wall: float) -> Run:
    durations.sort()

    def at(q: float) -> float:
        return durations[min(len(durations) - 1, int(len(durations) * q))] * 1000

    defaults = HTTPRequest()
    return Run(
        mode=mode,
        count=count,
        size=size,
        calls=len(durations),
        mean_ms=sum(durations) / len(durations) * 1000,
        p50_ms=at(0.50),
        p99_ms=at(0.99),
        max_ms=durations[-1] * 1000,
        wall_s=wall,
        mib_per_s=count * size / MiB / wall,
        poll_time_budget_ms=defaults.poll_time_budget * 1000,
        poll_byte_budget=defaults.poll_byte_budget,
    )


def run_requests(port: int, path: str, count: int, size: int, workdir: Path | None) -> Run:
    """HTTPRequest.poll() per wake-up; bodies in memory, or in files under ``workdir``."""
    bodies: dict[int, tuple[Result, int, bytes]] = {}
    requests = []
    for i in range(count):
        req = HTTPRequest()
        if workdir is not None:
            req.download_file = str(workdir / f"download-{i}.bin")
        req.request_completed.connect(
            lambda result, code, _h, body, i=i: bodies.__setitem__(i, (result, code, body))
        )
        requests.append(req)
    for i, req in enumerate(requests):
        assert req.request(f"http://127.0.0.1:{port}{path}?i={i}") == Error.OK
    durations: list[float] = []
    start = time.perf_counter()
    while len(bodies) < count:
        for req in pollhttp.wait(requests, 1.0):
            t0 = time.perf_counter()
            req.poll()
            durations.append(time.perf_counter() - t0)
    wall = time.perf_counter() - start
    for req in requests:
        req.close()
    expected = pattern(0, size)
    for i in range(count):
        result, code, body = bodies[i]
        assert (result, code) == (Result.RESULT_SUCCESS, 200), (i, result, code)
        if workdir is None:
            assert body == expected, f"download {i}: wrong body"
        else:
            written = workdir / f"download-{i}.bin"
            assert written.read_bytes() == expected, f"download {i}: wrong file"
            written.unlink()
    bodies.clear()
    mode = "request" if workdir is None else "request-file"
    return summarize(mode, count, size, durations, wall)


def run_clients(port: int, path: str, count: int, size: int) -> Run:
    """Raw HTTPClients: one poll() or read_response_body_chunk() per wake-up."""
    clients = [HTTPClient() for _ in range(count)]
    checkers = {c: PatternChecker(c.read_chunk_size) for c in clients}
    sent: set[HTTPClient] = set()
    finished: set[HTTPClient] = set()
    for client in clients:
        assert client.connect_to_host("127.0.0.1", port) == Error.OK
    durations: list[float] = []
    start = time.perf_counter()
    while len(finished) < count:
        for client in pollhttp.wait(clients, 1.0):
            status = client.get_status()
            t0 = time.perf_counter()
            if status == Status.STATUS_BODY:
                chunk = client.read_response_body_chunk()
            else:
                client.poll()
                chunk = b""
            durations.append(time.perf_counter() - t0)
            checkers[client].feed(chunk)
            status = client.get_status()
            if status == Status.STATUS_CONNECTED:
                if client in sent:
                    finished.add(client)
                else:
                    i = clients.index(client)
                    assert client.request(HTTPClient.METHOD_GET, f"{path}?i={i}", []) == Error.OK
                    sent.add(client)
            elif status not in (
                Status.STATUS_CONNECTING,
                Status.STATUS_REQUESTING,
                Status.STATUS_BODY,
            ):
                raise AssertionError(f"client failed: {status.name}: {client.get_last_error()}")
    wall = time.perf_counter() - start
    for client in clients:
        assert client.get_response_code() == 200
        assert checkers[client].offset == size
        client.close()
    return summarize("client", count, size, durations, wall)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=(*MODES, "all"), default="all")
    parser.add_argument("--count", type=int, default=64, help="downloads at once (64)")
    parser.add_argument("--size-mib", type=int, default=10, help="MiB per download (10)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    try:
        binary = find_nginx()
    except BaseException as exc:  # pytest.skip raises its own exception type
        if type(exc).__name__ != "Skipped":
            raise
        print(f"nginx not found: {exc}", file=sys.stderr)
        return 2
    size = args.size_mib * MiB
    modes = MODES if args.mode == "all" else (args.mode,)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="poll-latency-") as tmp:
        base = Path(tmp)
        server = NginxServer(base / "nginx", binary)
        write_pattern_file(server.docroot / "download.bin", size)
        downloads = base / "downloads"
        downloads.mkdir()
        with server:
            for mode in modes:
                gc.collect()
                if mode == "client":
                    runs.append(run_clients(server.port, "/download.bin", args.count, size))
                else:
                    workdir = downloads if mode == "request-file" else None
                    runs.append(
                        run_requests(server.port, "/download.bin", args.count, size, workdir)
                    )
                gc.collect()
    print(
        f"pollhttp {pollhttp.__version__}, Python {sys.version.split()[0]}: {args.count} "
        f"downloads of {args.size_mib} MiB at once from nginx on 127.0.0.1, one thread, "
        f"pollhttp.wait(); HTTPRequest budgets {runs[0].poll_time_budget_ms:g} ms and "
        f"{runs[0].poll_byte_budget // MiB} MiB per poll"
    )
    header = f"{'mode':<13}{'calls':>8}{'mean ms':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    print(header + f"{'wall s':>9}{'MiB/s':>9}")
    for run in runs:
        print(
            f"{run.mode:<13}{run.calls:>8}{run.mean_ms:>9.3f}{run.p50_ms:>9.3f}"
            f"{run.p99_ms:>9.3f}{run.max_ms:>9.2f}{run.wall_s:>9.2f}{run.mib_per_s:>9.0f}"
        )
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(run) for run in runs], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
