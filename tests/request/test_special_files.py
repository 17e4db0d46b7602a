"""download_file that is not a regular file: written in place, never replaced or removed.

A character device, a FIFO (or a socket, which cannot be opened) gets no ``.part``, no
rename, no resume and no validator file, whatever the answer; a symbolic link is followed,
so that its target gets the body and the link stays a link. Every special file here is
made in the test's own directory: ``/dev/null`` is never a target.
"""

from __future__ import annotations

import os
import select
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pollhttp import DownloadFileError, Error, Result

from ..support.nginx import pattern
from ..support.servers import Close, Read, ScriptedServer, Send, Wait, response
from .conftest import SignalledServer, complete, header_names

SUCCESS = Result.RESULT_SUCCESS
CANT_OPEN = Result.RESULT_DOWNLOAD_FILE_CANT_OPEN
DATA = pattern(0, 200_003)  # more than a pipe holds: the writer must wait for the reader
OK = response(body=DATA)
NOT_FOUND = response("404 Not Found", body=b"no such thing")
CUT = response(headers=[f"Content-Length: {len(DATA)}"], length=False) + DATA[:1000]
ANSWERS = {
    "ok": ([Read(), Send(OK)], SUCCESS, 200, DATA),
    "404": ([Read(), Send(NOT_FOUND)], SUCCESS, 404, b"no such thing"),
    "cut": ([Read(), Send(CUT), Close()], Result.RESULT_CONNECTION_ERROR, 0, DATA[:1000]),
}


def url(server: ScriptedServer | SignalledServer) -> str:
    return f"http://127.0.0.1:{server.port}/file"


