"""The README's examples run as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_poll_loop_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "the README has no python example"
    exec(compile(blocks[0], "README.md", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    assert out.startswith("200 {")
    assert "chunk 4" in out
    assert "X-Checksum: demo" in out


def _run(block: str) -> None:
    exec(compile(block, "README.md", "exec"), {"__name__": "readme"})


def test_httprequest_and_one_call_examples_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 3
    _run(blocks[1])
    assert capsys.readouterr().out == "RESULT_SUCCESS 200 1048576 bytes\n"
    _run(blocks[2])
    assert capsys.readouterr().out.startswith("200 application/octet-stream Hello from")
