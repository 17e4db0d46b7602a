"""The layers import in one direction only (architecture.md, principle 1)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "pollhttp"
IO_MODULES = {"socket", "ssl", "select", "selectors", "time", "threading", "asyncio"}


def _imports(path: Path) -> set[str]:
    """Absolute module names imported by a file (relative imports resolved)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = parts[:-1]  # a module and an __init__ both resolve against their folder
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ((node.module,) if node.module else ()))
            else:
                module = node.module or ""
            names.add(module)
    return names


def _files(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).glob("*.py"))


@pytest.mark.parametrize("path", _files("protocol"), ids=lambda p: p.name)
def test_protocol_is_sans_io(path):
    imported = _imports(path)
    assert not imported & IO_MODULES, f"{path.name} does I/O: {imported & IO_MODULES}"
    assert not {
        name
        for name in imported
        if name.startswith(("pollhttp.transport", "pollhttp.client", "pollhttp.http_request"))
    }


@pytest.mark.parametrize("path", _files("transport"), ids=lambda p: p.name)
def test_transport_knows_no_http(path):
    imported = _imports(path)
    assert not {
        name
        for name in imported
        if name.startswith(("pollhttp.protocol", "pollhttp.client", "pollhttp.http_request"))
    }


def test_the_check_sees_imports():
    # Guard against a vacuous pass: the resolver does import threading and _errors.
    imported = _imports(PACKAGE / "transport" / "_resolver.py")
    assert "threading" in imported
    assert "pollhttp._errors" in imported
