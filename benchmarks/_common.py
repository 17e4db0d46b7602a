"""What the harness (run.py) and the client processes (child.py) share.

Standard library only: a client process imports this before its HTTP library, so nothing
here may cost a client time or memory that another does not pay.
"""

from __future__ import annotations

import cProfile
import json
import resource
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

#: The body of ``/small``: 13 bytes, as in the baseline.
SMALL_BODY = b"Hello, world\n"
SMALL_PATH = "/small"
#: ``/1k``: the first 1 KiB of the pattern (for ``concurrent``).
ONE_K_PATH = "/1k"
DOWNLOAD_PATH = "/100m"
DOWNLOAD_SIZE = 100 * 1024 * 1024
#: nginx streams ``/50m`` through a proxy that hides its length: chunked, 64 KiB chunks.
CHUNKED_PATH = "/chunked/50m"
CHUNKED_SIZE = 50 * 1024 * 1024
UPLOAD_PATH = "/upload"
UPLOAD_SIZE = 50 * 1024 * 1024

#: The period of the byte pattern in the large files: a prime, so that a piece lost,
#: repeated or shifted by any power-of-two size shows up as wrong bytes.
PATTERN_PERIOD = 251
_PATTERN_UNIT = bytes(range(PATTERN_PERIOD))
ONE_K_BODY = (_PATTERN_UNIT * 5)[:1024]

#: nginx's stub_status (when its build has the module): the ``accepts`` counter tells how
#: many connections a scenario opened (``onecall_1000``).
STATUS_PATH = "/nginx-status"

SCENARIOS = (
    "seq_small",
    "tls_small",
    "concurrent",
    "download_100m",
    "chunked_50m",
    "upload_50m",
    "onecall_1000",
)
#: The unit each scenario's throughput is reported in.
UNITS = {
    "seq_small": "req/s",
    "tls_small": "req/s",
    "concurrent": "req/s",
    "download_100m": "MiB/s",
    "chunked_50m": "MiB/s",
    "upload_50m": "MiB/s",
    "onecall_1000": "req/s",
}


