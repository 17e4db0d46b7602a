"""The curl command-line tool: a C yardstick for bulk transfers.

One curl process makes all the transfers of a run over one connection; the time is the
sum of curl's own ``time_total`` per transfer (process start-up is not counted). Timed
bodies go to /dev/null and are checked by status and count (``size_download``); one more,
untimed transfer is piped into the pattern checker, so curl's bytes are checked too. The
upload's answer (which states the length nginx read) is checked in full.
``-H "Expect:"`` as for pycurl.
"""

from __future__ import annotations

import subprocess

from _common import (
    CHUNKED_PATH,
    CHUNKED_SIZE,
    DOWNLOAD_PATH,
    DOWNLOAD_SIZE,
    UPLOAD_PATH,
    UPLOAD_SIZE,
    Config,
    Measurement,
    PatternChecker,
    expect,
    upload_answer,
)

_MARK = "\n@@curl "


def _curl(arguments: list[str]) -> list[tuple[str, int, int, float]]:
    """Run curl; per transfer (body, status, size_download, time_total)."""
    out = subprocess.run(
        ["curl", "-sS", "-H", "Expect:", *arguments],
        capture_output=True,
        check=False,
        timeout=600,
    )
    expect(out.returncode == 0, f"curl failed: {out.stderr.decode(errors='replace')}")
    # stdout: body 1, mark, fields 1, body 2, mark, fields 2, ...
    chunks = out.stdout.decode("latin-1").split(_MARK)
    results, body = [], chunks[0]
    for chunk in chunks[1:]:
        line, _, rest = chunk.partition("\n")
        status, size, seconds = line.split()
        results.append((body.strip(), int(status), int(size), float(seconds)))
        body = rest
    return results


def _bulk(config: Config, m: Measurement, path: str, size: int, count: int) -> None:
    url = config.base_url() + path
    arguments = []
    for _ in range(count):
        arguments += [
            "-o",
            "/dev/null",
            "-w",
            _MARK + "%{http_code} %{size_download} %{time_total}\n",
            url,
        ]
    results = _curl(arguments)
    expect(len(results) == count, f"curl reported {len(results)} transfers")
    for _, status, got, _ in results:
        expect(status == 200 and got == size, f"curl: status {status}, {got} bytes")
    m.set_external(sum(result[3] for result in results), size * count)
    _check_bytes(url, size)


def _check_bytes(url: str, size: int) -> None:
    """One more transfer, untimed, piped into the pattern checker: curl's bytes are right."""
    checker = PatternChecker(size)
    with subprocess.Popen(["curl", "-sS", url], stdout=subprocess.PIPE) as curl:
        assert curl.stdout is not None
        while piece := curl.stdout.read(1 << 20):
            checker.feed(piece)
    expect(curl.returncode == 0, f"curl exited with {curl.returncode}")
    checker.finish()


def download_100m(config: Config, m: Measurement) -> None:
    _bulk(config, m, DOWNLOAD_PATH, DOWNLOAD_SIZE, config.download_n)


def chunked_50m(config: Config, m: Measurement) -> None:
    _bulk(config, m, CHUNKED_PATH, CHUNKED_SIZE, config.chunked_n)


def upload_50m(config: Config, m: Measurement) -> None:
    expect(bool(config.upload_file), "no upload file for curl")
    url = config.base_url() + UPLOAD_PATH
    arguments = ["--data-binary", "@" + config.upload_file]
    for _ in range(config.upload_n):
        arguments += ["-w", _MARK + "%{http_code} %{size_upload} %{time_total}\n", url]
    results = _curl(arguments)
    expect(len(results) == config.upload_n, f"curl reported {len(results)} transfers")
    answer = upload_answer(UPLOAD_SIZE).decode().strip()
    for body, status, sent, _ in results:
        expect(
            status == 200 and sent == UPLOAD_SIZE and body == answer,
            f"curl: {status} {sent} {body!r}",
        )
    m.set_external(sum(result[3] for result in results), UPLOAD_SIZE * config.upload_n)
