"""The ``pollhttp`` command: curl-like transfers driven by `HTTPRequest`, and the offline demo.

``pollhttp [options] URL...`` fetches each URL; ``-Z`` runs them in parallel, all from one
thread: every transfer is an `HTTPRequest`, polled in one loop that sleeps in
`pollhttp.wait` between steps. ``-v``, ``-i``, ``-D``, ``-w`` and ``--trace-ascii`` are built
on `HTTPClient.trace`: what they show is what went over the wire. ``pollhttp demo`` shows it
all offline, against an embedded server. The exit status follows curl's numbers
(`EXIT_CODES`).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http
import http.cookiejar
import ipaddress
import json
import math
import netrc
import os
import re
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO
from urllib.parse import quote_plus, unquote, urljoin, urlsplit

from . import _progress
from ._enums import Error, Method, Status
from ._errors import (
    CertificateVerifyError,
    ConnectTimeoutError,
    IncompleteBodyError,
    InvalidParameterError,
    NoResponseError,
    PinMismatchError,
    PollHTTPError,
    RedirectError,
    RedirectSchemeError,
    RemoteProtocolError,
    ResolveError,
    TLSHandshakeError,
    TLSHandshakeTimeoutError,
)
from ._version import __version__
from .client import HTTPClient
from .http_request import HTTPRequest, Result
from .protocol import TOKEN
from .retry import IDEMPOTENT_METHODS, Retry
from .transport import (
    CryptoKey,
    Proxy,
    Resolution,
    TLSOptions,
    X509Certificate,
    environment_proxy,
    parse_proxy,
    resolve_in_thread,
)
from .waiter import wait

if TYPE_CHECKING:
    from .demo import DemoServer

__all__ = ["EXIT_CODES", "main"]

#: The exit statuses of the command, in curl's numbering, and what each means.
EXIT_CODES: dict[int, str] = {
    0: "success (with --fail: and the final status was below 400)",
    1: "unsupported protocol: a URL, redirect or proxy scheme other than http and https",
    2: "bad usage: an unknown option, a bad value or header, options that conflict",
    3: "malformed URL (also a redirect to a malformed Location)",
    5: "could not resolve the proxy's host name",
    6: "could not resolve the host name",
    7: "could not connect (refused, unreachable; a proxy that refused the tunnel)",
    8: "the server's reply broke HTTP/1.1 (malformed head or framing, a limit exceeded)",
    18: "the body ended early (fewer bytes than announced)",
    22: "HTTP status 400 or above, with --fail or --fail-with-body",
    23: "write error: an output file could not be opened, written or named, or stdout failed "
    "(binary output to a terminal too)",
    26: "read error: a --config or --write-out @file could not be read",
    28: "timeout: --max-time passed, or --connect-timeout during the connect or TLS handshake",
    35: "TLS handshake failed (protocol version, alert, cut, below --tlsv1.3)",
    43: "internal error: a bug in pollhttp (please report it)",
    47: "too many redirects (--max-redirs), or a redirect loop",
    52: "the server closed the connection without any response",
    56: "the connection failed while sending or receiving",
    58: "the client certificate or key (--cert, --key) could not be loaded",
    60: "the server's certificate failed verification (untrusted, expired, wrong name, revoked)",
    61: "the body's content encoding could not be decoded",
    63: "the body exceeded --max-filesize",
    77: "the --cacert file could not be loaded",
    82: "the --crlfile file could not be loaded",
    90: "the server's public key matched no --pin",
    130: "interrupted (Ctrl-C)",
}

_WAITING = (Status.STATUS_RESOLVING, Status.STATUS_CONNECTING, Status.STATUS_REQUESTING)
_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH")
_Header = str | tuple[str, None]  # a "Name: value" line, or (name, None): left out
_STEP = 0.1  # the longest sleep between two polls: timeouts and progress stay lively
_CONFIG_DEPTH = 8  # -K inside -K files, at most this deep


class UsageError(Exception):
    """A problem with the command line or a file it names: a message and an exit status."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def _argv_bytes(text: str) -> bytes:
    """Command-line text as the bytes it came as (undecodable bytes kept, as os.fsencode).

    Only a program calling ``main()`` with a lone surrogate can give text that has none.
    """
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise UsageError(f"not valid text: {text!r}") from None


# -- the command line -----------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see 'pollhttp --help')")