def pattern(length: int) -> bytes:
    """The first ``length`` bytes of the pattern: byte i is ``i % 251``."""
    return (_PATTERN_UNIT * (length // PATTERN_PERIOD + 1))[:length]


def upload_body(size: int) -> bytes:
    """The upload's body (the pattern), built before the clock starts."""
    return pattern(size)


def upload_answer(size: int) -> bytes:
    """What nginx answers to a complete upload of ``size`` bytes (see _nginx.py)."""
    return b"ok %d\n" % size


@dataclass
class Config:
    """Everything a client process needs to know; passed as JSON on its command line."""

    port: int
    tls_port: int
    ca_path: str
    #: A file holding the upload body, for curl (``--data-binary @file``).
    upload_file: str = ""
    seq_n: int = 3000
    conc_connections: int = 64
    conc_requests: int = 20
    download_n: int = 3
    chunked_n: int = 3
    upload_n: int = 3
    #: ``onecall_1000``: top-level one-call requests (``pollhttp.get(url)`` and its peers).
    onecall_n: int = 1000
    #: nginx has stub_status at STATUS_PATH: the scenario counts the connections it opens.
    has_status: bool = False
    #: Bytes a streaming client asks for per read (the baseline's 256 KiB).
    read_size: int = 256 * 1024
    #: Write a cProfile of the timed part here (empty: no profile).
    profile_path: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Config:
        return cls(**json.loads(text))

    def base_url(self, tls: bool = False) -> str:
        return f"https://127.0.0.1:{self.tls_port}" if tls else f"http://127.0.0.1:{self.port}"


class BenchmarkError(AssertionError):
    """A client returned a wrong status or wrong bytes: the run must stop loudly."""


def expect(condition: bool, message: str) -> None:
    """Fail the benchmark (never silently) when a response is not what it must be."""
    if not condition:
        raise BenchmarkError(message)


class PatternChecker:
    """Checks a streamed body against the pattern, piece by piece, with no copy.

    ``template.startswith(piece, offset)`` is one memcmp over the piece; the template is a
    little over 1 MiB, so larger pieces are checked in slices. The time spent here is
    added up in ``seconds`` and taken out of the client's time: every client pays the
    same check, and leaving it in would pull every ratio towards 1.
    """

    _SPAN = 1024 * 1024
    _TEMPLATE = _PATTERN_UNIT * (_SPAN // PATTERN_PERIOD + 2)

    def __init__(self, expected_size: int) -> None:
        self.expected_size = expected_size
        self.offset = 0
        self.seconds = 0.0

    def feed(self, piece: bytes | bytearray | memoryview) -> None:
        start = time.perf_counter()
        view = memoryview(piece)
        template, span = self._TEMPLATE, self._SPAN
        offset = self.offset
        end = offset + len(view)
        if end > self.expected_size:
            raise BenchmarkError(f"body longer than {self.expected_size} bytes")
        pos = 0
        while pos < len(view):
            part = view[pos : pos + span]
            if not template.startswith(part, offset % PATTERN_PERIOD):
                raise BenchmarkError(f"wrong body bytes in {len(part)} bytes at offset {offset}")
            offset += len(part)
            pos += len(part)
        self.offset = end
        self.seconds += time.perf_counter() - start

    def finish(self) -> None:
        """The body is complete: it must have exactly the expected length."""
        if self.offset != self.expected_size:
            raise BenchmarkError(f"body of {self.offset} bytes, expected {self.expected_size}")


def nginx_accepts(config: Config) -> int | None:
    """nginx's count of accepted connections so far (None without stub_status).

    Read over a plain socket of its own (one connection, which the count includes), so no
    client library is involved: ``after - before - 1`` is what happened between two calls.
    """
    if not config.has_status:
        return None
    with socket.create_connection(("127.0.0.1", config.port), timeout=10) as sock:
        sock.sendall(
            f"GET {STATUS_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        while piece := sock.recv(65536):
            data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    expect(head.startswith(b"HTTP/1.1 200"), f"{STATUS_PATH}: {head[:40]!r}")
    # "Active connections: 1 \nserver accepts handled requests\n 5 5 9 \n..."
    lines = body.decode("ascii").splitlines()
    return int(lines[2].split()[0])


class ConnectionCount:
    """Counts the connections nginx accepted between `start` and `stop` (None if unknown)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.before: int | None = None
        self.opened: int | None = None

    def start(self) -> None:
        self.before = nginx_accepts(self.config)

    def stop(self) -> None:
        after = nginx_accepts(self.config)
        if after is not None and self.before is not None:
            self.opened = after - self.before - 1  # less the status request's own


def _status_kib(field_name: str) -> int:
    """A ``Vm...`` field of /proc/self/status in KiB (0 where there is no /proc)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def current_rss_kib() -> int:
    """The process's resident set now, in KiB."""
    return _status_kib("VmRSS")


def peak_rss_kib() -> int:
    """The process's peak resident set (VmHWM), in KiB.

    Not ``ru_maxrss``: after fork and exec that carries the parent's peak over (Linux keeps
    the larger of the old and new address spaces' high-water marks).
    """
    return _status_kib("VmHWM")


def reset_peak_rss() -> bool:
    """Set VmHWM back to the current RSS (Linux 4.0+, ``clear_refs`` 5); False if it can't."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


@dataclass
class Measurement:
    """Times the part of a scenario that counts, and describes it for run.py.

    A scenario connects and makes one warm-up request first, then hands the timed work to
    `run` (or `arun` for a coroutine). ``units`` is requests or bytes moved.
    """

    profile_path: str = ""
    seconds: float = 0.0
    units: int = 0
    check_seconds: float = 0.0
    #: RSS when the clock starts, and the peak RSS (VmHWM) when it stops; the peak is reset
    #: to the current RSS at the start when the kernel allows (``peak_reset``).
    rss_start_kib: int = 0
    peak_rss_kib: int = 0
    peak_reset: bool = False
    #: Context switches of the process while the clock ran (voluntary: it slept).
    switches_voluntary: int = 0
    switches_involuntary: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    _checkers: list[PatternChecker] = field(default_factory=list)

    def checker(self, expected_size: int) -> PatternChecker:
        """A body checker whose time is taken out of the measurement."""
        checker = PatternChecker(expected_size)
        self._checkers.append(checker)
        return checker

    def _start(self) -> cProfile.Profile | None:
        self.peak_reset = reset_peak_rss()
        self.rss_start_kib = current_rss_kib()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.switches_voluntary, self.switches_involuntary = -usage.ru_nvcsw, -usage.ru_nivcsw
        self._checkers.clear()
        if self.profile_path:
            profile = cProfile.Profile()
            profile.enable()
            return profile
        return None

    def _stop(self, profile: cProfile.Profile | None, elapsed: float, units: int) -> None:
        if profile is not None:
            profile.disable()
            profile.dump_stats(self.profile_path)
        self.peak_rss_kib = peak_rss_kib()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.switches_voluntary += usage.ru_nvcsw
        self.switches_involuntary += usage.ru_nivcsw
        self.check_seconds = sum(checker.seconds for checker in self._checkers)
        self.seconds = elapsed - self.check_seconds
        self.units = units

    def run(self, work: Callable[[], None], units: int) -> None:
        profile = self._start()
        start = time.perf_counter()
        work()
        elapsed = time.perf_counter() - start
        self._stop(profile, elapsed, units)

    async def arun(self, work: Callable[[], Awaitable[None]], units: int) -> None:
        profile = self._start()
        start = time.perf_counter()
        await work()
        elapsed = time.perf_counter() - start
        self._stop(profile, elapsed, units)

    def set_external(self, seconds: float, units: int) -> None:
        """For a tool timed by itself (curl's ``time_total``)."""
        self.seconds, self.units = seconds, units

    def result(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("_checkers", None)
        out.pop("profile_path", None)
        return out
