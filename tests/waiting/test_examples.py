"""The examples run as their own processes, offline against the demo server, and exit 0."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LIMIT = 30.0  # seconds; each takes about one


def run_example(name: str, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error", str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=LIMIT,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.stderr == ""  # -W error -X dev: no warning, no unclosed socket
    return result.stdout


def done_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("done: ")]


def test_selectors_loop():
    output = run_example("selectors_loop.py")
    lines = done_lines(output)
    assert len(lines) == 4
    assert all("RESULT_SUCCESS 200" in line for line in lines)
    assert any(line.endswith("/large -> RESULT_SUCCESS 200, 1048576 bytes") for line in lines)
    assert "... " in output  # its own timer ran while a download was slow


def test_asyncio_fetch():
    output = run_example("asyncio_fetch.py")
    lines = done_lines(output)
    assert len(lines) == 6
    assert all(" -> 200, " in line for line in lines)
    assert 'posted: 200, the server got {"score":42}' in output
    assert "cancel: the slow request missed its deadline; cancelled and closed" in output


def test_game_loop_pygame():
    if importlib.util.find_spec("pygame") is None:
        pytest.skip("pygame-ce is not installed (pip install pygame-ce; it is in the test extra)")
    output = run_example(
        "game_loop_pygame.py",
        env={"SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"},
    )
    lines = done_lines(output)
    assert len(lines) == 5
    assert all("RESULT_SUCCESS 200" in line for line in lines)
    summary = output.splitlines()[-1]
    frames = int(summary.split()[0])
    # The slow downloads take about 0.4 s: the game kept drawing frames meanwhile.
    assert frames >= 15, summary