class _Append(argparse.Action):
    """Append ``(const, value)`` to one shared list, keeping the options' order."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        items = list(getattr(namespace, self.dest) or [])
        items.append((self.const, values))
        setattr(namespace, self.dest, items)


# A decimal number as curl reads one: no "inf", "nan", "1_000" or hexadecimal.
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _seconds(text: str) -> float:
    if _DECIMAL.fullmatch(text.strip()) is None:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}")
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"a number of seconds cannot be negative: {text!r}")
    if math.isinf(value):
        raise argparse.ArgumentTypeError(f"too large a number of seconds: {text!r}")
    return value


def _path(text: str) -> str:
    """A file name given on the command line: one the file system can take."""
    if "\0" in text:
        raise argparse.ArgumentTypeError(f"a file name cannot hold a NUL: {text!r}")
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError(f"not a valid file name: {text!r}") from None
    return text


def _count(text: str) -> int:
    if re.fullmatch(r"[+-]?\d+", text.strip()) is None:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}")
    value = int(text)
    if abs(value) >= 1 << 63:  # beyond 64 bits: curl says "too large number" too
        raise argparse.ArgumentTypeError(f"too large a number: {text!r}")
    return value


def _exit_code_table() -> str:
    return "exit statuses:\n" + "\n".join(
        f"  {code:>3}  {meaning}" for code, meaning in EXIT_CODES.items()
    )


def _build_parser() -> _Parser:
    parser = _Parser(
        prog="pollhttp",
        usage="pollhttp [options] URL...\n       pollhttp demo [--serve]",
        description="Fetch URLs with pollhttp's HTTPRequest (HTTP/1.1 and HTTPS), curl-style. "
        "'pollhttp demo' runs the offline showcase.",
        epilog=_exit_code_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("urls", nargs="*", metavar="URL", help="http:// or https:// URLs (http:// if no scheme)")
    add("--url", dest="urls_opt", action="append", default=[], metavar="URL", help="one more URL")
    add("-V", "--version", action="version", version=f"pollhttp {__version__}")
    add(
        "-K",
        "--config",
        metavar="FILE",
        type=_path,
        help="read more options from FILE ('-': stdin), one 'option = value' a line",
    )
    req = parser.add_argument_group("request")
    req.add_argument(
        "-X", "--request", metavar="METHOD", help="the method (any token: GET, PROPFIND, ...)"
    )
    req.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="add a header (repeatable)",
    )
    data_kinds = (
        ("-d", "--data", "data", "POST DATA (@FILE reads a file without its newlines, @- stdin); "
         "several are joined with '&'"),
        (None, "--data-raw", "raw", "like -d, with no @FILE"),
        (None, "--data-binary", "binary", "like -d, and @FILE is sent byte for byte"),
        (None, "--data-urlencode", "urlencode",
         "like -d, percent-encoded: CONTENT, =CONTENT, NAME=CONTENT, @FILE or NAME@FILE"),
        (None, "--json", "json",
         "POST JSON (@FILE too), with Content-Type and Accept application/json"),
    )  # fmt: skip
    for short, long, kind, text in data_kinds:
        names = (short, long) if short else (long,)
        req.add_argument(*names, dest="data", action=_Append, const=kind, metavar="DATA", help=text)
    req.add_argument(
        "-G", "--get", action="store_true", help="send the -d data in the URL's query, with GET"
    )
    req.add_argument("-A", "--user-agent", metavar="NAME", help="the User-Agent header")
    req.add_argument("-e", "--referer", metavar="URL", help="the Referer header")
    req.add_argument("-r", "--range", metavar="RANGE", help="ask for bytes RANGE (Range: bytes=)")
    req.add_argument("-u", "--user", metavar="USER:PASSWORD", help="HTTP Basic credentials")
    req.add_argument("--oauth2-bearer", metavar="TOKEN", help="send Authorization: Bearer TOKEN")
    req.add_argument(
        "-n", "--netrc", action="store_true", help="credentials for the host from ~/.netrc"
    )
    req.add_argument(
        "--netrc-optional", dest="netrc", action="store_true", help="the same as --netrc"
    )
    req.add_argument("--netrc-file", metavar="FILE", type=_path, help="like --netrc, from FILE")
    req.add_argument(
        "-b",
        "--cookie",
        action="append",
        default=[],
        metavar="'NAME=VALUE; ...'|FILE",
        help="send these cookies, or load cookies from FILE (Netscape format) and keep "
        "Set-Cookie across redirects",
    )
    req.add_argument(
        "-c",
        "--cookie-jar",
        metavar="FILE",
        type=_path,
        help="write every cookie to FILE at the end",
    )
    req.add_argument("-I", "--head", action="store_true", help="HEAD: show the response head only")
    req.add_argument("-L", "--location", action="store_true", help="follow redirects")
    req.add_argument(
        "--max-redirs",
        type=_count,
        default=50,
        metavar="N",
        help="most redirects followed with -L (default 50; -1: no limit)",
    )
    req.add_argument(
        "--compressed",
        action="store_true",
        help="ask for gzip, deflate, br, zstd (as installed) and decode the body",
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "-o",
        "--output",
        dest="outputs",
        action=_Append,
        const="file",
        metavar="FILE",
        type=_path,
        help="write the body of the next URL to FILE ('-': stdout)",
    )
    out.add_argument(
        "-O",
        "--remote-name",
        dest="outputs",
        action=_Append,
        const="remote",
        nargs=0,
        help="write the body of the next URL to a file named as in the URL",
    )
    out.add_argument(
        "--remote-name-all", action="store_true", help="-O for every URL without -o or -O"
    )
    out.add_argument(
        "-J",
        "--remote-header-name",
        action="store_true",
        help="with -O: name the file as the server's Content-Disposition says",
    )
    out.add_argument("--create-dirs", action="store_true", help="create the directories -o names")
    out.add_argument(
        "-C",
        "--continue-at",
        metavar="-",
        help="'-': resume a download that an earlier run left as FILE.part",
    )
    out.add_argument("-i", "--include", action="store_true", help="show the response head too")
    out.add_argument(
        "-D",
        "--dump-header",
        metavar="FILE",
        type=_path,
        help="write the response heads to FILE ('-': stdout)",
    )
    out.add_argument(
        "-w",
        "--write-out",
        metavar="FORMAT",
        help="after each transfer print FORMAT with %%{variables} (@FILE: read it from FILE)",
    )
    out.add_argument(
        "-f",
        "--fail",
        action="store_true",
        help="exit 22, writing no body, when the status is 400 or above",
    )
    out.add_argument(
        "--fail-with-body",
        action="store_true",
        help="exit 22 when the status is 400 or above, and write the body all the same",
    )
    out.add_argument(
        "--max-filesize", type=_count, metavar="BYTES", help="fail (63) when the body is larger"
    )
    out.add_argument("-s", "--silent", action="store_true", help="no progress and no messages")
    out.add_argument("-S", "--show-error", action="store_true", help="with -s: show errors")
    out.add_argument("--no-progress-meter", action="store_true", help="no progress bars")
    out.add_argument(
        "-#", "--progress-bar", action="store_true", help="progress as bars (the default here)"
    )
    out.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="trace connects, TLS and each status change, with the heads as sent and received",
    )
    out.add_argument(
        "--trace-ascii",
        metavar="FILE",
        type=_path,
        help="write everything sent and received, and the trace, to FILE ('-': stdout)",
    )
    out.add_argument(
        "--timing",
        action="store_true",
        help="show resolve, connect, TLS, first byte and total times",
    )
    tls = parser.add_argument_group("TLS")
    tls.add_argument(
        "-k",
        "--insecure",
        action="store_true",
        help="do not verify the server's certificate (--pin still applies)",
    )
    tls.add_argument(
        "--cacert", metavar="FILE", type=_path, help="trust these CAs (PEM) instead of the system's"
    )
    tls.add_argument(
        "--pin",
        "--pinnedpubkey",
        dest="pin",
        metavar="sha256//BASE64[;...]",
        help="the server's public key must match one of these SPKI pins",
    )
    tls.add_argument(
        "--crlfile", metavar="FILE", type=_path, help="PEM CRLs: a revoked server certificate fails"
    )
    tls.add_argument(
        "-E", "--cert", metavar="FILE", type=_path, help="client certificate (PEM), for mutual TLS"
    )
    tls.add_argument(
        "--key", metavar="FILE", type=_path, help="the client certificate's private key (PEM)"
    )
    tls.add_argument(
        "--tlsv1.2",
        dest="tls_min",
        action="store_const",
        const="TLSv1.2",
        help="TLS 1.2 or later (the default)",
    )
    tls.add_argument(
        "--tlsv1.3", dest="tls_min", action="store_const", const="TLSv1.3", help="TLS 1.3 only"
    )
    conn = parser.add_argument_group("connection")
    conn.add_argument(
        "-x",
        "--proxy",
        metavar="[http[s]://][USER:PASS@]HOST[:PORT]",
        help="use this proxy (default: http_proxy, https_proxy, no_proxy; '' none)",
    )
    conn.add_argument(
        "-U",
        "--proxy-user",
        metavar="USER:PASSWORD",
        help="proxy credentials (Proxy-Authorization: Basic)",
    )
    conn.add_argument(
        "--noproxy",
        metavar="HOST[,HOST...]",
        help="hosts (and their subdomains) reached without the proxy; '*' for all",
    )
    conn.add_argument(
        "--resolve",
        action="append",
        default=[],
        metavar="HOST:PORT:ADDR",
        help="connect to ADDR for HOST:PORT instead of resolving it (PORT may be *)",
    )
    conn.add_argument(
        "--connect-timeout",
        type=_seconds,
        metavar="SECONDS",
        help="most time for the connect and TLS handshake (default 30)",
    )
    conn.add_argument(
        "-m",
        "--max-time",
        type=_seconds,
        metavar="SECONDS",
        help="most time for each whole transfer, redirects included",
    )
    conn.add_argument(
        "--retry",
        type=_count,
        metavar="N",
        help="retry a transient failure N times (a timeout, a lost connection, 408, 429, "
        "500, 502, 503, 504), waiting 1 s, then twice as long each time",
    )
    conn.add_argument(
        "--retry-delay",
        type=_seconds,
        metavar="SECONDS",
        help="with --retry: wait this long before each retry instead",
    )
    conn.add_argument(
        "--retry-max-time",
        type=_seconds,
        metavar="SECONDS",
        help="with --retry: start no retry later than this after the first attempt",
    )
    conn.add_argument(
        "--retry-all-errors",
        action="store_true",
        help="with --retry: retry on every error, any method (POST too) and any status "
        "of 400 or more",
    )
    conn.add_argument(
        "-4",
        "--ipv4",
        dest="ip_version",
        action="store_const",
        const=4,
        help="connect to IPv4 addresses only",
    )
    conn.add_argument(
        "-6",
        "--ipv6",
        dest="ip_version",
        action="store_const",
        const=6,
        help="connect to IPv6 addresses only",
    )
    conn.add_argument(
        "-Z",
        "--parallel",
        action="store_true",
        help="run the transfers in parallel (one thread, one poll loop)",
    )
    conn.add_argument(
        "--parallel-max",
        type=_count,
        default=50,
        metavar="N",
        help="most transfers at once with -Z (default 50)",
    )
    # Options named like negative numbers (-4, -6) make argparse read every "-1" as an
    # option, and "--max-redirs -1" would lose its value: numbers stay values, as in curl.
    parser._has_negative_number_optionals.clear()
    return parser


# -- config files (-K) ------------------------------------------------------------------------

_CONFIG_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "v": "\v"}


def _config_value(text: str) -> str:
    """The value part of a config line: a quoted string with escapes, or one word."""
    if not text.startswith('"'):
        return text.split(None, 1)[0] if text.strip() else ""
    value, i = [], 1
    while i < len(text) and text[i] != '"':
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            i += 1
            char = _CONFIG_ESCAPES.get(text[i], text[i])
        value.append(char)
        i += 1
    return "".join(value)


def _read_config(name: str, depth: int) -> list[str]:
    """The arguments a -K file holds: ``option = value`` lines, ``#`` comments."""
    if depth > _CONFIG_DEPTH:
        raise UsageError(f"-K files nested more than {_CONFIG_DEPTH} deep")
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise UsageError(f"cannot read the config file {name}: {exc}", 26) from None
    args: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"(\S+?)(?:[\s=:]+|$)(.*)", line)
        assert match is not None  # a non-empty stripped line has a first word
        option, rest = match.group(1), match.group(2).strip()
        option = option if option.startswith("-") else "--" + option
        args.append(option)
        if rest:
            args.append(_config_value(rest))
    return _expand(args, depth + 1)


def _expand(argv: Sequence[str], depth: int = 0) -> list[str]:
    """The command line with -K files read in place and ``--url X`` made a plain URL."""
    out: list[str] = []
    items = list(argv)
    i = 0
    while i < len(items):
        arg = items[i]
        value: str | None = None
        name = arg
        if arg.startswith("--") and "=" in arg:
            name, _, value = arg.partition("=")
        elif arg.startswith("-K") and len(arg) > 2:
            name, value = "-K", arg[2:]
        if name in ("-K", "--config", "--url") and value is None:
            if i + 1 >= len(items):
                out.append(arg)  # argparse reports the missing value
                i += 1
                continue
            value = items[i + 1]
            i += 1
        i += 1
        if name in ("-K", "--config") and value is not None:
            out += _read_config(value, depth)
        elif name == "--url" and value is not None and not value.startswith("-"):
            out.append(value)  # in its place among the other URLs, as curl orders them
        elif name == "--url" and value is not None:
            out += ["--url", value]
        else:
            out.append(arg)
    return out


# -- turning the arguments into transfers ---------------------------------------------------


@dataclass
class Options:
    """How the transfers run and what they show; made from the command line or by the demo."""

    #: A Godot `Method`, or a method name the library takes as a string (``PROPFIND``).
    method: Method | str = Method.METHOD_GET
    #: ``"Name: value"`` lines, and ``(name, None)`` for a header left out, default included.
    headers: list[_Header] = field(default_factory=list)
    body: bytes = b""
    follow: bool = False
    max_redirects: int = 50
    compressed: bool = False
    tls_options: TLSOptions | None = None
    tls_min: str = ""  # "TLSv1.3": a session of an older version is refused
    proxy: tuple[str, int, str, str] | None = None  # host (with scheme), port, user, password
    no_proxy: bool = False  # --proxy '': ignore the environment
    noproxy: str | None = None  # --noproxy: hosts that go direct
    resolve: dict[tuple[str, int | None], list[str]] = field(default_factory=dict)
    connect_timeout: float | None = None
    ip_version: int | None = None  # 4 or 6: only addresses of that family (-4, -6)
    max_time: float = 0.0
    retry: Retry | None = None  # --retry and its companions
    max_filesize: int = -1
    resume: bool = False
    include: bool = False
    head_only: bool = False
    fail: bool = False
    fail_with_body: bool = False
    trace_status: bool = False
    trace_heads: bool = False
    trace_file: str | None = None  # --trace-ascii
    dump_header: str | None = None  # -D
    write_out: str | None = None  # -w, the format
    cookie_jar: http.cookiejar.CookieJar | None = None
    cookie_jar_file: str | None = None  # -c
    netrc: netrc.netrc | None = None
    remote_header_name: bool = False
    create_dirs: bool = False
    timing: bool = False
    parallel: bool = False
    parallel_max: int = 50
    quiet_errors: bool = False
    warnings: bool = True
    progress: bool = True


