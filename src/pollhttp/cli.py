"""The ``pollhttp`` command: curl-like transfers driven by `HTTPRequest`, and the offline demo.

``pollhttp [options] URL...`` fetches each URL; ``-Z`` runs them in parallel, all from one
thread: every transfer is an `HTTPRequest`, polled in one loop that sleeps in
`pollhttp.wait` between steps. ``pollhttp demo`` shows it all offline, against an
embedded server. The exit status follows curl's numbers (`EXIT_CODES`).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import errno
import http
import ipaddress
import math
import os
import re
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO
from urllib.parse import unquote, urlsplit

from . import _progress
from ._enums import Error, Method, Status
from ._errors import (
    IncompleteBodyError,
    InvalidParameterError,
    NoResponseError,
    PollHTTPError,
    RedirectError,
    RemoteProtocolError,
    ResolveError,
    TLSHandshakeError,
)
from ._version import __version__
from .client import HTTPClient
from .http_request import HTTPRequest, Result
from .protocol._decoding import accept_encoding
from .protocol._headers import TOKEN
from .transport import (
    CryptoKey,
    Resolution,
    StreamPeerTCP,
    StreamPeerTLS,
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
    22: "HTTP status 400 or above, with --fail",
    23: "write error: the output file could not be opened or written, or stdout failed",
    26: "read error: a --data @file could not be read",
    28: "timeout: --max-time passed, or --connect-timeout during the connect or TLS handshake",
    35: "TLS handshake failed (protocol version, alert, cut)",
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
_REMOTE_NAME = object()  # what -O puts in the list of outputs
_Header = str | tuple[str, None]  # a "Name: value" line, or (name, None): left out
_STEP = 0.1  # the longest sleep between two polls: timeouts and progress stay lively


class UsageError(Exception):
    """A problem with the command line or a file it names: a message and an exit status."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


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
    add("-V", "--version", action="version", version=f"pollhttp {__version__}")
    req = parser.add_argument_group("request")
    req.add_argument(
        "-X", "--request", metavar="METHOD", help="the method (" + ", ".join(_METHODS) + ")"
    )
    req.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="add a header (repeatable)",
    )
    req.add_argument(
        "-d",
        "--data",
        dest="data",
        action=_Append,
        const="data",
        metavar="DATA",
        help="POST DATA (@FILE reads a file without its newlines, @- stdin); "
        "several are joined with '&'",
    )
    req.add_argument(
        "--data-raw",
        dest="data",
        action=_Append,
        const="raw",
        metavar="DATA",
        help="like -d, with no @FILE",
    )
    req.add_argument(
        "--data-binary",
        dest="data",
        action=_Append,
        const="binary",
        metavar="DATA",
        help="like -d, and @FILE is sent byte for byte",
    )
    req.add_argument(
        "--json",
        dest="data",
        action=_Append,
        const="json",
        metavar="DATA",
        help="POST JSON (@FILE too), with Content-Type and Accept application/json",
    )
    req.add_argument("-A", "--user-agent", metavar="NAME", help="the User-Agent header")
    req.add_argument("-u", "--user", metavar="USER:PASSWORD", help="HTTP Basic credentials")
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
        "-C",
        "--continue-at",
        metavar="-",
        help="'-': resume a download that an earlier run left as FILE.part",
    )
    out.add_argument("-i", "--include", action="store_true", help="show the response head too")
    out.add_argument(
        "-f",
        "--fail",
        action="store_true",
        help="exit 22, writing no body, when the status is 400 or above",
    )
    out.add_argument(
        "--max-filesize", type=_count, metavar="BYTES", help="fail (63) when the body is larger"
    )
    out.add_argument("-s", "--silent", action="store_true", help="no progress and no messages")
    out.add_argument("-S", "--show-error", action="store_true", help="with -s: show errors")
    out.add_argument("--no-progress-meter", action="store_true", help="no progress bars")
    out.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="trace each status change, with the request and response heads",
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
        "--cacert", metavar="FILE", help="trust these CAs (PEM) instead of the system's"
    )
    tls.add_argument(
        "--pin",
        "--pinnedpubkey",
        dest="pin",
        metavar="sha256//BASE64[;...]",
        help="the server's public key must match one of these SPKI pins",
    )
    tls.add_argument(
        "--crlfile", metavar="FILE", help="PEM CRLs: a revoked server certificate fails"
    )
    tls.add_argument(
        "-E", "--cert", metavar="FILE", help="client certificate (PEM), for mutual TLS"
    )
    tls.add_argument("--key", metavar="FILE", help="the client certificate's private key (PEM)")
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


