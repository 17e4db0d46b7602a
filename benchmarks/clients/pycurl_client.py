"""pycurl (libcurl, in C): one reused Curl handle (it keeps the connection alive);
``concurrent`` uses CurlMulti with 64 easy handles from one thread.

curl sends ``Expect: 100-continue`` before a body over 1 MiB and waits for the answer;
no other client here does, so the header is turned off (``Expect:``).
"""

from __future__ import annotations

from collections.abc import Callable

import pycurl
from _common import ONE_K_BODY, ONE_K_PATH, Config, Measurement, expect

from clients import _shape


class Client:
    def __init__(self, config: Config, tls: bool) -> None:
        self.curl = curl = pycurl.Curl()
        self.base = config.base_url(tls)
        if tls:
            curl.setopt(pycurl.CAINFO, config.ca_path)
        curl.setopt(pycurl.HTTPHEADER, ["Expect:"])
        curl.setopt(pycurl.BUFFERSIZE, config.read_size)

    def get(self, path: str) -> tuple[int, bytes]:
        curl = self.curl
        pieces: list[bytes] = []
        curl.setopt(pycurl.WRITEFUNCTION, pieces.append)
        curl.setopt(pycurl.URL, self.base + path)
        curl.perform()
        return curl.getinfo(pycurl.RESPONSE_CODE), b"".join(pieces)

    def stream(self, path: str, feed: Callable[[bytes], None]) -> int:
        curl = self.curl
        curl.setopt(pycurl.WRITEFUNCTION, feed)
        curl.setopt(pycurl.URL, self.base + path)
        curl.perform()
        return int(curl.getinfo(pycurl.RESPONSE_CODE))

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        curl = self.curl
        pieces: list[bytes] = []
        curl.setopt(pycurl.WRITEFUNCTION, pieces.append)
        curl.setopt(pycurl.URL, self.base + path)
        curl.setopt(pycurl.POSTFIELDSIZE_LARGE, len(body))
        curl.setopt(pycurl.POSTFIELDS, body)
        curl.perform()
        curl.setopt(pycurl.HTTPGET, 1)
        return curl.getinfo(pycurl.RESPONSE_CODE), b"".join(pieces)

    def close(self) -> None:
        self.curl.close()


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
    warm = Client(config, False)
    status, body = warm.get(ONE_K_PATH)
    expect(status == 200 and body == ONE_K_BODY, "warm-up")
    warm.close()
    n, per_handle = config.conc_connections, config.conc_requests
    multi = pycurl.CurlMulti()
    multi.setopt(pycurl.M_MAXCONNECTS, n)
    handles = []
    for _ in range(n):
        curl = pycurl.Curl()
        curl.setopt(pycurl.URL, config.base_url() + ONE_K_PATH)
        curl.pieces = []  # type: ignore[attr-defined]
        curl.setopt(pycurl.WRITEFUNCTION, curl.pieces.append)  # type: ignore[attr-defined]
        curl.left = per_handle  # type: ignore[attr-defined]
        handles.append(curl)

    def work() -> None:
        for curl in handles:
            multi.add_handle(curl)
        active = n
        while active:
            while multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
                pass
            while True:
                queued, done, failed = multi.info_read()
                if failed:
                    expect(False, f"curl errors: {failed[:3]}")
                for curl in done:
                    if curl.getinfo(pycurl.RESPONSE_CODE) != 200 or (
                        b"".join(curl.pieces) != ONE_K_BODY
                    ):
                        expect(False, "wrong 1k response")
                    multi.remove_handle(curl)
                    curl.pieces.clear()
                    curl.left -= 1
                    if curl.left:
                        multi.add_handle(curl)
                    else:
                        active -= 1
                if not queued:
                    break
            if active:
                multi.select(1.0)

    m.run(work, n * per_handle)
    for curl in handles:
        curl.close()
    multi.close()
