"""The suite's guard: a test after which /dev/null is no longer a character device fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GUARD = Path(__file__).resolve().parents[1] / "support" / "devnull.py"

BREAKS_IT = """
import os


def test_breaks_it(tmp_path):
    stand_in = tmp_path / "null"
    stand_in.write_bytes(b"")
    os.devnull = str(stand_in)  # a regular file where the guard looks; /dev/null is untouched
"""


def test_the_dev_null_guard_names_the_test_that_broke_it(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text(GUARD.read_text(encoding="utf-8"), encoding="utf-8")
    (suite / "test_inner.py").write_text(BREAKS_IT, encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--basetemp",
            str(tmp_path / "base"),
            str(suite),
        ],
        cwd=suite,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "test_inner.py::test_breaks_it left " in proc.stdout
    assert "(not a character device)" in proc.stdout
    assert "1 passed, 1 error" in proc.stdout
