"""``-o`` into files that are not regular files: written into as they are, never replaced.

A device, a FIFO or a socket is opened and written as curl does, with no ``.part`` and no
rename; a symlink is followed, and stays a link. Every node is made in the test's own
folder: no test hands a system path to a command that could rename over it.
"""

from __future__ import annotations

import os
import select
import socket
import stat
import threading
from pathlib import Path

import pytest

from tests.support.servers import Close, Read, ScriptedServer, Send, response

from .conftest import request_lines, run_cli

LARGE = bytes(range(256)) * 4096  # what the demo server's /large sends


def kind(path: Path) -> str:
    """What ``path`` itself is (a symlink is not followed)."""
    mode = os.lstat(path).st_mode
    for name, test in (
        ("symlink", stat.S_ISLNK),
        ("regular", stat.S_ISREG),
        ("fifo", stat.S_ISFIFO),
        ("character device", stat.S_ISCHR),
        ("socket", stat.S_ISSOCK),
        ("directory", stat.S_ISDIR),
    ):
        if test(mode):
            return name
    return stat.filemode(mode)


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- FIFOs and devices -----------------------------------------------------------------------------


def _drain(fd: int, finished: threading.Event, chunks: list[bytes]) -> None:
    """Read the FIFO until its writer closes it, or until the command ended without opening it."""
    while True:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            data = os.read(fd, 1 << 16)
            if not data:
                return  # the writer closed its end
            chunks.append(data)
        elif finished.is_set():
            return


def test_output_into_a_fifo_is_written_through_it(demo, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    # Open for reading without blocking, so the reader exists before the command opens the
    # FIFO; the descriptor keeps the FIFO itself even if the path were replaced.
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    finished = threading.Event()
    chunks: list[bytes] = []
    reader = threading.Thread(target=_drain, args=(fd, finished, chunks), daemon=True)
    reader.start()
    try:
        ran = run_cli("-o", str(fifo), f"{demo.url}/large")
    finally:
        finished.set()
        reader.join(10)
        os.close(fd)
    assert not reader.is_alive()
    assert (ran.code, ran.out, ran.err) == (0, b"", "")
    assert b"".join(chunks) == LARGE
    assert kind(fifo) == "fifo"
    assert names(tmp_path) == ["pipe"]  # no .part beside it


def test_output_into_a_character_device_leaves_the_device(demo, tmp_path):
    node = tmp_path / "null"
    try:
        # The same device as /dev/null, but a node of this test's own.
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root (CAP_MKNOD)")
    ran = run_cli("-o", str(node), f"{demo.url}/large")
    assert (ran.code, ran.out, ran.err) == (0, b"", "")
    assert kind(node) == "character device"
    assert os.lstat(node).st_rdev == os.makedev(1, 3)
    assert names(tmp_path) == ["null"]


def test_output_to_a_socket_fails_and_leaves_the_socket(demo, tmp_path):
    path = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        ran = run_cli("-o", str(path), f"{demo.url}/json")
    # A socket cannot be opened as a file: curl's write error, and nothing replaced.
    assert ran.code == 23, ran.err
    assert ran.err.startswith("pollhttp: (23) ")
    assert kind(path) == "socket"
    assert names(tmp_path) == ["sock"]


# -- symlinks --------------------------------------------------------------------------------------


def test_output_through_a_symlink_lands_in_its_target(demo, tmp_path):
    real = tmp_path / "real" / "data.bin"
    real.parent.mkdir()
    link = tmp_path / "link.bin"
    link.symlink_to(real)  # dangling until the first download makes the target
    first = run_cli("-o", str(link), f"{demo.url}/large")
    assert first.code == 0, first.err
    assert kind(link) == "symlink"
    assert os.readlink(link) == str(real)
    assert kind(real) == "regular"
    assert real.read_bytes() == LARGE
    second = run_cli("-o", str(link), f"{demo.url}/json")  # replaces the target, not the link
    assert second.code == 0, second.err
    assert kind(link) == "symlink"
    assert real.read_bytes().startswith(b'{"hello"')
    assert names(tmp_path) == ["link.bin", "real"]
    assert names(real.parent) == ["data.bin"]


def test_resume_through_a_symlink_keeps_the_part_beside_the_target(tmp_path):
    body = bytes(range(100))
    real = tmp_path / "real" / "file.bin"
    real.parent.mkdir()
    link = tmp_path / "link.bin"
    link.symlink_to(real)
    cut = response("200 OK", ['ETag: "v1"'], body)[: -len(body) + 40]
    with ScriptedServer([[Read(), Send(cut), Close()]]) as server:
        first = run_cli("-C", "-", "-o", str(link), f"http://127.0.0.1:{server.port}/f")
    assert first.code == 18, first.err
    assert names(tmp_path) == ["link.bin", "real"]
    assert (real.parent / "file.bin.part").read_bytes() == body[:40]
    rest = response(
        "206 Partial Content", ['ETag: "v1"', "Content-Range: bytes 40-99/100"], body[40:]
    )
    with ScriptedServer([[Read(), Send(rest)]]) as server:
        second = run_cli("-v", "-C", "-", "-o", str(link), f"http://127.0.0.1:{server.port}/f")
    assert second.code == 0, second.err
    lines = request_lines(server.requests[0])
    assert "Range: bytes=40-" in lines
    sent = [line[2:] for line in second.err.splitlines() if line.startswith("> ") and len(line) > 2]
    assert sent == lines  # the -v trace finds the same .part the download resumes
    assert kind(link) == "symlink"
    assert real.read_bytes() == body
    assert names(real.parent) == ["file.bin"]