@dataclass
class Plan:
    """One URL to fetch, and where its body goes (None: stdout)."""

    url: str
    output: str | None = None
    label: str = ""
    stdout_asked: bool = False  # "-o -": binary output to a terminal is wanted
    remote_header: bool = False  # -J: the name comes from Content-Disposition
    headers: list[_Header] = field(default_factory=list)  # for this URL only (--netrc)


def _warn(opts: Options | None, text: str) -> None:
    if opts is None or opts.warnings:
        print(f"pollhttp: warning: {text}", file=sys.stderr)


def _read_file(name: str) -> bytes:
    return sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()


def _read_data(kind: str, value: str) -> bytes:
    if kind == "urlencode":
        return _urlencoded(value)
    if kind == "raw" or not value.startswith("@"):
        return _argv_bytes(value)
    name = value[1:]
    try:
        data = _read_file(name)
    except OSError as exc:
        # As curl does: a warning, and the request goes out with nothing from that file.
        _warn(None, f"cannot read {name} ({exc.strerror or exc}): it adds nothing to the body")
        return b""
    return data.replace(b"\r", b"").replace(b"\n", b"") if kind == "data" else data


def _urlencoded(value: str) -> bytes:
    """``--data-urlencode``: CONTENT, =CONTENT, NAME=CONTENT, @FILE or NAME@FILE."""
    name, content = "", value
    at = re.match(r"([^=@]*)@(.*)", value, re.DOTALL)
    if "=" in value and (at is None or value.index("=") < value.index("@")):
        name, _, content = value.partition("=")
        raw = _argv_bytes(content)
    elif at is not None:
        name = at.group(1)
        try:
            raw = _read_file(at.group(2))
        except OSError as exc:
            _warn(None, f"cannot read {at.group(2)} ({exc.strerror or exc}): it sends nothing")
            raw = b""
    else:
        raw = _argv_bytes(content)
    # As curl encodes: a space is "+", and only A-Z a-z 0-9 - . _ ~ stay as they are.
    encoded = quote_plus(raw, safe="").encode("ascii")
    return (_argv_bytes(name) + b"=" + encoded) if name else encoded


def _header_name(header: _Header) -> str:
    return (header[0] if isinstance(header, tuple) else header.partition(":")[0]).strip().lower()


def _has(headers: Sequence[_Header], name: str) -> bool:
    """Whether ``name`` was given, as a value or as left out (then nothing is added for it)."""
    return any(_header_name(h) == name for h in headers)


def _header_option(text: str) -> _Header:
    """One ``-H`` as curl reads it: ``Name:`` leaves the header out, ``Name;`` sends it empty."""
    name, colon, value = text.partition(":")
    if colon and name.strip() and not value.strip(" \t"):
        if TOKEN.fullmatch(_argv_bytes(name.strip())) is None:
            raise UsageError(f"bad header name in -H {text!r}")
        return (name.strip(), None)
    if not colon and text.rstrip(" \t").endswith(";"):
        # curl's way to send a header with an empty value, since "Name:" removes one.
        empty = text.rstrip(" \t")[:-1].strip()
        if empty and ";" not in empty:
            return f"{empty}:"
    return text  # anything else is HTTPRequest's to judge (and refuse) as it is


