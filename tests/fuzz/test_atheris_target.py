"""fuzz/atheris_target.py stays correct: its target runs here without atheris.

The target function needs no atheris; Hypothesis feeds it the seeds, random bytes and
mutated seeds, so a change in the parser that breaks the target's assumptions (or a
parser bug the target's properties catch) shows up in CI, and long atheris runs start
from a working script.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TARGET = Path(__file__).resolve().parents[2] / "fuzz" / "atheris_target.py"


def _load_target() -> ModuleType:
    spec = importlib.util.spec_from_file_location("atheris_target", TARGET)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("atheris_target", module)
    spec.loader.exec_module(module)
    return module


target = _load_target()
settings_prefixes = st.binary(min_size=4, max_size=4)


@pytest.mark.parametrize("seed", target.SEEDS)
@pytest.mark.parametrize("prefix", [b"\x00\x00\x00\x00", b"\x01\x01\x07\x03", b"\x81\x00\x01\x01"])
def test_seeds(seed: bytes, prefix: bytes) -> None:
    target.test_one_input(prefix + seed)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    settings_prefixes,
    st.sampled_from(target.SEEDS),
    st.lists(st.tuples(st.integers(0, 200), st.binary(max_size=3)), max_size=4),
    st.integers(0, 200),
)
def test_mutated_seeds(prefix: bytes, seed: bytes, edits: list, cut: int) -> None:
    data = bytearray(seed)
    for position, replacement in edits:
        index = position % (len(data) + 1)
        data[index : index + 1] = replacement
    if cut:
        del data[cut % (len(data) + 1) :]
    target.test_one_input(prefix + bytes(data))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    target.test_one_input(data)


def test_corpus_writer(tmp_path: Path) -> None:
    target.write_corpus(str(tmp_path))
    files = sorted(tmp_path.iterdir())
    assert len(files) == 3 * len(target.SEEDS)
    for path in files:
        target.test_one_input(path.read_bytes())


def test_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    crash = tmp_path / "crash-example"
    crash.write_bytes(b"\x00\x00\x00\x00" + target.SEEDS[0])
    target.main(["atheris_target.py", "--replay", str(crash)])
    assert "no finding" in capsys.readouterr().out