# -- turning the arguments into transfers ---------------------------------------------------


@dataclass
class Options:
    """How the transfers run and what they show; made from the command line or by the demo."""

    method: Method = Method.METHOD_GET
    #: ``"Name: value"`` lines, and ``(name, None)`` for a header left out, default included.
    headers: list[_Header] = field(default_factory=list)
    body: bytes = b""
    follow: bool = False
    max_redirects: int = 50
    compressed: bool = False
    tls_options: TLSOptions | None = None
    proxy: tuple[str, int, str, str] | None = None  # host (with scheme), port, user, password
    no_proxy: bool = False  # --proxy '': ignore the environment
    resolve: dict[tuple[str, int | None], list[str]] = field(default_factory=dict)
    connect_timeout: float | None = None
    ip_version: int | None = None  # 4 or 6: only addresses of that family (-4, -6)
    max_time: float = 0.0
    max_filesize: int = -1
    resume: bool = False
    include: bool = False
    head_only: bool = False
    fail: bool = False
    trace_status: bool = False
    trace_heads: bool = False
    timing: bool = False
    parallel: bool = False
    parallel_max: int = 50
    quiet_errors: bool = False
    progress: bool = True


@dataclass
class Plan:
    """One URL to fetch, and where its body goes (None: stdout)."""

    url: str
    output: str | None = None
    label: str = ""


def _read_data(kind: str, value: str) -> bytes:
    if kind == "raw" or not value.startswith("@"):
        return value.encode("utf-8", "surrogateescape")
    name = value[1:]
    try:
        if name == "-":
            data = sys.stdin.buffer.read()
        else:
            data = Path(name).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror or exc}", 26) from None
    return data.replace(b"\r", b"").replace(b"\n", b"") if kind == "data" else data


def _header_name(header: _Header) -> str:
    return (header[0] if isinstance(header, tuple) else header.partition(":")[0]).strip().lower()


def _has(headers: Sequence[_Header], name: str) -> bool:
    """Whether ``name`` was given, as a value or as left out (then nothing is added for it)."""
    return any(_header_name(h) == name for h in headers)


def _header_option(text: str) -> _Header:
    """One ``-H`` as curl reads it: ``Name:`` leaves the header out, ``Name;`` sends it empty."""
    name, colon, value = text.partition(":")
    if colon and name.strip() and not value.strip(" \t"):
        if TOKEN.fullmatch(name.strip().encode("utf-8", "surrogateescape")) is None:
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
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise UsageError(f"no file name in the URL {url} for -O; use -o FILE", 23)
    return name


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


def _options(args: argparse.Namespace) -> Options:
    opts = Options()
    data = list(args.data or [])
    kinds = {kind for kind, _ in data}
    if "json" in kinds and len(kinds) > 1:
        raise UsageError("--json cannot be combined with -d/--data")
    headers = [_header_option(text) for text in args.header]
    if args.user_agent is not None and not _has(headers, "user-agent"):
        # -A "" leaves User-Agent out altogether, as curl's does.
        headers.append(
            f"User-Agent: {args.user_agent}" if args.user_agent else ("User-Agent", None)
        )
    if args.user is not None and not _has(headers, "authorization"):
        # curl asks for the password of "-u user"; pollhttp never prompts: it is empty.
        user = args.user if ":" in args.user else args.user + ":"
        token = base64.b64encode(user.encode("utf-8", "surrogateescape")).decode()
        headers.append(f"Authorization: Basic {token}")
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
            if not _has(headers, "content-type"):
                headers.append("Content-Type: application/x-www-form-urlencoded")
    opts.headers = headers
    if args.head and data:
        raise UsageError("-I (HEAD) cannot send data")
    if args.request is not None:
        name = args.request.upper()
        if name not in _METHODS:
            raise UsageError(
                f"unsupported method {args.request!r}; pollhttp sends " + ", ".join(_METHODS)
            )
        opts.method = Method[f"METHOD_{name}"]
    elif args.head:
        opts.method = Method.METHOD_HEAD
    elif data:
        opts.method = Method.METHOD_POST
    opts.follow = args.location
    if args.max_redirs < -1:
        raise UsageError("--max-redirs must be -1 (no limit) or more")
    opts.max_redirects = args.max_redirs
    opts.compressed = args.compressed
    opts.tls_options = _tls_options(args)
    opts.proxy = _proxy(args)
    opts.no_proxy = args.proxy == ""
    opts.resolve = _resolve_table(args.resolve)
    opts.connect_timeout = args.connect_timeout
    opts.ip_version = args.ip_version
    opts.max_time = args.max_time or 0.0
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
    opts.trace_status = opts.trace_heads = args.verbose
    opts.timing = args.timing
    opts.parallel = args.parallel
    if args.parallel_max < 1:
        raise UsageError("--parallel-max must be 1 or more")
    opts.parallel_max = args.parallel_max
    opts.quiet_errors = args.silent and not args.show_error
    opts.progress = not (args.silent or args.no_progress_meter)
    return opts


