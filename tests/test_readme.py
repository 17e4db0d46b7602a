"""Every code example in the README and in docs/ runs, and the API reference builds cleanly.

Python examples run as written (against ``pollhttp.demo.DemoServer``, offline). A block's
trailing comment lines are its expected output: each must appear in what it printed (text
after two spaces and a parenthesis is a remark, not output). Shell examples run each
``pollhttp`` line against demo servers, with ``DEMO``, ``DEMO_HTTPS`` and ``DEMO_CA`` set as
``pollhttp demo --serve`` sets them; ``# exit N`` says the status a line must end with.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest

from pollhttp.cli import EXIT_CODES
from pollhttp.demo import DemoServer

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
SRC = ROOT / "src"

# Shell lines that are not pollhttp examples, and where each is checked instead.
NOT_RUN_HERE = {
    'pip install ".[cli]"': "installs; the CI install runs the same pip",
    'pip install ".[docs]"': "installs; the CI install runs the same pip",
    "scripts/test": "the test command itself",
    "PYTHONPATH=src python3 -m pollhttp demo": "tests/cli/test_demo.py runs it as written",
    "python -m pdoc -o site/api pollhttp pollhttp.demo pollhttp.aio pollhttp.cli": (
        "test_the_api_reference_builds_without_warnings runs it"
    ),
}


def _blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(SRC), env.get("PYTHONPATH"))))
    env.update(extra or {})
    return env


# -- the README, in this process -------------------------------------------------------------------


def _run(block: str) -> None:
    exec(compile(block, "README.md", "exec"), {"__name__": "readme"})


def test_readme_starts_by_saying_what_pollhttp_is():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# pollhttp"
    assert "Godot Engine's `HTTPClient`, for Python" in lines[2]
    text = README.read_text(encoding="utf-8")
    assert text.index("## Install") < text.index("## Quick start") < text.index("## The command")
    assert "PYTHONPATH=src python3 -m pollhttp demo" in _blocks(README, "sh")[1].splitlines()[0]
    assert "## Benchmarks" in text


def test_poll_loop_example_runs(capsys):
    blocks = _blocks(README, "python")
    assert blocks, "the README has no python example"
    _run(blocks[0])
    out = capsys.readouterr().out
    assert out.startswith("200 {")
    assert "chunk 4" in out
    assert "X-Checksum: demo" in out


def test_httprequest_and_one_call_examples_run(capsys):
    blocks = _blocks(README, "python")
    assert len(blocks) >= 4
    _run(blocks[1])
    assert capsys.readouterr().out == "RESULT_SUCCESS 200 1048576 bytes\n"
    _run(blocks[2])
    assert capsys.readouterr().out.startswith("200 application/octet-stream Hello from")


def test_game_loop_example_runs(capsys):
    _run(_blocks(README, "python")[3])
    out = capsys.readouterr().out
    match = re.fullmatch(r"3 downloads over (\d+) frames: (.*)\n", out)
    assert match, out
    assert match[2] == "[('level', 1048576), ('music', 65536), ('news', 56)]"
    assert int(match[1]) >= 2  # the downloads spread over frames


# -- docs/*.md python examples, each in its own interpreter ----------------------------------------


def _expected(block: str) -> list[str]:
    """The block's trailing comment lines: the output it promises."""
    expected: list[str] = []
    for line in reversed(block.rstrip().splitlines()):
        stripped = line.strip()
        if not stripped.startswith("# "):
            break
        expected.insert(0, stripped[2:].split("  (", 1)[0].strip())
    return expected


DOC_BLOCKS = [
    pytest.param(block, id=f"{path.name}-{i}")
    for path in DOCS
    for i, block in enumerate(_blocks(path, "python"))
]


def test_the_docs_have_python_examples():
    names = {cast(str, param.id).rsplit("-", 1)[0] for param in DOC_BLOCKS}
    assert {"tls.md", "proxies.md", "game-loop.md", "porting.md", "asyncio.md"} <= names


@pytest.mark.parametrize("block", DOC_BLOCKS)
def test_docs_python_example_runs(block, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", block],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout
    for line in _expected(block):
        assert line in proc.stdout, (line, proc.stdout)


# -- shell examples --------------------------------------------------------------------------------


def _shell_lines() -> list[tuple[str, str]]:
    found = []
    for path in (README, *DOCS):
        for block in _blocks(path, "sh"):
            for line in block.splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    found.append((path.name, line.strip()))
    return found


SHELL_LINES = _shell_lines()


def test_every_shell_line_is_run_somewhere():
    for name, line in SHELL_LINES:
        command = line.split("  #", 1)[0].split(" # ", 1)[0].strip()
        if not command.startswith("pollhttp "):
            assert command in NOT_RUN_HERE, f"{name}: no test runs {command!r}"


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory):
    with DemoServer() as plain, DemoServer(https=True) as secure:
        folder = tmp_path_factory.mktemp("demo")
        ca = folder / "demo-ca.pem"
        assert secure.ca is not None  # an HTTPS demo server has its CA
        ca.write_text(secure.ca.cert_pem, encoding="ascii")
        wrapper = folder / "bin" / "pollhttp"
        wrapper.parent.mkdir()
        wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m pollhttp "$@"\n')
        wrapper.chmod(0o755)
        yield _env(
            {
                "DEMO": plain.url,
                "DEMO_HTTPS": secure.url,
                "DEMO_CA": str(ca),
                "PATH": f"{wrapper.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            }
        )


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(line, id=f"{name}:{line[:50]}")
        for name, line in SHELL_LINES
        if line.startswith("pollhttp ")
    ],
)
def test_shell_example_runs(line, demo_env, tmp_path):
    status = re.search(r"#.*\bexit (\d+)", line)
    proc = subprocess.run(
        ["bash", "-c", line],
        cwd=tmp_path,
        env=demo_env,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert "Traceback" not in proc.stderr.decode()
    assert proc.returncode == (int(status[1]) if status else 0), proc.stderr
    if proc.returncode == 0:
        assert proc.stdout or list(tmp_path.iterdir()) or proc.stderr


# -- the command's documentation agrees with the command ------------------------------------------


def test_exit_statuses_in_cli_md_match_the_command():
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| (\d+) \| (.+) \|$", text, re.M))
    assert {int(code): meaning for code, meaning in table.items()} == EXIT_CODES


def test_every_option_of_the_command_is_documented():
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    from pollhttp.cli import _build_parser  # noqa: PLC0415

    for action in _build_parser()._actions:
        for flag in action.option_strings:
            if flag not in ("-h", "--help"):
                assert f"`{flag}" in text or f", {flag}" in text or f"`{flag} " in text, flag


# -- the API reference -----------------------------------------------------------------------------


def test_the_api_reference_builds_without_warnings(tmp_path):
    line = next(
        line for line in _blocks(ROOT / "docs" / "api.md", "sh")[0].splitlines() if "pdoc" in line
    )
    args = shlex.split(line.replace("site/api", str(tmp_path / "api")))
    assert args[:3] == ["python", "-m", "pdoc"]
    try:
        import pdoc  # noqa: F401, PLC0415
    except ImportError:
        pytest.fail("pdoc is not installed: the test install must include the docs extra")
    proc = subprocess.run(
        [sys.executable, *args[1:]],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Warn" not in output, output
    page = (tmp_path / "api" / "pollhttp.html").read_text(encoding="utf-8")
    for name in ("HTTPClient", "HTTPRequest", "TLSOptions", "read_response_body_chunk"):
        assert name in page
    assert (tmp_path / "api" / "pollhttp" / "demo.html").exists()