def _normalise_url(url: str) -> str:
    if "://" not in url:
        url = "http://" + url
    scheme = url.split("://", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise UsageError(f"protocol '{scheme}' is not supported (http and https are)", 1)
    try:
        urlsplit(url).port  # noqa: B018 - urlsplit checks brackets, .port the number
    except ValueError as exc:
        raise UsageError(f"malformed URL {url!r}: {exc}", 3) from None
    return url


def _remote_name(url: str) -> str:
    # As curl does, the name is the last segment as written: "a%20b" stays "a%20b".
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    if not name or name in (".", ".."):
        raise UsageError(f"no file name in the URL {url} for -O; use -o FILE", 23)
    return name


def _disposition_name(value: str) -> str | None:
    """A safe file name from a Content-Disposition value, or None.

    ``filename*`` (RFC 8187: ``UTF-8''a%20b``) wins over ``filename``. Only the last path
    segment is kept, and names that could leave the directory or hide (``..``, ``.``, a
    NUL, control characters, an empty name) are refused.
    """
    params: dict[str, str] = {}
    for match in re.finditer(r';\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)', ";" + value):
        key, raw = match.group(1).lower(), match.group(2).strip()
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params.setdefault(key, raw)
    name: str | None = None
    extended = params.get("filename*")
    if extended is not None:
        charset, _, rest = extended.partition("'")
        _, _, encoded = rest.partition("'")
        if charset.lower() in ("utf-8", "iso-8859-1") and encoded:
            name = unquote(encoded, encoding=charset.lower(), errors="strict")
    if name is None:
        name = params.get("filename")
    if name is None:
        return None
    name = re.split(r"[/\\]", name)[-1].strip()
    if not name or name in (".", "..") or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        return None
    return name


# -- cookies (-b, -c) -------------------------------------------------------------------------

_NETSCAPE_HEADER = "# Netscape HTTP Cookie File\n# Written by pollhttp; one cookie a line.\n\n"
_HTTPONLY = "#HttpOnly_"


def _load_cookies(jar: http.cookiejar.CookieJar, name: str) -> None:
    """Add the cookies of a Netscape cookie file to ``jar``; a missing file adds none."""
    try:
        text = Path(name).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return  # as curl: a file that is not there yet is a jar that starts empty
    for raw in text.splitlines():
        line = raw.strip("\r\n")
        httponly = line.startswith(_HTTPONLY)
        if httponly:
            line = line[len(_HTTPONLY) :]
        fields = line.split("\t")
        if line.startswith("#") or len(fields) != 7:
            continue
        domain, subdomains, path, secure, expires, key, value = fields
        expiry = int(expires) if expires.isdigit() else 0
        jar.set_cookie(
            http.cookiejar.Cookie(
                version=0,
                name=key,
                value=value,
                port=None,
                port_specified=False,
                domain=domain,
                domain_specified=subdomains == "TRUE",
                domain_initial_dot=domain.startswith("."),
                path=path,
                path_specified=True,
                secure=secure == "TRUE",
                expires=expiry or None,
                discard=expiry == 0,
                comment=None,
                comment_url=None,
                rest={"HttpOnly": ""} if httponly else {},
            )
        )


def _cookie_lines(jar: http.cookiejar.CookieJar) -> str:
    lines = []
    for cookie in jar:
        prefix = _HTTPONLY if cookie.has_nonstandard_attr("HttpOnly") else ""
        subdomains = "TRUE" if cookie.domain.startswith(".") else "FALSE"
        fields = (
            prefix + cookie.domain,
            subdomains,
            cookie.path,
            "TRUE" if cookie.secure else "FALSE",
            str(cookie.expires or 0),
            cookie.name,
            cookie.value or "",
        )
        lines.append("\t".join(fields) + "\n")
    return _NETSCAPE_HEADER + "".join(lines)


# -- TLS, proxies, --resolve --------------------------------------------------------------------


def _tls_options(args: argparse.Namespace) -> TLSOptions | None:
    chain: X509Certificate | None = None
    if args.cacert:
        chain = X509Certificate()
        err = chain.load(args.cacert)
        if err != Error.OK:
            raise UsageError(f"cannot load --cacert {args.cacert}: {err.name}", 77)
    crls = ""
    if args.crlfile:
        try:
            crls = Path(args.crlfile).read_text(encoding="ascii")
        except (OSError, UnicodeError) as exc:
            raise UsageError(f"cannot load --crlfile {args.crlfile}: {exc}", 82) from None
        if "-----BEGIN X509 CRL-----" not in crls:
            raise UsageError(f"cannot load --crlfile {args.crlfile}: no PEM CRL in it", 82)
    certificate: X509Certificate | None = None
    key: CryptoKey | None = None
    if args.key and not args.cert:
        raise UsageError("--key needs --cert")
    if args.cert:
        certificate, key = X509Certificate(), CryptoKey()
        err = certificate.load(args.cert)
        if err != Error.OK:
            raise UsageError(f"cannot load --cert {args.cert}: {err.name}", 58)
        key_file = args.key or args.cert
        err = key.load(key_file)
        if err != Error.OK:
            raise UsageError(f"cannot load the private key from {key_file}: {err.name}", 58)
    pins = [p.strip() for p in (args.pin or "").split(";") if p.strip()]
    try:
        if args.insecure:
            return TLSOptions.client_unsafe(pins=pins, certificate=certificate, key=key)
        if chain is None and not crls and certificate is None and not pins:
            return None
        return TLSOptions.client(chain, pins=pins, crls=crls, certificate=certificate, key=key)
    except InvalidParameterError as exc:
        raise UsageError(f"bad TLS option: {exc}") from None


def _proxy(args: argparse.Namespace) -> tuple[str, int, str, str] | None:
    if not args.proxy:
        if args.proxy_user and args.proxy is None:
            raise UsageError("--proxy-user needs --proxy")
        return None
    value = args.proxy if "://" in args.proxy else "http://" + args.proxy
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UsageError(f"proxy protocol '{scheme}' is not supported (http and https are)", 1)
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise UsageError(f"bad proxy port in {args.proxy!r}") from None
    if not parts.hostname:
        raise UsageError(f"no host in --proxy {args.proxy!r}")
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    if args.proxy_user:
        user, _, password = args.proxy_user.partition(":")
    host = f"{scheme}://{parts.hostname}"
    try:
        parse_proxy(host, port, username=user, password=password)
    except InvalidParameterError as exc:
        raise UsageError(f"bad --proxy: {exc}") from None
    return host, port, user, password


def _environment(opts: Options) -> Mapping[str, str]:
    """The proxy variables as curl reads them: never ``HTTP_PROXY`` (httpoxy, CVE-2016-5385).

    ``--noproxy`` takes the place of ``no_proxy``.
    """
    env = {k: v for k, v in os.environ.items() if k != "HTTP_PROXY"}
    if opts.noproxy is not None:
        env.pop("NO_PROXY", None)
        env["no_proxy"] = opts.noproxy
    return env


def _proxy_for(url: str, opts: Options) -> Proxy | None:
    """The proxy a URL goes through: -x (unless --noproxy names its host), or the environment."""
    if opts.no_proxy:
        return None
    parts = urlsplit(url)
    scheme, host, port = parts.scheme.lower(), parts.hostname or "", _port(url)
    if opts.proxy is None:
        return environment_proxy(scheme, host, port, _environment(opts))
    if opts.noproxy is not None:
        # The library's no_proxy rules decide, so --noproxy matches as no_proxy does.
        probe = {"http_proxy": "http://proxy.invalid", "no_proxy": opts.noproxy}
        if environment_proxy("http", host, port, probe) is None:
            return None
    proxy_host, proxy_port, user, password = opts.proxy
    return parse_proxy(proxy_host, proxy_port, username=user, password=password)


def _resolve_table(entries: Sequence[str]) -> dict[tuple[str, int | None], list[str]]:
    table: dict[tuple[str, int | None], list[str]] = {}
    for entry in entries:
        host, _, rest = entry.partition(":")
        port_text, _, addresses = rest.partition(":")
        if not host or not addresses or not (port_text == "*" or port_text.isdigit()):
            raise UsageError(f"--resolve wants HOST:PORT:ADDRESS, got {entry!r}")
        found = []
        for address in addresses.split(","):
            bare = address.strip().strip("[]")
            try:
                ipaddress.ip_address(bare)
            except ValueError:
                raise UsageError(f"--resolve: {address!r} is not an IP address") from None
            found.append(bare)
        port = None if port_text == "*" else int(port_text)
        table[(host.lower().strip("[]"), port)] = found
    return table


def _netrc(args: argparse.Namespace) -> netrc.netrc | None:
    name = args.netrc_file
    if name is None and args.netrc:
        name = str(Path(os.environ.get("HOME") or Path.home(), ".netrc"))
    if name is None:
        return None
    try:
        # A file named here is read as it is: the stdlib's ownership check is for its default.
        return netrc.netrc(name)
    except FileNotFoundError:
        return None  # as curl: no file, no credentials
    except (OSError, netrc.NetrcParseError) as exc:
        raise UsageError(f"cannot read the netrc file {name}: {exc}", 26) from None


def _basic(userinfo: str) -> str:
    token = base64.b64encode(_argv_bytes(userinfo)).decode()
    return f"Authorization: Basic {token}"


def _method(args: argparse.Namespace, has_data: bool) -> Method | str:
    if args.request is not None:
        name = args.request
        if TOKEN.fullmatch(_argv_bytes(name)) is None:
            raise UsageError(f"bad method {name!r}: a method is a token (RFC 9110 §9.1)")
        # Godot's Method values where one fits (-X put too: the library sends them upper
        # case); any other token goes as it is (-X PROPFIND).
        return Method[f"METHOD_{name.upper()}"] if name.upper() in _METHODS else name
    if args.head:
        return Method.METHOD_HEAD
    if has_data and not args.get:
        return Method.METHOD_POST
    return Method.METHOD_GET


def _options(args: argparse.Namespace) -> Options:
    opts = Options()
    opts.quiet_errors = args.silent and not args.show_error
    opts.warnings = not args.silent
    data = list(args.data or [])
    kinds = {kind for kind, _ in data}
    if "json" in kinds and len(kinds) > 1:
        raise UsageError("--json cannot be combined with -d/--data")
    if args.fail and args.fail_with_body:
        raise UsageError("--fail and --fail-with-body cannot go together: choose one")
    headers = [_header_option(text) for text in args.header]
    if args.user_agent is not None and not _has(headers, "user-agent"):
        # -A "" leaves User-Agent out altogether, as curl's does.
        headers.append(
            f"User-Agent: {args.user_agent}" if args.user_agent else ("User-Agent", None)
        )
    if args.user is not None and not _has(headers, "authorization"):
        # curl asks for the password of "-u user"; pollhttp never prompts: it is empty.
        headers.append(_basic(args.user if ":" in args.user else args.user + ":"))
    if args.oauth2_bearer is not None and not _has(headers, "authorization"):
        headers.append(f"Authorization: Bearer {args.oauth2_bearer}")
    if args.referer is not None and not _has(headers, "referer"):
        referer = args.referer.removesuffix(";auto")
        if referer:
            headers.append(f"Referer: {referer}")
    if args.range is not None and not _has(headers, "range"):
        headers.append(f"Range: bytes={args.range}")
    cookies = [value for value in args.cookie if "=" in value]
    if cookies and not _has(headers, "cookie"):
        headers.append("Cookie: " + "; ".join(cookies))
    files = [value for value in args.cookie if "=" not in value]
    if files or args.cookie_jar:
        opts.cookie_jar = http.cookiejar.CookieJar()
        for name in files:
            _load_cookies(opts.cookie_jar, name)
        opts.cookie_jar_file = args.cookie_jar
    opts.netrc = None if args.user is not None else _netrc(args)
    if data:
        pieces = [_read_data(kind, value) for kind, value in data]
        if "json" in kinds:
            opts.body = b"".join(pieces)
            if not _has(headers, "content-type"):
                headers.append("Content-Type: application/json")
            if not _has(headers, "accept"):
                headers.append("Accept: application/json")
        else:
            opts.body = b"&".join(pieces)
            if not _has(headers, "content-type") and not args.get:
                headers.append("Content-Type: application/x-www-form-urlencoded")
    opts.headers = headers
    if args.head and data and not args.get:
        raise UsageError("-I (HEAD) cannot send data")
    opts.method = _method(args, bool(data))
    opts.follow = args.location
    if args.max_redirs < -1:
        raise UsageError("--max-redirs must be -1 (no limit) or more")
    opts.max_redirects = args.max_redirs
    opts.compressed = args.compressed
    opts.tls_options = _tls_options(args)
    opts.tls_min = args.tls_min or ""
    opts.proxy = _proxy(args)
    opts.no_proxy = args.proxy == ""
    opts.noproxy = args.noproxy
    opts.resolve = _resolve_table(args.resolve)
    opts.connect_timeout = args.connect_timeout
    opts.ip_version = args.ip_version
    opts.max_time = args.max_time or 0.0
    with _option("--retry"):
        opts.retry = _retry_policy(args)
    if args.max_filesize is not None:
        if args.max_filesize < 0:
            raise UsageError("--max-filesize must be 0 or more")
        opts.max_filesize = args.max_filesize
    if args.continue_at is not None:
        if args.continue_at != "-":
            raise UsageError("only '-C -' is supported: it resumes FILE.part from an earlier run")
        opts.resume = True
    opts.include = args.include
    opts.head_only = args.head
    opts.fail = args.fail
    opts.fail_with_body = args.fail_with_body
    opts.trace_status = opts.trace_heads = args.verbose
    opts.trace_file = args.trace_ascii
    opts.dump_header = args.dump_header
    opts.write_out = _write_out_format(args.write_out)
    opts.remote_header_name = args.remote_header_name
    opts.create_dirs = args.create_dirs
    opts.timing = args.timing
    opts.parallel = args.parallel
    if args.parallel_max < 1:
        raise UsageError("--parallel-max must be 1 or more")
    opts.parallel_max = args.parallel_max
    opts.progress = not (args.silent or args.no_progress_meter)
    return opts


def _write_out_format(value: str | None) -> str | None:
    if value is None or not value.startswith("@"):
        return value
    try:
        return _read_file(value[1:]).decode("utf-8", "surrogateescape")
    except OSError as exc:
        raise UsageError(
            f"cannot read the -w file {value[1:]}: {exc.strerror or exc}", 26
        ) from None


def _with_query(url: str, data: bytes) -> str:
    """-G: the data goes after the URL's query (or starts one), before any fragment."""
    base, hash_, fragment = url.partition("#")
    joiner = "&" if "?" in base else "?"
    text = data.decode("utf-8", "surrogateescape")
    return base + (joiner + text if text else "") + hash_ + fragment


def _plans(args: argparse.Namespace, opts: Options) -> list[Plan]:
    urls = list(args.urls) + list(args.urls_opt)
    if not urls:
        raise UsageError("no URL given (see 'pollhttp --help')")
    outputs = list(args.outputs or [])
    if len(outputs) > len(urls):
        raise UsageError("more -o/-O options than URLs")
    if args.get and args.data:
        urls = [_with_query(url, opts.body) for url in urls]
        opts.body = b""
    plans = []
    for i, raw in enumerate(urls):
        url = _normalise_url(raw)
        plan = Plan(url)
        kind, value = outputs[i] if i < len(outputs) else ("", "")
        if not kind and args.remote_name_all:
            kind = "remote"
        if kind == "remote":
            plan.output = _remote_name(url)
            plan.remote_header = opts.remote_header_name
        elif kind == "file":
            plan.output = None if value == "-" else value
            plan.stdout_asked = value == "-"
        if opts.resume and plan.output is None:
            raise UsageError("-C - needs -o FILE or -O for each URL")
        plan.label = Path(plan.output).name if plan.output else _label(url)
        plan.headers = _netrc_headers(url, opts)
        plans.append(plan)
    _check_requests(plans, opts)
    return plans


def _label(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1] or url


def _netrc_headers(url: str, opts: Options) -> list[_Header]:
    """``Authorization`` from the netrc file for this URL's host, unless one is given."""
    if opts.netrc is None or _has(opts.headers, "authorization"):
        return []
    parts = urlsplit(url)
    entry = opts.netrc.authenticators(parts.hostname or "")
    if entry is None:
        return []
    login, _, password = entry
    if parts.username is not None and unquote(parts.username) != login:
        return []  # the URL names another user: the file has nothing for them
    return [_basic(f"{login}:{password or ''}")]


@contextlib.contextmanager
def _option(name: str) -> Iterator[None]:
    """A value the library refuses is bad usage of the option that gave it (exit status 2)."""
    try:
        yield
    except InvalidParameterError as exc:
        raise UsageError(f"bad value for {name}: {exc}") from None


#: curl's transient HTTP answers for --retry.
_RETRY_STATUSES = frozenset((408, 429, 500, 502, 503, 504))


def _retry_policy(args: argparse.Namespace) -> Retry | None:
    """curl's --retry options as a `Retry` (None without --retry)."""
    if not args.retry:
        return None
    delay = args.retry_delay
    everything = args.retry_all_errors
    return Retry(
        total=args.retry,
        # curl waits 1 s and doubles up to 10 minutes; --retry-delay waits a fixed time.
        backoff_factor=delay if delay else 1.0,
        backoff_max=delay if delay else 600.0,
        status_forcelist=frozenset(range(400, 600)) if everything else _RETRY_STATUSES,
        allowed_methods=frozenset(_ALL_METHODS) if everything else IDEMPOTENT_METHODS,
        max_time=args.retry_max_time or None,
    )


_ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH")


def _configure(req: HTTPRequest, opts: Options) -> None:
    """Give ``req`` the options that are its settings; a refused value is a `UsageError`."""
    with _option("--compressed"):
        req.accept_gzip = opts.compressed
    with _option("--max-redirs"):
        req.max_redirects = opts.max_redirects if opts.follow else 0
    with _option("--max-time"):
        req.timeout = opts.max_time
    with _option("--max-filesize"):
        req.body_size_limit = opts.max_filesize
    if opts.retry is not None:
        req.retries = opts.retry
    if opts.ip_version is not None:
        with _option(f"-{opts.ip_version}"):
            req.ip_version = opts.ip_version
    if opts.connect_timeout is not None:
        with _option("--connect-timeout"):
            req.get_http_client().connect_timeout = opts.connect_timeout
    req.cookie_jar = opts.cookie_jar
    # The CLI picks each URL's proxy itself (_proxy_for): curl's rules, not the library's.
    req.use_environment_proxies = False


def _check_requests(plans: Sequence[Plan], opts: Options) -> None:
    """Let HTTPRequest judge every URL, the headers and the settings before anything is sent."""
    for plan in plans:
        try:
            _proxy_for(plan.url, opts)
        except InvalidParameterError as exc:
            unsupported = "unsupported" in str(exc)
            raise UsageError(f"{exc} (--proxy '' ignores it)", 1 if unsupported else 2) from None
    with HTTPRequest() as probe:
        _configure(probe, opts)
        for plan in plans:
            try:
                err = probe.request_raw(plan.url, plan.headers, Method.METHOD_GET)
            except ValueError as exc:  # urlsplit's own complaint ("Invalid IPv6 URL")
                raise UsageError(f"malformed URL {plan.url!r}: {exc}", 3) from None
            if err != Error.OK:
                raise UsageError(f"malformed URL: {probe.get_last_error()}", 3)
            probe.cancel_request()
        method: Any = opts.method
        err = probe.request_raw("http://127.0.0.1/", opts.headers, method, opts.body)
        if err != Error.OK:
            raise UsageError(f"bad request: {probe.get_last_error()}")
        probe.cancel_request()


# -- exit statuses ----------------------------------------------------------------------------


def exit_code(
    result: Result, error: PollHTTPError | None, via_proxy: bool = False, *, location: str = ""
) -> int:
    """The command's exit status for a failed `HTTPRequest` result and its error.

    ``location`` is the absolute URL of the last redirect, when the failure came after one.
    """
    # No address (of the family -4 or -6 asks for) is a resolve failure, whatever the result.
    if result == Result.RESULT_CANT_RESOLVE or isinstance(error, ResolveError):
        return 5 if via_proxy else 6
    if isinstance(error, (ConnectTimeoutError, TLSHandshakeTimeoutError)):
        return 28
    if isinstance(error, PinMismatchError):
        return 90
    if isinstance(error, CertificateVerifyError):
        return 60
    if isinstance(error, RedirectSchemeError):
        return 1
    if isinstance(error, RedirectError):
        scheme = urlsplit(location).scheme.lower()
        return 1 if location and scheme not in ("http", "https") else 3
    if result == Result.RESULT_TLS_HANDSHAKE_ERROR or isinstance(error, TLSHandshakeError):
        return 35
    if result == Result.RESULT_CANT_CONNECT:
        return 7
    if result == Result.RESULT_CONNECTION_ERROR:
        if isinstance(error, IncompleteBodyError):
            return 18
        if isinstance(error, NoResponseError):
            return 52
        if isinstance(error, RemoteProtocolError):
            return 8
        return 56
    return {
        Result.RESULT_CHUNKED_BODY_SIZE_MISMATCH: 18,
        Result.RESULT_NO_RESPONSE: 52,
        Result.RESULT_BODY_SIZE_LIMIT_EXCEEDED: 63,
        Result.RESULT_BODY_DECOMPRESS_FAILED: 61,
        Result.RESULT_DOWNLOAD_FILE_CANT_OPEN: 23,
        Result.RESULT_DOWNLOAD_FILE_WRITE_ERROR: 23,
        Result.RESULT_REDIRECT_LIMIT_REACHED: 47,
        Result.RESULT_TIMEOUT: 28,
    }.get(result, 56)


# -- what the trace shows --------------------------------------------------------------------


@dataclass
class _Head:
    """A response head as it arrived: its status line and header lines."""

    status: int
    version: str  # "1.1"
    reason: str
    headers: list[str]
    informational: bool = False

    @property
    def status_line(self) -> str:
        return f"HTTP/{self.version} {self.status} {self.reason}".rstrip()

    def encode(self) -> bytes:
        lines = [self.status_line, *self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")

    def get(self, name: str) -> str | None:
        values = [
            line.partition(":")[2].strip()
            for line in self.headers
            if line.partition(":")[0].strip().lower() == name
        ]
        return ", ".join(values) if values else None


def _text(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


def _head_from(info: Mapping[str, Any], informational: bool) -> _Head:
    return _Head(
        status=int(info["status"]),
        version=_text(info["version"]),
        reason=_text(info["reason"]),
        headers=[f"{_text(name)}: {_text(value)}" for name, value in info["headers"]],
        informational=informational,
    )


_NAME_KEYS = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "stateOrProvinceName": "ST",
    "localityName": "L",
    "emailAddress": "emailAddress",
}


def _dn(name: Sequence[Sequence[tuple[str, str]]]) -> str:
    return ", ".join(f"{_NAME_KEYS.get(k, k)}={v}" for rdn in name for k, v in rdn)


def _matched_name(host: str, certificate: Mapping[str, Any]) -> str | None:
    """The certificate name (``DNS:...`` or ``IP:...``) that ``host`` matched, if any."""
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(
            host.strip("[]")
        )
    except ValueError:
        address = None
    for kind, value in certificate.get("subjectAltName", ()):
        if address is not None and kind == "IP Address":
            with contextlib.suppress(ValueError):
                if ipaddress.ip_address(value.strip()) == address:
                    return f"IP:{value}"
        elif address is None and kind == "DNS":
            pattern = value.lower()
            name = host.lower().rstrip(".")
            if pattern == name or (
                pattern.startswith("*.") and name.partition(".")[2] == pattern[2:] and "." in name
            ):
                return f"DNS:{value}"
    return None


def _tls_lines(info: Mapping[str, Any]) -> list[str]:
    """The TLS session and the server's certificate, for -v."""
    who = "proxy " if info.get("proxy") else ""
    lines = [
        f"{who}TLS session: {info.get('version')}, cipher {info.get('cipher')}, "
        f"ALPN {info.get('alpn') or 'none agreed'}"
    ]
    cert = info.get("certificate") or {}
    if not cert:
        lines.append(f"{who}certificate not verified (-k): its details are not available")
        return lines
    host = str(info.get("server_name", ""))
    matched = _matched_name(host, cert)
    lines += [
        f"{who}certificate subject: {_dn(cert.get('subject', ()))}",
        f"{who}certificate issuer: {_dn(cert.get('issuer', ()))}",
        f"{who}certificate valid from {cert.get('notBefore')} until {cert.get('notAfter')}",
        f"{who}certificate name {matched} matches {host}"
        if matched
        else f"{who}certificate holds no name that matches {host}",
    ]
    return lines


def _dump(direction: str, what: str, data: bytes) -> str:
    """One --trace-ascii block: a title, then the bytes a line at a time with their offsets."""
    out = [f"{direction} {what}, {len(data)} bytes (0x{len(data):x})"]
    offset = 0
    while offset < len(data):
        end = data.find(b"\n", offset, offset + 64)
        end = min(offset + 64, len(data)) if end < 0 else end + 1
        piece = data[offset:end].rstrip(b"\r\n")
        shown = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in piece)
        out.append(f"{offset:04x}: {shown}")
        offset = end
    return "\n".join(out) + "\n"


# -- -w / --write-out ------------------------------------------------------------------------

_WRITE_OUT = re.compile(r"%%|%\{([^}]*)\}|%header\{([^}]*)\}|\\[nrt\\]")
_ESCAPES = {"\\n": "\n", "\\r": "\r", "\\t": "\t", "\\\\": "\\"}


def _shown(name: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6f}"
    if name in ("http_code", "response_code", "http_connect"):
        return f"{value:03d}"
    return str(value)


def _write_out(
    template: str, values: Mapping[str, object], head: _Head | None, warn: Callable[[str], None]
) -> list[tuple[bool, str]]:
    """``-w``: the pieces to write, each with True when it goes to stderr."""
    pieces: list[tuple[bool, str]] = []
    to_stderr = False
    position = 0
    for match in _WRITE_OUT.finditer(template):
        text = template[position : match.start()]
        position = match.end()
        token = match.group(0)
        if token == "%%":
            text += "%"
        elif token in _ESCAPES:
            text += _ESCAPES[token]
        elif match.group(2) is not None:
            text += (head.get(match.group(2).strip().lower()) if head else None) or ""
        else:
            name = match.group(1)
            if name in ("stdout", "stderr"):
                pieces.append((to_stderr, text))
                to_stderr, text = name == "stderr", ""
            elif name == "json":
                text += json.dumps(dict(sorted(values.items())), separators=(",", ":"))
            elif name in values:
                text += _shown(name, values[name])
            else:
                warn(f"-w: no variable named {name!r}")
        pieces.append((to_stderr, text))
    pieces.append((to_stderr, template[position:]))
    return [(err, text) for err, text in pieces if text]


# -- running transfers --------------------------------------------------------------------------

_TLS_ORDER = ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")


class _Transfer:
    """One URL: its HTTPRequest, what the trace showed, and how it ended."""

    def __init__(self, run: _Run, index: int, plan: Plan) -> None:
        self.run = run
        self.index = index
        self.plan = plan
        self.req: HTTPRequest | None = None
        self.client: HTTPClient | None = None  # the client whose trace is this transfer's
        self.started = 0.0
        self.heads: list[_Head] = []
        self.marks: dict[str, float] = {}
        self.result: tuple[Result, int, list[str], bytes] | None = None
        self.code = -1  # the exit status, once finished
        self.message = ""
        self.bar = -1
        self.done = False
        self.via_proxy = False
        self.failed_status = 0  # a status of 400 or more, with --fail: stop at the head
        self.tls_refused = ""  # the TLS version of a session below --tlsv1.3
        self.peer: tuple[str, int] | None = None
        self.connects = 0
        self.tunnel_status = 0
        self.request_bytes = 0
        self.upload_bytes = 0
        self.last_method = ""
        self.download = plan.output  # where the library writes the body (a temporary with -J)

    # -- output helpers

    def say(self, text: str) -> None:
        prefix = f"[{self.index + 1}] " if self.run.many else ""
        self.run.display.log(f"{prefix}{text}")

    def trace(self, text: str) -> None:
        if self.run.opts.trace_status:
            elapsed = (time.monotonic() - self.started) * 1000
            self.say(f"* {elapsed:8.1f} ms  {text}")
        self.run.trace_out(f"== Info: {text}\n")

    # -- starting

    def start(self, req: HTTPRequest) -> None:
        opts, plan = self.run.opts, self.plan
        self.req = req
        if plan.remote_header and plan.output is not None:
            # The name is known only from the response head: download beside it, rename after.
            folder = os.path.dirname(plan.output)
            self.download = os.path.join(folder, f".pollhttp-{os.getpid()}-{self.index}.download")
        if self.download and opts.create_dirs:
            try:
                os.makedirs(os.path.dirname(self.download) or ".", exist_ok=True)
            except OSError as exc:
                self.finish(23, f"cannot create the directory for {self.download}: {exc}")
                return
        req.download_file = self.download or ""
        req.resume_download = opts.resume
        req.request_completed.connect(self._completed)
        req.download_progress.connect(self._progress)
        self.started = time.monotonic()
        proxy = _proxy_for(plan.url, opts)
        self.via_proxy = proxy is not None
        for setter in (req.set_http_proxy, req.set_https_proxy):
            if proxy is None:
                setter("", -1)
            else:
                host = ("https://" if proxy.tls else "http://") + proxy.host
                setter(host, proxy.port, username=proxy.username, password=proxy.password)
        method = opts.method if isinstance(opts.method, str) else opts.method.name[7:]
        self.trace(f"{method} {plan.url}")
        # HTTPRequest keeps its client from one request to the next (and makes a new one
        # after a cancel): hook the one this request will use.
        self.client = req.get_http_client()
        self.client.trace = self._on_trace
        verb: Any = opts.method
        err = req.request_raw(plan.url, [*opts.headers, *plan.headers], verb, opts.body)
        if err != Error.OK:  # checked up front; a surprise here is still reported, not raised
            self.finish(2, f"cannot start the request: {req.get_last_error() or err.name}")
            return
        if req.get_http_client() is not self.client:
            self.client.trace = None
            self.client = req.get_http_client()
            self.client.trace = self._on_trace
        if opts.connect_timeout is not None:
            # A cancelled request (-f) takes its client along: set it on this request's one.
            self.client.connect_timeout = opts.connect_timeout
        if self.run.bars_for(self):
            self.bar = self.run.display.add(plan.label)

    def _progress(self, done: int, total: int) -> None:
        if self.bar >= 0:
            self.run.display.update(self.bar, done, total)

    def _completed(self, result: Result, code: int, headers: list[str], body: bytes) -> None:
        self.result = (result, code, headers, body)

    # -- the trace

    def _on_trace(self, event: str, info: Mapping[str, Any]) -> None:
        """Called by the client, inside its poll: note and show; never call back into it."""
        now = time.monotonic() - self.started
        opts = self.run.opts
        if event == "status":
            self.trace(f"status {info['status'].name}")
        elif event == "connect.resolved":
            self.marks.setdefault("resolve", now)
            shown = ", ".join(address for address, _ in info["addresses"])
            self.trace(f"{info['host']} is {shown}")
        elif event == "connect.attempt":
            self.marks.setdefault("resolve", now)
            self.trace(f"trying {info['address']} port {info['port']}")
        elif event == "connect.failed":
            self.trace(f"{info['address']} port {info['port']} failed: {info['error']}")
        elif event == "connect.established":
            self.marks["connect"] = now
            self.connects += 1
            self.peer = (str(info["address"]), int(info["port"]))
            self.trace(f"connected to {info['address']} port {info['port']}")
        elif event == "tunnel.established":
            self.tunnel_status = int(info["status"])
            self.trace(f"tunnel to {info['authority']} open ({info['status']} from the proxy)")
        elif event == "tls.established":
            if not info.get("proxy"):
                self.marks["tls"] = now
                version = str(info.get("version") or "")
                if opts.tls_min and _TLS_ORDER.index(version) < _TLS_ORDER.index(opts.tls_min):
                    self.tls_refused = version
            for line in _tls_lines(info):
                self.trace(line)
        elif event == "request.head":
            self._sent(bytes(info["head"]), now)
        elif event in ("response.head", "response.informational"):
            self._received(_head_from(info, event == "response.informational"), now)
        elif event == "connection.dropped":
            self.trace(f"the kept-alive connection was closed: {info['error']}")

    def _sent(self, head: bytes, now: float) -> None:
        self.marks.setdefault("pretransfer", now)
        self.marks["request"] = now
        length = re.search(rb"(?im)^content-length:[ \t]*(\d+)", head)
        body = int(length.group(1)) if length else 0
        self.request_bytes += len(head) + body
        self.upload_bytes += body
        self.last_method = _text(head.split(b" ", 1)[0])
        self.run.trace_out(_dump("=>", "Send header", head))
        if body and self.run.opts.body:
            self.run.trace_out(_dump("=>", "Send data", self.run.opts.body[:body]))
        if self.run.opts.trace_heads:
            for line in _text(head).split("\r\n")[:-2]:
                self.say(f"> {line}")
            self.say(">")

    def _received(self, head: _Head, now: float) -> None:
        self.marks.setdefault("first_byte", now)
        self.heads.append(head)
        self.run.trace_out(_dump("<=", "Recv header", head.encode()))
        if self.run.opts.trace_heads:
            for line in (head.status_line, *head.headers):
                self.say(f"< {line}")
            self.say("<")
        if not head.informational and head.status >= 400 and self.run.opts.fail:
            self.failed_status = head.status  # a 4xx or 5xx is never followed: it is final

    # -- finishing

    def poll(self) -> None:
        if self.done or self.req is None:
            return
        self.req.poll()
        if self.result is None and self.tls_refused:
            self.req.cancel_request()
            self.finish(35, f"the server chose {self.tls_refused}; --tlsv1.3 wants TLSv1.3")
        elif self.result is None and self.failed_status:
            # The final answer is an error: no need for its body (nor a file holding it).
            self.req.cancel_request()
            self.finish(22, f"the requested URL returned error: {self.failed_status}")
        elif self.result is not None and not self.done:
            self._conclude()

    def final_head(self) -> _Head | None:
        return next((h for h in reversed(self.heads) if not h.informational), None)

    def _conclude(self) -> None:
        assert self.result is not None
        assert self.req is not None
        result, code, _, _ = self.result
        opts = self.run.opts
        if result == Result.RESULT_SUCCESS:
            if (opts.fail or opts.fail_with_body) and code >= 400:
                self.finish(22, f"the requested URL returned error: {code}")
            elif self.plan.remote_header:
                self._name_download()
            else:
                self.finish(0, "")
            return
        error = self.req.get_last_error()
        head = self.final_head()
        location = head.get("location") if head is not None else None
        target = ""
        if location and head is not None and head.status in (301, 302, 303, 307, 308):
            target = _joined(self.req.get_final_url() or self.plan.url, location)
        code = exit_code(result, error, self.via_proxy, location=target)
        self.finish(code, str(error) if error else result.name)

    def _name_download(self) -> None:
        """-J: move the download to the name the server gave (never over an existing file)."""
        assert self.download is not None
        assert self.plan.output is not None
        head = self.final_head()
        disposition = head.get("content-disposition") if head else None
        name = _disposition_name(disposition) if disposition else None
        target = os.path.join(
            os.path.dirname(self.plan.output), name or Path(self.plan.output).name
        )
        try:
            os.link(self.download, target)  # fails if target exists: nothing is overwritten
        except FileExistsError:
            self.finish(23, f"{target} exists: -J does not overwrite files")
            return
        except OSError:
            if os.path.lexists(target):
                self.finish(23, f"{target} exists: -J does not overwrite files")
                return
            os.replace(self.download, target)
        self.plan.output = target
        self.finish(0, "")

    def finish(self, code: int, message: str) -> None:
        if self.done:
            return
        self.done = True
        self.code, self.message = code, message
        self.marks.setdefault("total", time.monotonic() - self.started)
        req = self.req
        if self.client is not None and self.client.trace == self._on_trace:
            self.client.trace = None
        if req is not None:
            req.request_completed.disconnect(self._completed)
            req.download_progress.disconnect(self._progress)
        if self.plan.remote_header and self.download and self.download != self.plan.output:
            with contextlib.suppress(OSError):
                os.unlink(self.download)
        if self.bar >= 0:
            self.run.display.finish(self.bar, code == 0)
        opts = self.run.opts
        if self.result is not None:
            _, status_code, _, body = self.result
            size = req.get_downloaded_bytes() if req is not None and self.download else len(body)
            self.trace(f"{self.result[0].name}, status {status_code}, {size} bytes received")
        elif message:
            self.trace(f"stopped: {message}")
        if opts.timing:
            self.say(self._timing_line())

    def _timing_line(self) -> str:
        def show(name: str) -> str:
            value = self.marks.get(name)
            return "-" if value is None else f"{value:.6f}s"

        return (
            f"timing: resolve {show('resolve')} connect {show('connect')} tls {show('tls')} "
            f"first_byte {show('first_byte')} total {show('total')} {self.plan.url}"
        )

    # -- what -w shows

    def variables(self) -> dict[str, object]:
        """The values of curl's -w variables for this transfer."""
        head = self.final_head()
        req = self.req
        url = (req.get_final_url() if req is not None else "") or self.plan.url
        got = self.result is not None and self.result[0] == Result.RESULT_SUCCESS
        size = (req.get_downloaded_bytes() if req is not None else 0) if got else 0
        total = self.marks.get("total", 0.0)
        mark = self.marks.get
        redirects = sum(1 for h in self.heads if not h.informational) - 1 if head else 0
        location = head.get("location") if head is not None else None
        status = head.status if head is not None else 0
        return {
            "content_type": head.get("content-type") if head else None,
            "errormsg": self.message or None,
            "exitcode": max(self.code, 0),
            "filename_effective": self.plan.output,
            "http_code": status,
            "http_connect": self.tunnel_status,
            "http_version": head.version if head else "0",
            "method": self.last_method or None,
            "num_connects": self.connects,
            "num_headers": len(head.headers) if head else 0,
            "num_redirects": max(redirects, 0),
            "redirect_url": _joined(url, location) if location and 300 <= status < 400 else None,
            "remote_ip": self.peer[0] if self.peer else "",
            "remote_port": self.peer[1] if self.peer else 0,
            "response_code": status,
            "scheme": urlsplit(url).scheme.upper() or None,
            "size_download": size,
            "size_header": sum(len(h.encode()) for h in self.heads),
            "size_request": self.request_bytes,
            "size_upload": self.upload_bytes,
            "speed_download": int(size / total) if total > 0 else 0,
            "speed_upload": int(self.upload_bytes / total) if total > 0 else 0,
            "time_appconnect": mark("tls", 0.0),
            "time_connect": mark("connect", 0.0),
            "time_namelookup": mark("resolve", 0.0),
            "time_pretransfer": mark("pretransfer", 0.0),
            "time_redirect": mark("request", 0.0) if redirects > 0 else 0.0,
            "time_starttransfer": mark("first_byte", 0.0),
            "time_total": total,
            "url": self.plan.url,
            "url_effective": url,
            "urlnum": self.index,
        }


def _joined(base: str, location: str) -> str:
    """``location`` made absolute against ``base``; "" when it cannot be read as a URL."""
    try:
        return urljoin(base, location)
    except ValueError:
        return ""


def _port(url: str) -> int:
    parts = urlsplit(url)
    try:
        return parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        return 0


class _Run:
    """Every transfer of one command, driven from one thread."""

    def __init__(
        self,
        plans: Sequence[Plan],
        opts: Options,
        display: _progress.Display,
        stdout: Callable[[bytes], None],
        bars: bool,
    ) -> None:
        self.opts = opts
        self.display = display
        self.write = stdout
        self.many = len(plans) > 1
        self.transfers = [_Transfer(self, i, plan) for i, plan in enumerate(plans)]
        self._bars = bars
        self._stdout_tty = _isatty(sys.stdout)
        self._shared: HTTPRequest | None = None
        self._agents: list[HTTPRequest] = []
        self._next_output = 0
        self.stdout_failed = False
        self._trace_file: Any = None
        self._header_file: Any = None

    def bars_for(self, transfer: _Transfer) -> bool:
        """A bar for each transfer that writes to a file (or to a stdout that is no terminal)."""
        return self._bars and (transfer.plan.output is not None or not self._stdout_tty)

    def trace_out(self, text: str) -> None:
        """--trace-ascii: append to its file (or stdout)."""
        name = self.opts.trace_file
        if name is None:
            return
        data = _argv_bytes(text)
        if name == "-":
            self._write_stdout(data)
            return
        if self._trace_file is None:
            try:
                self._trace_file = open(name, "wb")  # noqa: SIM115 - closed at the end of the run
            except OSError as exc:
                self.opts.trace_file = None
                self.display.log(f"pollhttp: warning: cannot write --trace-ascii {name}: {exc}")
                return
        self._trace_file.write(data)

    def _resolver(self) -> Callable[[str, int], Resolution] | None:
        table = self.opts.resolve
        if not table:
            return None

        def resolver(host: str, port: int) -> Resolution:
            addresses = table.get((host.lower(), port)) or table.get((host.lower(), None))
            if addresses:
                return Resolution.finished([(address, port) for address in addresses])
            return resolve_in_thread(host, port)

        return resolver

    def _agent(self) -> HTTPRequest:
        """A configured HTTPRequest: one shared in serial mode (so connections are reused)."""
        if not self.opts.parallel and self._shared is not None:
            return self._shared
        opts = self.opts
        req = HTTPRequest(resolver=self._resolver())
        _configure(req, opts)
        req.poll_time_budget = 0.0  # one step per poll(): every status change is seen
        if opts.tls_options is not None:
            req.set_tls_options(opts.tls_options)
        self._agents.append(req)
        if not opts.parallel:
            self._shared = req
        return req

    def execute(self) -> int:
        pending = list(self.transfers)
        active: list[_Transfer] = []
        limit = self.opts.parallel_max if self.opts.parallel else 1
        try:
            while pending or active:
                while pending and len(active) < limit:
                    transfer = pending.pop(0)
                    transfer.start(self._agent())
                    active.append(transfer)
                for transfer in active:
                    transfer.poll()
                for transfer in [t for t in active if t.done]:
                    active.remove(transfer)
                self._flush_outputs()
                self.display.refresh()
                running = [t.req for t in active if t.req is not None and not t.done]
                if running:
                    wait(running, _STEP)
        finally:
            for transfer in active:
                if transfer.req is not None:
                    transfer.req.cancel_request()
            for req in self._agents:
                req.close()
            self.display.close()
        self._flush_outputs(final=True)
        self._save_cookies()
        for handle in (self._trace_file, self._header_file):
            if handle is not None:
                handle.close()
        for transfer in self.transfers:
            if transfer.code not in (0, -1) and not self.opts.quiet_errors:
                where = f" {transfer.plan.url}:" if self.many else ""
                self.display.log(f"pollhttp: ({transfer.code}){where} {transfer.message}")
        # As curl's: the status of the last transfer (each failure above has its line).
        return self.transfers[-1].code if self.transfers else 0

    def _save_cookies(self) -> None:
        opts = self.opts
        if opts.cookie_jar is None or opts.cookie_jar_file is None:
            return
        data = _argv_bytes(_cookie_lines(opts.cookie_jar))
        if opts.cookie_jar_file == "-":
            self._write_stdout(data)
            return
        try:
            Path(opts.cookie_jar_file).write_bytes(data)
        except OSError as exc:
            self.display.log(f"pollhttp: warning: cannot write -c {opts.cookie_jar_file}: {exc}")

    def _flush_outputs(self, final: bool = False) -> None:
        """Write finished transfers' output to stdout, in the order of the URLs."""
        if self._bars and self._stdout_tty and not final:
            return  # the bars own the terminal until they are gone
        while self._next_output < len(self.transfers):
            transfer = self.transfers[self._next_output]
            if not transfer.done:
                return
            self._next_output += 1
            self._emit(transfer)

    def _write_stdout(self, data: bytes) -> None:
        if self.stdout_failed or not data:
            return
        try:
            self.write(data)
        except OSError as exc:
            self.stdout_failed = True
            _quiet_stdout()  # so that the interpreter's last flush cannot fail again
            failed = next((t for t in self.transfers if t.done and t.code == 0), None)
            if failed is not None:
                failed.code = 23
                failed.message = f"failed writing to stdout: {exc.strerror or exc}"

    def _emit(self, transfer: _Transfer) -> None:
        opts = self.opts
        heads = b"".join(head.encode() for head in transfer.heads)
        stopped = transfer.code == 22 and not opts.fail_with_body
        if opts.dump_header is not None and heads:
            self._dump_headers(heads)
        if transfer.result is not None and not stopped:
            result, _, _, body = transfer.result
            if opts.include or opts.head_only:
                self._emit_checked(transfer, heads)
            if (
                transfer.plan.output is None
                and not opts.head_only
                and result == Result.RESULT_SUCCESS
            ):
                if b"\0" in body and self._stdout_tty and not transfer.plan.stdout_asked:
                    # Raw bytes would garble the terminal; the user can ask for them.
                    transfer.code = 23
                    transfer.message = (
                        "the body is binary and stdout is a terminal: not shown "
                        "(use '-o -' to show it anyway, or -o FILE)"
                    )
                else:
                    self._emit_checked(transfer, body)
                if body and opts.trace_file is not None:
                    self.trace_out(_dump("<=", "Recv data", body))
        if opts.write_out:
            values = transfer.variables()
            for to_stderr, text in _write_out(
                opts.write_out, values, transfer.final_head(), lambda m: _warn(opts, m)
            ):
                if to_stderr:
                    print(text, end="", file=sys.stderr, flush=True)
                else:
                    self._emit_checked(transfer, _argv_bytes(text))

    def _emit_checked(self, transfer: _Transfer, data: bytes) -> None:
        if self.stdout_failed or not data:
            return
        try:
            self.write(data)
        except OSError as exc:
            self.stdout_failed = True
            _quiet_stdout()  # so that the interpreter's last flush cannot fail again
            transfer.code = 23
            transfer.message = f"failed writing the body to stdout: {exc.strerror or exc}"

    def _dump_headers(self, heads: bytes) -> None:
        name = self.opts.dump_header
        if name == "-":
            self.write(heads)
            return
        assert name is not None
        try:
            if self._header_file is None:
                if self.opts.create_dirs:
                    os.makedirs(os.path.dirname(name) or ".", exist_ok=True)
                self._header_file = open(name, "wb")  # noqa: SIM115 - closed at the end
            self._header_file.write(heads)
            self._header_file.flush()
        except OSError as exc:
            self.opts.dump_header = None
            self.display.log(f"pollhttp: warning: cannot write -D {name}: {exc}")


def run(plans: Sequence[Plan], opts: Options, *, stderr: TextIO | None = None) -> int:
    """Run ``plans`` with ``opts``, writing bodies to stdout; returns the exit status."""
    err = stderr or sys.stderr
    out = sys.stdout.buffer

    def write(data: bytes) -> None:
        out.write(data)
        out.flush()

    wants_bars = opts.progress and _isatty(err)
    bars = wants_bars and any(plan.output is not None or not _isatty(sys.stdout) for plan in plans)
    display = _progress.make_display(err, bars)
    return _Run(plans, opts, display, write, bars).execute()


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


# -- the demo -------------------------------------------------------------------------------------


def _demo_poll_loop(server: DemoServer, say: Callable[[str], None]) -> bool:
    """The canonical HTTPClient loop, traced: two requests on one keep-alive connection."""
    client = HTTPClient()
    say(
        f"connect_to_host('127.0.0.1', {server.port}) -> "
        f"{client.connect_to_host('127.0.0.1', server.port).name}"
    )
    ok = True
    deadline = time.monotonic() + 10
    last = client.get_status()
    for path in (None, "/", "/chunked"):
        if path is not None:
            err = client.request(HTTPClient.METHOD_GET, path, [])
            say(f"request(GET, {path!r}) -> {err.name}")
        received = 0
        while time.monotonic() < deadline:
            status = client.get_status()
            if status in _WAITING:
                client.poll()
            elif status == Status.STATUS_BODY:
                received += len(client.read_response_body_chunk())
            else:
                break
            if client.get_status() != last:
                last = client.get_status()
                say(f"  status {last.name}")
            elif client.get_status() in _WAITING or client.get_status() == Status.STATUS_BODY:
                client.wait(0.05)
        if client.get_status() != Status.STATUS_CONNECTED:
            say(f"  failed: {client.get_last_error() or 'timed out'}")
            ok = False
            break
        if path is not None:
            trailers = client.get_response_trailers()
            say(
                f"  {client.get_response_code()}, {received} body bytes"
                + (f", trailers {trailers}" if trailers else "")
            )
    client.close()
    say("close()")
    return ok


def _demo(stream: TextIO) -> int:
    """The offline showcase: an embedded HTTP and HTTPS server, one thread, many transfers."""
    from .demo import DemoServer  # noqa: PLC0415 - http.server only for the demo

    start = time.monotonic()

    def say(text: str) -> None:
        print(f"{(time.monotonic() - start) * 1000:8.1f} ms  {text}", file=stream, flush=True)

    with (
        tempfile.TemporaryDirectory(prefix="pollhttp-demo-") as tmp,
        DemoServer() as plain,
        DemoServer(https=True) as secure,
    ):
        print(
            f"pollhttp {__version__} demo: HTTP on {plain.url}, HTTPS on {secure.url} "
            "(a throwaway CA, made just now with the standard library)\n",
            file=stream,
        )
        print("1. HTTPClient, the canonical poll loop: every status change", file=stream)
        ok = _demo_poll_loop(plain, say)
        print(
            "\n2. HTTPRequest: five transfers in parallel, one thread, one poll loop "
            "(pollhttp.wait), HTTP and HTTPS",
            file=stream,
        )
        assert secure.ca is not None
        opts = Options(
            follow=True,
            compressed=True,
            tls_options=TLSOptions.client(trusted_chain=secure.trusted_chain()),
            no_proxy=True,
            max_time=30,
            trace_status=True,
            parallel=True,
        )
        plans = [
            Plan(
                f"{plain.url}/slow?size=1048576&chunks=12&delay=0.05",
                f"{tmp}/slow.bin",
                "http  slow 1 MiB",
            ),
            Plan(
                f"{secure.url}/slow?size=2097152&chunks=12&delay=0.05",
                f"{tmp}/secure.bin",
                "https slow 2 MiB",
            ),
            Plan(f"{secure.url}/large", f"{tmp}/large.bin", "https 1 MiB"),
            Plan(f"{plain.url}/gzip", f"{tmp}/gzip.txt", "http  gzip"),
            Plan(f"{secure.url}/redirect?to=/json", f"{tmp}/redirected.json", "https redirect"),
        ]
        err = sys.stderr
        bars = _isatty(err)
        display = _progress.make_display(err if bars else stream, bars)
        if bars:
            # The trace goes to the same terminal as the bars, above them.
            print("   (the trace and the live progress bars are on stderr)", file=stream)
        code = _Run(plans, opts, display, lambda data: None, bars).execute()
        stream.flush()
        print("\nresults:", file=stream)
        for transfer in _summary(plans):
            print(transfer, file=stream)
        total = time.monotonic() - start
        print(f"\ndone in {total:.2f} s; exit status {0 if ok and code == 0 else 1}", file=stream)
    return 0 if ok and code == 0 else 1


def _summary(plans: Sequence[Plan]) -> list[str]:
    lines = []
    for plan in plans:
        path = Path(plan.output or "")
        size = path.stat().st_size if path.is_file() else -1
        state = f"{_progress.format_bytes(size):>10} in {path.name}" if size >= 0 else "  missing"
        lines.append(f"   {plan.label:<18} {state}")
    return lines


def _serve(stream: TextIO) -> int:
    """``pollhttp demo --serve``: the demo servers in the foreground, for trying the command."""
    from .demo import DemoServer  # noqa: PLC0415 - http.server only for the demo

    with (
        tempfile.TemporaryDirectory(prefix="pollhttp-demo-") as tmp,
        DemoServer() as plain,
        DemoServer(https=True) as secure,
    ):
        assert secure.ca is not None
        ca_file = Path(tmp, "demo-ca.pem")
        ca_file.write_text(secure.ca.cert_pem, encoding="ascii")
        print(f"export DEMO={plain.url}", file=stream)
        print(f"export DEMO_HTTPS={secure.url}", file=stream)
        print(f"export DEMO_CA={ca_file}", file=stream)
        print(
            '# serving until Ctrl-C; try: pollhttp --cacert "$DEMO_CA" "$DEMO_HTTPS/json"',
            file=stream,
            flush=True,
        )
        stop = False

        def on_signal(signum: int, frame: object) -> None:
            nonlocal stop
            stop = True

        previous = signal.signal(signal.SIGTERM, on_signal)
        try:
            while not stop:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
    return 0


# -- main --------------------------------------------------------------------------------------


def _quiet_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the exit flush cannot fail."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``pollhttp`` command; returns the exit status (see `EXIT_CODES`)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        if args_list[:1] == ["demo"]:
            demo = _Parser(prog="pollhttp demo", description="The offline showcase.")
            demo.add_argument(
                "--serve",
                action="store_true",
                help="run the demo servers until Ctrl-C and print their URLs",
            )
            demo_args = demo.parse_args(args_list[1:])
            return _serve(sys.stdout) if demo_args.serve else _demo(sys.stdout)
        args = _build_parser().parse_intermixed_args(_expand(args_list))
        opts = _options(args)
        plans = _plans(args, opts)
        return run(plans, opts)
    except UsageError as exc:
        print(f"pollhttp: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("pollhttp: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return 23
    except Exception as exc:  # a bug: one line, not a traceback, and a status that says so
        print(f"pollhttp: (43) internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 43