def _plans(args: argparse.Namespace, opts: Options) -> list[Plan]:
    if not args.urls:
        raise UsageError("no URL given (see 'pollhttp --help')")
    outputs = list(args.outputs or [])
    if len(outputs) > len(args.urls):
        raise UsageError("more -o/-O options than URLs")
    plans = []
    for i, raw in enumerate(args.urls):
        url = _normalise_url(raw)
        output: str | None = None
        if i < len(outputs):
            kind, value = outputs[i]
            output = _remote_name(url) if kind == "remote" else value
            if output == "-":
                output = None
        if opts.resume and output is None:
            raise UsageError("-C - needs -o FILE or -O for each URL")
        label = Path(output).name if output else urlsplit(url).path.rsplit("/", 1)[-1] or url
        plans.append(Plan(url, output, label))
    _check_requests(plans, opts)
    return plans


@contextlib.contextmanager
def _option(name: str) -> Iterator[None]:
    """A value the library refuses is bad usage of the option that gave it (exit status 2)."""
    try:
        yield
    except InvalidParameterError as exc:
        raise UsageError(f"bad value for {name}: {exc}") from None


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
    if opts.ip_version is not None:
        with _option(f"-{opts.ip_version}"):
            req.ip_version = opts.ip_version
    if opts.connect_timeout is not None:
        with _option("--connect-timeout"):
            req.get_http_client().connect_timeout = opts.connect_timeout


def _check_requests(plans: Sequence[Plan], opts: Options) -> None:
    """Let HTTPRequest judge every URL, the headers and the settings before anything is sent."""
    if opts.proxy is None and not opts.no_proxy:
        for plan in plans:
            parts = urlsplit(plan.url)
            try:
                environment_proxy(parts.scheme.lower(), parts.hostname or "", _port(plan.url))
            except InvalidParameterError as exc:
                code = 1 if "unsupported" in str(exc) else 2
                raise UsageError(f"{exc} (--proxy '' ignores it)", code) from None
    with HTTPRequest() as probe:
        _configure(probe, opts)
        for plan in plans:
            try:
                err = probe.request_raw(plan.url, [], Method.METHOD_GET)
            except ValueError as exc:  # urlsplit's own complaint ("Invalid IPv6 URL")
                raise UsageError(f"malformed URL {plan.url!r}: {exc}", 3) from None
            if err != Error.OK:
                raise UsageError(f"malformed URL: {probe.get_last_error()}", 3)
            probe.cancel_request()
        if probe.request_raw("http://127.0.0.1/", opts.headers, opts.method, opts.body) != Error.OK:
            raise UsageError(f"bad request: {probe.get_last_error()}")
        probe.cancel_request()


# -- exit statuses ----------------------------------------------------------------------------


def _tls_code(error: TLSHandshakeError) -> int:
    if error.reason == "timed out":
        return 28
    if error.reason.startswith("certificate verify failed"):
        return 60
    if "pin" in error.reason:
        return 90
    return 35


def exit_code(result: Result, error: PollHTTPError | None, via_proxy: bool = False) -> int:
    """The command's exit status for a failed `HTTPRequest` result and its error."""
    text = str(error or "")
    # No address (of the family -4 or -6 asks for) is a resolve failure, whatever the result.
    if result == Result.RESULT_CANT_RESOLVE or isinstance(error, ResolveError):
        return 5 if via_proxy else 6
    if result in (Result.RESULT_CANT_CONNECT, Result.RESULT_TLS_HANDSHAKE_ERROR):
        if isinstance(error, TLSHandshakeError):
            return _tls_code(error)
        if os.strerror(errno.ETIMEDOUT) in text or "within" in text:
            return 28
        return 35 if result == Result.RESULT_TLS_HANDSHAKE_ERROR else 7
    if result == Result.RESULT_CONNECTION_ERROR:
        if isinstance(error, IncompleteBodyError):
            return 18
        if isinstance(error, NoResponseError):
            return 52
        if isinstance(error, RemoteProtocolError):
            return 8
        return 56
    if result == Result.RESULT_REQUEST_FAILED and isinstance(error, RedirectError):
        return 1 if "scheme" in text else 3
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


