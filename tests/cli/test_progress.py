"""Progress bars, seen as a person sees them: the command runs in a pseudo-terminal."""

from __future__ import annotations

import fcntl
import importlib.util
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

from .conftest import cli_env, run_cli

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_in_pty(args: list[str], env: dict[str, str] | None = None, timeout: float = 15):
    """Run the command with stdin, stdout and stderr on a terminal 100 columns wide.

    Returns (exit status, everything the terminal received).
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pollhttp", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=cli_env({"COLUMNS": "100", "LINES": "40", "TERM": "xterm", **(env or {})}),
        close_fds=True,
    )
    os.close(slave)
    received = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed its end
                    break
                if not data:
                    break
                received += data
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    text = received.decode("utf-8", "replace")
    assert "Traceback" not in text, text
    return code, text


def slow_url(demo) -> str:
    return f"{demo.url}/slow?size=300000&chunks=8&delay=0.06"


def test_plain_bar_updates_while_downloading(demo, tmp_path):
    target = tmp_path / "slow.bin"
    code, screen = run_in_pty(
        ["-o", str(target), slow_url(demo)], env={"POLLHTTP_PROGRESS": "plain"}
    )
    assert code == 0
    assert target.stat().st_size == 300000
    renders = [ANSI.sub("", line) for line in re.split(r"[\r\n]+", screen)]
    bars = [line for line in renders if line.startswith("slow.bin [")]
    percents = {int(m) for line in bars for m in re.findall(r"\] +(\d+)%", line)}
    assert len(percents) >= 2, bars  # the bar moved: at least two different renders
    assert 100 in percents
    assert min(percents) < 100
    assert any("/s ETA " in line for line in bars)  # speed and time left while running
    assert bars[-1].endswith("done")
    assert "293.0 KiB/293.0 KiB" in bars[-1]


@pytest.mark.skipif(importlib.util.find_spec("rich") is None, reason="rich is not installed")
def test_rich_bar_updates_while_downloading(demo, tmp_path):
    target = tmp_path / "slow.bin"
    code, screen = run_in_pty(["-o", str(target), slow_url(demo)])
    assert code == 0
    assert target.stat().st_size == 300000
    amounts = set(re.findall(r"([\d.]+)/293\.0 KiB", ANSI.sub("", screen)))
    assert len(amounts) >= 2, screen  # at least two different renders of the download column
    assert "293.0" in amounts
    assert "━" in screen  # rich's bar


def test_one_bar_per_parallel_transfer(demo, tmp_path):
    code, screen = run_in_pty(
        [
            "-Z",
            "-o",
            str(tmp_path / "one"),
            "-o",
            str(tmp_path / "two"),
            slow_url(demo),
            slow_url(demo),
        ],
        env={"POLLHTTP_PROGRESS": "plain"},
    )
    assert code == 0
    lines = [ANSI.sub("", line) for line in re.split(r"[\r\n]+", screen)]
    assert any(line.startswith("one [") for line in lines)
    assert any(line.startswith("two [") for line in lines)
    # Both bars are drawn in the same frame: "one" and "two" alternate line by line.
    frames = [line[:3] for line in lines if line.startswith(("one [", "two ["))]
    assert "onetwo" in "".join(frames)


def test_no_bars_when_silent_or_not_a_terminal(demo, tmp_path):
    code, screen = run_in_pty(["-s", "-o", str(tmp_path / "f"), f"{demo.url}/large"])
    assert code == 0
    assert "[" not in ANSI.sub("", screen)
    ran = run_cli("-o", str(tmp_path / "g"), f"{demo.url}/large")
    assert (ran.code, ran.err) == (0, "")  # stderr is a pipe: no bars


def test_no_bars_for_a_body_shown_on_the_terminal(demo):
    code, screen = run_in_pty([f"{demo.url}/json"])
    assert code == 0
    assert screen.strip() == '{"hello": "pollhttp", "poll": true, "frames": [1, 2, 3]}'
