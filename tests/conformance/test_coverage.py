"""The conformance suite is the one place that proves the whole list.

Every case of ecosystem.md §3.3 (1-43) and every item of godot-behaviour.md §7.1 (1-25)
must appear here as a named row (a table parameter ``E<n>...``/``G<n>...``) or a test named
``test_E<n>_...``/``test_G<n>_...``. This test fails when one goes missing.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator

import pytest

MODULES = (
    "test_decoding",
    "test_faults",
    "test_framing",
    "test_godot",
    "test_injection",
    "test_interim",
    "test_limits",
    "test_proxy",
    "test_redirects",
    "test_tls",
)
CASE_ID = re.compile(r"(?:^|_)([EG])(\d+)[a-z+]?(?:[-_]|$)")
ECOSYSTEM_CASES = set(range(1, 44))
GODOT_ITEMS = set(range(1, 26))


def _ids() -> Iterator[str]:
    for name in MODULES:
        module = importlib.import_module(f"{__package__}.{name}")
        for attribute, value in vars(module).items():
            if attribute.startswith("test_"):
                yield attribute.removeprefix("test_")
            elif isinstance(value, list):
                for item in value:
                    if hasattr(item, "id") and hasattr(item, "values") and item.id:
                        yield item.id


def covered() -> dict[str, set[int]]:
    found: dict[str, set[int]] = {"E": set(), "G": set()}
    for case_id in _ids():
        match = CASE_ID.match(case_id) or CASE_ID.search(case_id)
        if match is not None:
            found[match[1]].add(int(match[2]))
    return found


def test_every_ecosystem_case_is_a_row() -> None:
    missing = ECOSYSTEM_CASES - covered()["E"]
    assert not missing, f"ecosystem.md §3.3 cases without a conformance row: {sorted(missing)}"


def test_every_godot_item_is_a_row() -> None:
    missing = GODOT_ITEMS - covered()["G"]
    assert not missing, (
        f"godot-behaviour.md §7.1 items without a conformance row: {sorted(missing)}"
    )


@pytest.mark.parametrize("number", sorted(ECOSYSTEM_CASES))
def test_case_is_present(number: int) -> None:
    """One line per case in the report, so a missing number is named on its own."""
    assert number in covered()["E"]