# -- running transfers --------------------------------------------------------------------------


def _phrase(code: int) -> str:
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return ""


def _status_line(code: int) -> str:
    # HTTPClient keeps neither the version nor the reason phrase: the standard phrase is shown.
    return f"HTTP/1.1 {code} {_phrase(code)}".rstrip()


class _Transfer:
    """One URL: its HTTPRequest, what it has shown, and how it ended."""

    def __init__(self, run: _Run, index: int, plan: Plan) -> None:
        self.run = run
        self.index = index
        self.plan = plan
        self.req: HTTPRequest | None = None
        self.started = 0.0
        self.status = Status.STATUS_DISCONNECTED
        self.tls_stage = False
        self.tls_was_seen = False
        self.poll_began = 0.0
        self.heads: list[tuple[int, list[str]]] = []
        self.marks: dict[str, float] = {}
        self.method = run.opts.method
        self.body_dropped = False  # a redirect turned the request into a GET without content
        self.result: tuple[Result, int, list[str], bytes] | None = None
        self.code = -1  # the exit status, once finished
        self.message = ""
        self.bar = -1
        self.done = False
        self.via_proxy = False
        self.proxy_authorization = ""

    # -- output helpers

    def say(self, text: str) -> None:
        prefix = f"[{self.index + 1}] " if self.run.many else ""
        self.run.display.log(f"{prefix}{text}")

    def trace(self, text: str) -> None:
        elapsed = (time.monotonic() - self.started) * 1000
        self.say(f"* {elapsed:8.1f} ms  {text}")

    # -- starting

    def start(self, req: HTTPRequest) -> None:
        opts, plan = self.run.opts, self.plan
        self.req = req
        req.download_file = plan.output or ""
        req.resume_download = opts.resume
        req.request_completed.connect(self._completed)
        req.download_progress.connect(self._progress)
        self.started = time.monotonic()
        parts = urlsplit(plan.url)
        proxy = None
        if opts.proxy is not None:
            host, port, user, password = opts.proxy
            proxy = parse_proxy(host, port, username=user, password=password)
        elif not opts.no_proxy:
            proxy = environment_proxy(parts.scheme.lower(), parts.hostname or "", _port(plan.url))
        self.via_proxy = proxy is not None
        self.proxy_authorization = (proxy.authorization or b"").decode() if proxy else ""
        if opts.trace_status:
            self.trace(f"{self.method.name.removeprefix('METHOD_')} {plan.url}")
        err = req.request_raw(plan.url, opts.headers, self.method, opts.body)
        if err != Error.OK:  # checked up front; a surprise here is still reported, not raised
            self.finish(2, f"cannot start the request: {req.get_last_error() or err.name}")
            return
        if opts.connect_timeout is not None:
            # A cancelled request (-f) takes its client along: set it on this request's one.
            req.get_http_client().connect_timeout = opts.connect_timeout
        if self.run.bars_for(self):
            self.bar = self.run.display.add(plan.label)

    def _progress(self, done: int, total: int) -> None:
        if self.bar >= 0:
            self.run.display.update(self.bar, done, total)

    def _completed(self, result: Result, code: int, headers: list[str], body: bytes) -> None:
        self.result = (result, code, headers, body)

    # -- watching

    def observe(self) -> None:
        """Notice status changes since the last poll: trace, time and keep response heads."""
        req = self.req
        if req is None or self.done:
            return
        client = req.get_http_client()
        status = client.get_status()
        tls_stage = status == Status.STATUS_CONNECTING and isinstance(
            client.get_connection(), StreamPeerTLS
        )
        if status == self.status and tls_stage == self.tls_stage:
            return
        now = time.monotonic() - self.started
        previous, self.status, self.tls_stage = self.status, status, tls_stage
        opts = self.run.opts
        if status == Status.STATUS_CONNECTING:
            self.marks.setdefault("resolve", now)  # the name is resolved (or was an address)
        # The poll that finds the TCP connect done begins when the wait says so; a fast TLS
        # handshake may finish within that same poll.
        connected = status in (Status.STATUS_CONNECTED, Status.STATUS_REQUESTING)
        if (
            previous == Status.STATUS_CONNECTING
            and not self.tls_was_seen
            and (tls_stage or connected)
        ):
            self.marks.setdefault("connect", self.poll_began)
        if tls_stage:
            self.tls_was_seen = True
        if previous == Status.STATUS_CONNECTING and connected:
            https = urlsplit(self.req.get_final_url() if self.req else "").scheme == "https"
            self.marks.setdefault("tls" if https else "connect", now)
        if opts.trace_status:
            self.trace("TLS handshake" if tls_stage else f"status {status.name}")
            if status == Status.STATUS_CONNECTED and previous == Status.STATUS_CONNECTING:
                peer = client.get_connection()
                tcp = peer.get_stream() if isinstance(peer, StreamPeerTLS) else peer
                if isinstance(tcp, StreamPeerTCP):
                    host, port = tcp.get_connected_host(), tcp.get_connected_port()
                    over = " over TLS" if isinstance(peer, StreamPeerTLS) else ""
                    self.trace(f"connected to {host} port {port}{over}")
        if status == Status.STATUS_REQUESTING and opts.trace_heads:
            for line in self._request_head():
                self.say(f"> {line}")
            self.say(">")
        if previous == Status.STATUS_REQUESTING and client.has_response():
            self.marks.setdefault("first_byte", now)
            code, headers = client.get_response_code(), client.get_response_headers()
            self.heads.append((code, headers))
            if opts.trace_heads:
                for line in (_status_line(code), *headers):
                    self.say(f"< {line}")
                self.say("<")
            self._after_head(code)

    def _after_head(self, code: int) -> None:
        opts = self.run.opts
        redirect = code in (301, 302, 303, 307, 308) and opts.follow and opts.max_redirects != 0
        if redirect:
            # RFC 9110 §15.4, as HTTPRequest follows it: 303 (and POST on 301/302) turn to GET.
            see_other = code == 303 and self.method != Method.METHOD_HEAD
            if see_other or (code in (301, 302) and self.method == Method.METHOD_POST):
                self.method = Method.METHOD_GET
                self.body_dropped = True
        elif opts.fail and code >= 400 and self.req is not None:
            # The final answer is an error: no need for its body (nor a file holding it).
            self.req.cancel_request()
            self.finish(22, f"the requested URL returned error: {code}")

    def _request_head(self) -> list[str]:
        """The request head as pollhttp builds it (HTTPClient does not expose the bytes)."""
        assert self.req is not None
        opts = self.run.opts
        parts = urlsplit(self.req.get_final_url() or self.plan.url)
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        default = 443 if scheme == "https" else 80
        port = parts.port or default
        authority = (f"[{host}]" if ":" in host else host) + ("" if port == default else f":{port}")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if scheme == "http" and self.via_proxy:
            target = f"http://{authority}{target}"
        headers = list(opts.headers)
        if self.body_dropped:
            content = ("content-type", "content-length", "content-encoding")
            headers = [h for h in headers if _header_name(h) not in content]
        if opts.compressed and not _has(headers, "accept-encoding"):
            headers.append(f"Accept-Encoding: {accept_encoding()}")
        first = urlsplit(self.plan.url)
        same_origin = (first.scheme.lower(), first.hostname, _port(self.plan.url)) == (
            scheme,
            host,
            port,
        )
        if first.username is not None and same_origin and not _has(headers, "authorization"):
            userinfo = f"{unquote(first.username)}:{unquote(first.password or '')}"
            headers.append(f"Authorization: Basic {base64.b64encode(userinfo.encode()).decode()}")
        if opts.resume and self.plan.output and self.method == Method.METHOD_GET:
            # HTTPRequest keeps the .part beside the file a symlink points to.
            part = os.path.realpath(self.plan.output) + ".part"
            with contextlib.suppress(OSError):
                size = os.path.getsize(part)
                if size:
                    headers.append(f"Range: bytes={size}-")
                    validator = Path(part + ".validator").read_text().strip()
                    if validator:
                        headers.append(f"If-Range: {validator}")
        lines = [f"{self.method.name.removeprefix('METHOD_')} {target} HTTP/1.1"]
        lines.append(f"Host: {authority}" if not _has(headers, "host") else "")
        for header in headers:  # as HTTPClient sends it: "Name: value", blanks trimmed
            if isinstance(header, str):  # a header left out shows nothing
                name, _, value = header.strip(" \t").partition(":")
                value = value.strip(" \t")
                lines.append(f"{name}: {value}" if value else f"{name}:")
        body = b"" if self.body_dropped else opts.body
        given = [h for h in headers if isinstance(h, str)]  # leaving one out adds no line
        if not _has(given, "content-length") and (
            body or self.method in (Method.METHOD_POST, Method.METHOD_PUT, Method.METHOD_PATCH)
        ):
            lines.append(f"Content-Length: {len(body)}")
        if not _has(headers, "user-agent"):
            lines.append(f"User-Agent: pollhttp/{__version__}")
        if not _has(headers, "accept"):
            lines.append("Accept: */*")
        if scheme == "http" and self.proxy_authorization:
            lines.append(f"Proxy-Authorization: {self.proxy_authorization}")
        return [line for line in lines if line]

    # -- finishing

    def poll(self) -> None:
        if self.done or self.req is None:
            return
        self.poll_began = time.monotonic() - self.started
        self.req.poll()
        self.observe()
        if self.result is not None and not self.done:
            self._conclude()

    def _conclude(self) -> None:
        assert self.result is not None
        assert self.req is not None
        result, code, headers, _ = self.result
        opts = self.run.opts
        if result == Result.RESULT_SUCCESS:
            if not self.heads or self.heads[-1][0] != code:
                self.heads.append((code, headers))
            else:
                self.heads[-1] = (code, headers)
            if opts.fail and code >= 400:
                self.finish(22, f"the requested URL returned error: {code}")
            else:
                self.finish(0, "")
            return
        error = self.req.get_last_error()
        self.finish(exit_code(result, error, self.via_proxy), str(error) if error else result.name)

    def finish(self, code: int, message: str) -> None:
        if self.done:
            return
        self.done = True
        self.code, self.message = code, message
        self.marks.setdefault("total", time.monotonic() - self.started)
        req = self.req
        if req is not None:
            req.request_completed.disconnect(self._completed)
            req.download_progress.disconnect(self._progress)
        if self.bar >= 0:
            self.run.display.finish(self.bar, code == 0)
        opts = self.run.opts
        if opts.trace_status:
            if self.result is not None:
                result, status_code, _, body = self.result
                size = (
                    req.get_downloaded_bytes()
                    if req is not None and self.plan.output
                    else len(body)
                )
                self.trace(f"{result.name}, status {status_code}, {size} bytes received")
            else:
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

    def bars_for(self, transfer: _Transfer) -> bool:
        """A bar for each transfer that writes to a file (or to a stdout that is no terminal)."""
        return self._bars and (transfer.plan.output is not None or not self._stdout_tty)

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
        if opts.proxy is not None:
            host, port, user, password = opts.proxy
            req.set_http_proxy(host, port, username=user, password=password)
            req.set_https_proxy(host, port, username=user, password=password)
        req.use_environment_proxies = opts.proxy is None and not opts.no_proxy
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
        for transfer in self.transfers:
            if transfer.code not in (0, -1) and not self.opts.quiet_errors:
                where = f" {transfer.plan.url}:" if self.many else ""
                self.display.log(f"pollhttp: ({transfer.code}){where} {transfer.message}")
        return next((t.code for t in self.transfers if t.code != 0), 0)

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

    def _emit(self, transfer: _Transfer) -> None:
        opts = self.opts
        if transfer.code == 22 or transfer.result is None:
            return
        result, _, _, body = transfer.result
        pieces: list[bytes] = []
        if opts.include or opts.head_only:
            for code, headers in transfer.heads:
                head = "\r\n".join((_status_line(code), *headers)) + "\r\n\r\n"
                pieces.append(head.encode("utf-8", "surrogateescape"))
        if transfer.plan.output is None and not opts.head_only and result == Result.RESULT_SUCCESS:
            pieces.append(body)
        if not pieces or self.stdout_failed:
            return
        try:
            for piece in pieces:
                self.write(piece)
        except OSError as exc:
            self.stdout_failed = True
            _quiet_stdout()  # so that the interpreter's last flush cannot fail again
            transfer.code = 23
            transfer.message = f"failed writing the body to stdout: {exc.strerror or exc}"


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
        args = _build_parser().parse_intermixed_args(args_list)
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