def names(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


@pytest.fixture
def device(tmp_path: Path) -> Path:
    """A character device node like /dev/null (1, 3), made in the test's directory."""
    path = tmp_path / "null"
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("cannot make device nodes here (not root, or no CAP_MKNOD)")
    try:
        with open(path, "wb") as handle:
            handle.write(b"probe")
    except PermissionError:
        pytest.skip("device nodes cannot be opened on this file system (nodev)")
    return path


def is_char_device(path: Path) -> bool:
    return stat.S_ISCHR(os.lstat(path).st_mode)


class FifoReader:
    """Reads a FIFO made in the test's directory on a thread, until the writer closes.

    The read end is opened (without waiting) before the download starts, so that the
    download finds a reader.
    """

    def __init__(self, path: Path) -> None:
        self.data = bytearray()
        self.finished = threading.Event()  # set by the test once the download completed
        self._fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            readable, _, _ = select.select([self._fd], [], [], 0.05)
            if not readable:
                continue
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                continue
            if chunk:
                self.data += chunk
            elif self.finished.is_set():
                return  # no writer any more, and the download is over: the end

    def join(self) -> bytes:
        self.finished.set()
        self._thread.join(10)
        assert not self._thread.is_alive(), "the FIFO reader did not finish"
        os.close(self._fd)
        return bytes(self.data)


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    yield path
    assert stat.S_ISFIFO(os.lstat(path).st_mode), "the FIFO was replaced"


# -- character devices ---------------------------------------------------------------------


@pytest.mark.parametrize("resume", [False, True], ids=["plain", "resume"])
@pytest.mark.parametrize("answer", ANSWERS)
def test_character_device_is_written_in_place(make, tmp_path, device, answer, resume):
    script, result, code, _ = ANSWERS[answer]
    if resume:
        # A part left by an earlier run: not the device's, so it is neither sent for
        # nor touched.
        Path(f"{device}.part").write_bytes(b"left over")
    with ScriptedServer([script]) as server:
        rec = make(download_file=str(device), resume_download=resume)
        assert rec.req.request(url(server)) == Error.OK
        done = complete(rec)
    assert done[:2] == (result, code)
    assert done[3] == b""  # the body went to the device, not to memory
    assert is_char_device(device)
    assert os.stat(device).st_rdev == os.makedev(1, 3)
    assert "range" not in header_names(server.requests[0])
    if resume:
        assert names(tmp_path) == ["null", "null.part"]
        assert Path(f"{device}.part").read_bytes() == b"left over"
    else:
        assert names(tmp_path) == ["null"]


def test_symlink_to_a_character_device_stays_a_link_to_it(make, tmp_path, device):
    link = tmp_path / "link"
    link.symlink_to("null")
    with ScriptedServer([[Read(), Send(OK)]]) as server:
        rec = make(download_file=link)
        assert rec.req.request(url(server)) == Error.OK
        assert complete(rec)[:2] == (SUCCESS, 200)
    assert os.readlink(link) == "null"
    assert is_char_device(device)
    assert names(tmp_path) == ["link", "null"]


# -- FIFOs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("resume", [False, True], ids=["plain", "resume"])
@pytest.mark.parametrize("answer", ANSWERS)
def test_fifo_is_written_in_place(make, tmp_path, fifo, answer, resume):
    script, result, code, body = ANSWERS[answer]
    reader = FifoReader(fifo)
    with ScriptedServer([script]) as server:
        rec = make(download_file=str(fifo), resume_download=resume)
        assert rec.req.request(url(server)) == Error.OK
        try:
            done = complete(rec, timeout=10)
        finally:
            received = reader.join()
    assert done[:2] == (result, code)
    assert received == body
    assert names(tmp_path) == ["pipe"]  # no .part, no validator, even when resuming
    assert "range" not in header_names(server.requests[0])


def test_fifo_nobody_reads_cannot_open_and_poll_never_blocks(make, tmp_path, fifo):
    with ScriptedServer([[Read(), Send(OK)]]) as server:
        rec = make(download_file=str(fifo))
        assert rec.req.request(url(server)) == Error.OK
        started = time.monotonic()
        done = complete(rec)
    assert time.monotonic() - started < 5  # open() did not wait for a reader
    assert done[:2] == (CANT_OPEN, 200)
    error = rec.req.get_last_error()
    assert isinstance(error, DownloadFileError)
    assert "FIFO" in str(error)
    assert names(tmp_path) == ["pipe"]


# -- sockets and directories ---------------------------------------------------------------


def test_socket_cannot_be_opened_and_stays(make, tmp_path_factory):
    # A short directory name: a socket path has a length limit (108 bytes on Linux).
    directory = tmp_path_factory.mktemp("s")
    path = directory / "sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        with ScriptedServer([[Read(), Send(OK)]]) as server:
            rec = make(download_file=path)
            assert rec.req.request(url(server)) == Error.OK
            assert complete(rec)[:2] == (CANT_OPEN, 200)
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
    assert "socket" in str(rec.req.get_last_error())
    assert names(directory) == ["sock"]


def test_directory_cannot_be_opened_and_gets_no_part_beside_it(make, tmp_path):
    target = tmp_path / "dir"
    target.mkdir()
    with ScriptedServer([[Read(), Send(OK)]]) as server:
        rec = make(download_file=target)
        assert rec.req.request(url(server)) == Error.OK
        assert complete(rec)[:2] == (CANT_OPEN, 200)
    assert target.is_dir()
    assert names(tmp_path) == ["dir"]


# -- symbolic links --------------------------------------------------------------------------


def test_symlink_is_followed_and_stays_a_link(make, tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    real = store / "real.bin"
    real.write_bytes(b"old content")
    link = tmp_path / "link.bin"
    link.symlink_to(Path("store") / "real.bin")
    rest = threading.Event()
    seen: list[tuple[bool, bool]] = []

    def progress(done: int, total: int) -> None:
        if done < total:
            seen.append((Path(f"{real}.part").exists(), Path(f"{link}.part").exists()))
            rest.set()

    head = response(headers=[f"Content-Length: {len(DATA)}"], length=False)
    script = [Read(), Send(head + DATA[:1000]), Wait(rest), Send(DATA[1000:])]
    with SignalledServer([script]) as server:
        rec = make(download_file=str(link))
        rec.req.download_progress.connect(progress)
        assert rec.req.request(url(server)) == Error.OK
        assert complete(rec)[:2] == (SUCCESS, 200)
    # While the body arrived, the part lay beside the real target, not beside the link.
    assert seen
    assert all(seen_part == (True, False) for seen_part in seen), seen
    assert link.is_symlink()
    assert os.readlink(link) == os.path.join("store", "real.bin")
    assert real.read_bytes() == DATA
    assert names(tmp_path) == ["link.bin", "store"]
    assert names(store) == ["real.bin"]


def test_failed_download_through_a_symlink_keeps_link_and_target(make, tmp_path):
    real = tmp_path / "real.bin"
    real.write_bytes(b"old content")
    link = tmp_path / "link.bin"
    link.symlink_to("real.bin")
    with ScriptedServer([[Read(), Send(CUT), Close()]]) as server:
        rec = make(download_file=link)
        assert rec.req.request(url(server)) == Error.OK
        assert complete(rec)[0] == Result.RESULT_CONNECTION_ERROR
    assert os.readlink(link) == "real.bin"
    assert real.read_bytes() == b"old content"
    assert names(tmp_path) == ["link.bin", "real.bin"]


def test_resume_through_a_symlink_uses_the_part_beside_the_target(make, tmp_path):
    real = tmp_path / "real.bin"
    link = tmp_path / "link.bin"
    link.symlink_to("real.bin")
    Path(f"{real}.part").write_bytes(DATA[:1000])
    rest = response(
        "206 Partial Content",
        [f"Content-Range: bytes 1000-{len(DATA) - 1}/{len(DATA)}"],
        DATA[1000:],
    )
    with ScriptedServer([[Read(), Send(rest)]]) as server:
        rec = make(download_file=link, resume_download=True)
        assert rec.req.request(url(server)) == Error.OK
        assert complete(rec)[:2] == (SUCCESS, 206)
    assert "Range: bytes=1000-" in server.requests[0].decode("latin-1")
    assert link.is_symlink()
    assert real.read_bytes() == DATA
    assert names(tmp_path) == ["link.bin", "real.bin"]


def test_dangling_symlink_gets_its_target_made(make, tmp_path):
    link = tmp_path / "link.bin"
    link.symlink_to("missing.bin")
    with ScriptedServer([[Read(), Send(OK)]]) as server:
        rec = make(download_file=link)
        assert rec.req.request(url(server)) == Error.OK
        assert complete(rec)[:2] == (SUCCESS, 200)
    assert os.readlink(link) == "missing.bin"
    assert (tmp_path / "missing.bin").read_bytes() == DATA
    assert names(tmp_path) == ["link.bin", "missing.bin"]


def test_symlink_loop_cannot_open_and_both_links_stay(make, tmp_path):
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with ScriptedServer([[Read(), Send(OK)]]) as server:
        rec = make(download_file=tmp_path / "a")
        assert rec.req.request(url(server)) == Error.OK
        assert complete(rec)[:2] == (CANT_OPEN, 200)
    assert (os.readlink(tmp_path / "a"), os.readlink(tmp_path / "b")) == ("b", "a")
    assert names(tmp_path) == ["a", "b"]
