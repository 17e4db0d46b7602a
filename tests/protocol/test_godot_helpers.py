"""Godot's own HTTPClient tests (godot-behaviour.md §6.1) and the examples of its §3."""

from __future__ import annotations

import math
from collections import OrderedDict

import pytest

from pollhttp import Error, InvalidParameterError
from pollhttp.protocol import query_string_from_dict, split_request_header
from pollhttp.protocol._headers import check_request_field

# -- query_string_from_dict ---------------------------------------------------------------


def test_query_string_godot_cases():
    # tests/core/io/test_http_client.h, "[HTTPClient] query_string_from_dict"
    assert query_string_from_dict({}) == ""
    assert query_string_from_dict({"key": "value"}) == "key=value"
    ordered: OrderedDict[str, object] = OrderedDict()
    ordered["key1"] = "value"
    ordered["key2"] = 123
    ordered["key3"] = [1, 2, 3]
    ordered["key4"] = None
    assert query_string_from_dict(ordered) == "key1=value&key2=123&key3=1&key3=2&key3=3&key4"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"username": "user", "password": "pass"}, "username=user&password=pass"),
        (
            {"single": 123, "not_valued": None, "multiple": [22, 33, 44]},
            "single=123&not_valued&multiple=22&multiple=33&multiple=44",
        ),
        ({"a b": "c&d"}, "a%20b=c%26d"),
        ({"k": True}, "k=true"),
        ({"k": False}, "k=false"),
        ({"k": 1.5}, "k=1.5"),
        ({"k": -5}, "k=-5"),
        ({"k": [[1, 2]]}, "k=%5B1%2C%202%5D"),
        ({"k": [["a", 1]]}, "k=%5B%22a%22%2C%201%5D"),
        ({"k": []}, ""),
        ({"a": 1, "k": [], "b": 2}, "a=1&b=2"),
        ({"k": ()}, ""),
        ({"k": ("x", "y")}, "k=x&k=y"),
        ({"k": None}, "k"),
        ({"k": [None, True, 2.0]}, "k=%3Cnull%3E&k=true&k=2.0"),
        ({None: "v"}, "%3Cnull%3E=v"),
        ({1: 2}, "1=2"),
        ({"k": {}}, "k=%7B%7D"),
        ({"k": {"a": 1}}, "k=%7B%20%22a%22%3A%201%20%7D"),
        ({"k": 0.5}, "k=0.5"),
        ({"k": 0.1 + 0.2}, "k=0.3"),
        ({"k": 1 / 3}, "k=0.33333333333333"),
        ({"k": 123.456}, "k=123.456"),
        ({"k": 2.0}, "k=2.0"),
        ({"k": -2.0}, "k=-2.0"),
        ({"k": 0.0}, "k=0.0"),
        ({"k": math.nan}, "k=nan"),
        ({"k": math.inf}, "k=inf"),
        ({"k": -math.inf}, "k=-inf"),
        ({"é": "é"}, "%C3%A9=%C3%A9"),
        ({"~a": "b~"}, "~a=b~"),
        ({"k": "A-Z_a.z-0~9"}, "k=A-Z_a.z-0~9"),
        ({"k": "=&/+?#% "}, "k=%3D%26%2F%2B%3F%23%25%20"),
        ({"k": "\u20ac"}, "k=%E2%82%AC"),
        ({"k": ""}, "k="),
        ({"": "v"}, "=v"),
    ],
)
def test_query_string_examples(fields, expected):
    assert query_string_from_dict(fields) == expected


def test_query_string_keeps_insertion_order():
    fields = {f"k{i}": i for i in (3, 1, 2)}
    assert query_string_from_dict(fields) == "k3=3&k1=1&k2=2"


def test_query_string_hex_is_upper_case():
    assert query_string_from_dict({"k": "\xff\n"}) == "k=%C3%BF%0A"


# -- verify_headers -----------------------------------------------------------------------


def verify_headers(headers: list[str]) -> Error:
    """Godot's ``verify_headers`` as pollhttp does it: split, then validate each field."""
    try:
        for header in headers:
            check_request_field(*split_request_header(header))
    except InvalidParameterError as exc:
        return exc.code
    return Error.OK


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            ["Accept: text/html", "Content-Type: application/json", "Authorization: Bearer abc123"],
            Error.OK,
        ),
        ([""], Error.ERR_INVALID_PARAMETER),
        (["InvalidHeader", "Header: "], Error.ERR_INVALID_PARAMETER),
        ([":", "Header: "], Error.ERR_INVALID_PARAMETER),
        (["Header: "], Error.OK),
        ([], Error.OK),
        # Beyond Godot, which checks only for a colon after the first character:
        (["X A: b"], Error.ERR_INVALID_PARAMETER),
        (["X : b"], Error.ERR_INVALID_PARAMETER),
        (["X: a\r\nY: b"], Error.ERR_INVALID_PARAMETER),
        (["X: a\nb"], Error.ERR_INVALID_PARAMETER),
        (["X: a\0"], Error.ERR_INVALID_PARAMETER),
        (["X\r\nY: b"], Error.ERR_INVALID_PARAMETER),
        (["Accept: text/html", "Bad Name: x"], Error.ERR_INVALID_PARAMETER),
        (["X: é"], Error.OK),
        (["X:no-space"], Error.OK),
    ],
)
def test_verify_headers(headers, expected):
    assert verify_headers(headers) == expected


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Accept: text/html", (b"Accept", b"text/html")),
        ("Header: ", (b"Header", b"")),
        ("Header:", (b"Header", b"")),
        ("X:  a b \t", (b"X", b"a b")),
        ("  X: y  ", (b"X", b"y")),
        ("X: a:b", (b"X", b"a:b")),
        ("X: é", (b"X", "é".encode())),
    ],
)
def test_split_request_header(header, field):
    assert split_request_header(header) == field


@pytest.mark.parametrize("header", ["", "InvalidHeader", ":", ": value", "   ", " : x"])
def test_split_request_header_needs_a_name_and_colon(header):
    with pytest.raises(InvalidParameterError, match="Name: value"):
        split_request_header(header)
