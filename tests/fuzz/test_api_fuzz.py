"""Every public function, method and settable property, called with odd values (issue 19).

The surface is found by introspection: the names in ``pollhttp.__all__`` and
``pollhttp.aio.__all__``; for each class, its public methods (with a parameter), the
properties it can set, and the public attributes of a new instance; for each of those,
every parameter in turn. A method or attribute added later is fuzzed without a change here;
``test_surface_is_covered`` fails for a name this file does not know how to call (a new
required parameter without a good value below, a new public name) until it is given one
or listed in ``SKIPPED`` with a reason. The command's options come from its own parser.

One parameter gets a value drawn from ``odd_values`` (wrong types, extreme numbers, text
with NUL/CR/LF/surrogates, containers, objects, files, generators, callables, pollhttp's
own objects); the others get good values. The object is first brought into a state
(a client connected, a request on the wire, ...). Properties, for every call:

* Only pollhttp's documented exceptions come out: a `PollHTTPError` (``InvalidTypeError``
  is also a ``TypeError``), or a ``TypeError`` whose message names the parameter (Python's
  own arity errors). Never ``AttributeError``, ``OverflowError``, a ``ValueError`` that is
  not pollhttp's, ``KeyError``, ``UnicodeError``, ``RecursionError``, ...
* ``HTTPClient`` methods that return an ``Error`` return it instead of raising; with
  ``ERR_INVALID_PARAMETER``, ``get_last_error()`` holds an `InvalidParameterError` and
  ``request()`` leaves the status as it was.
* Nothing is sent for a rejected call (raised `InvalidParameterError` or ``TypeError``, or
  returned ``ERR_INVALID_PARAMETER``): the server on 127.0.0.1 counts every byte it
  receives, before and after the call and a few ``poll()`` calls after it. A rejected
  assignment leaves the property as it was.
* What was accepted works afterwards: the object is then used as intended (getters,
  ``poll()`` and ``wait()`` to the end, a fresh request over the same object) and none of
  that raises or hangs. This is where "accepted, fails later" shows up.

No name is looked up in DNS: HTTPClient's default resolver is replaced, for this module,
by one that knows only "localhost"; the command's too.

The example count is printed at the end of the module's run (``api fuzz: N examples``);
``POLLHTTP_API_FUZZ_EXAMPLES`` sets the examples per target (default ``EXAMPLES``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import functools
import inspect
import io
import os
import re
import select
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import pollhttp
import pollhttp.aio
import pollhttp.cli
import pollhttp.client
from pollhttp import (
    ConnectionPool,
    CryptoKey,
    DNSCache,
    Error,
    Headers,
    HTTPClient,
    HTTPRequest,
    InvalidParameterError,
    Limits,
    Method,
    PollHTTPError,
    Resolution,
    ResolveError,
    Signal,
    Status,
    StreamPeerTCP,
    StreamPeerTLS,
    TLSOptions,
    X509Certificate,
)
from pollhttp.retry import Failure

from ..support.tls import certificate, private_key
from .strategies import Deferred, odd_values

#: Examples per target: about 240 targets at about 7 ms an example keep the module near
#: 25 s of CPU time when nothing fails.
EXAMPLES = int(os.environ.get("POLLHTTP_API_FUZZ_EXAMPLES", "12"))
CLI_EXAMPLES = EXAMPLES * 8
#: The longest a call, or the use of an object after it, may take: every server answers
#: at once, so only a hang reaches it.
DRIVE_LIMIT = 3.0
#: No shrinking: the odd values are mostly simple already, and a shrink of a failing target
#: would cost seconds each while src/ still has failures.
PHASES = [Phase.explicit, Phase.reuse, Phase.generate]
FUZZ = settings(
    max_examples=EXAMPLES,
    phases=PHASES,
    deadline=None,
    database=None,  # nothing written outside the temporary directories
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Public names that are not fuzzed, and why.
SKIPPED: dict[str, str] = {
    # pollhttp.__all__
    "Resolver": "a type alias (the callable HTTPClient takes as resolver=); DNSCache is fuzzed",
    "Waitable": "a Protocol: the type wait() takes; wait is fuzzed",
    "Error": "an enum: values, no behaviour",
    "Method": "an enum: values, no behaviour",
    "Status": "an enum: values, no behaviour",
    "ResponseCode": "an enum: values, no behaviour",
    "Result": "an enum: values, no behaviour",
    "READY_NOW": "a constant Interest",
    "Interest": "a NamedTuple of three values that pollhttp returns, not takes",
    "StreamPeer": "abstract: its methods are fuzzed on StreamPeerTCP and StreamPeerTLS",
    "Response": "a frozen record pollhttp returns; read in full after every one-call request",
    "__version__": "a string",
    # members
    "TLSOptions.__init__": "private: refuses direct use with a TypeError; the factories are fuzzed",
    "Signal.emit": "passes *args to the callbacks the caller connected; Signal.connect is fuzzed",
    "Resolution.__init__": "takes nothing; a Resolution() never finishes by itself",
    "HTTPRequest.request_completed": "a Signal to connect to, not a setting (Signal is fuzzed)",
    "HTTPRequest.download_progress": "a Signal to connect to, not a setting (Signal is fuzzed)",
    "HTTPRequest.upload_progress": "a Signal to connect to, not a setting (Signal is fuzzed)",
    "DNSCache.__call__": "the Resolver call: made with good values by every HTTPClient using one",
    "Resolution.addresses": "the result a resolver fills in, read by HTTPClient",
    "Resolution.error": "the result a resolver fills in, read by HTTPClient",
    "StreamPeerTCP.get_data, connected": "reads until nbytes arrived, as Godot's does: it waits "
    "for ever on a connection where no byte comes; fuzzed on an unconnected peer",
    "cli: -h/--help, -V/--version": "print and raise SystemExit(0), as argparse does",
    "cli: demo": "runs the offline demo (--serve: until Ctrl-C)",
}

#: Parameters that name files: an odd value for them is made relative (no "/"), so that
#: every file a call opens, writes or replaces is in this module's temporary directory.
PATH_PARAMETERS = {"path", "download_file"}
_ERROR_RETURNING_STRICT = {"HTTPClient"}

# -- the server that counts ------------------------------------------------------------------

_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"


def _answer(pending: bytes) -> bytes | None:
    """The response once ``pending`` holds a whole request, else None."""
    if pending.startswith(b"\x16"):
        return b""  # a TLS handshake: closed at once, so that it fails at once
    end = pending.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = pending[:end].lower()
    body = pending[end + 4 :]
    length, chunked = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip() == b"content-length":
            with contextlib.suppress(ValueError):
                length = int(value.strip())
        elif name.strip() == b"transfer-encoding" and b"chunked" in value:
            chunked = True
    if (chunked and not body.endswith(b"0\r\n\r\n")) or (not chunked and len(body) < length):
        return None
    return _ANSWER if head.startswith(b"head ") else _ANSWER + b"ok"


class CountingServer:
    """HTTP/1.1 on 127.0.0.1 that counts every byte it receives.

    Each request (its head, then a Content-Length or chunked body) gets a short 200 and the
    connection is closed. ``count()`` first reads, in the caller's thread, whatever has
    arrived: loopback hands a byte to the receiver when the sender's ``send()`` returns,
    so every byte a call sent before ``count()`` is counted. ``fresh()`` moves to a new
    port and closes the old one, so a late sender from an earlier example is not counted.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._conns: dict[socket.socket, bytearray] = {}
        self.received = 0
        self.port = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CountingServer:
        self.fresh()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        with self._lock:
            self._close_all()

    def fresh(self) -> int:
        with self._lock:
            self._close_all()
            listener = socket.create_server(("127.0.0.1", 0))
            listener.setblocking(False)
            self._listener = listener
            self.port = listener.getsockname()[1]
            self.received = 0
            return self.port

    def count(self) -> int:
        with self._lock:
            self._step()
            return self.received

    def _close_all(self) -> None:
        for sock in [self._listener, *self._conns]:
            if sock is not None:
                sock.close()
        self._listener = None
        self._conns.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                socks = [s for s in (self._listener, *self._conns) if s is not None]
            with contextlib.suppress(OSError, ValueError):  # a socket fresh() closed meanwhile
                select.select(socks, [], [], 0.01)
            with self._lock:
                self._step()

    def _step(self) -> None:
        if self._listener is None:
            return
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                break
            conn.setblocking(False)
            self._conns[conn] = bytearray()
        for conn, pending in list(self._conns.items()):
            done = False
            while True:
                try:
                    data = conn.recv(65536)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    done = True
                    break
                if not data:
                    done = True
                    break
                self.received += len(data)
                pending.extend(data)
            answer = _answer(bytes(pending))
            if answer:
                with contextlib.suppress(OSError):
                    conn.send(answer)
            if answer is not None:
                done = True
            if done:
                conn.close()
                del self._conns[conn]


# -- per-example context ---------------------------------------------------------------------


def _fake_resolver(host: str, port: int) -> Resolution:
    """No DNS: "localhost" is 127.0.0.1, every other name fails at once."""
    if host == "localhost":
        return Resolution.finished([("127.0.0.1", port)])
    return Resolution.finished([], ResolveError(f"cannot resolve {host!r}: not in the test table"))


@dataclass
class Material:
    """Certificates and files made once for the module."""

    tmp: Path
    ca_pem: str
    key_pem: str
    leaf_pem: str
    ca_path: Path
    key_path: Path


@dataclass
class Ctx:
    server: CountingServer
    material: Material
    port: int = 0
    closers: list[Callable[[], object]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def named_url(self) -> str:
        return f"http://localhost:{self.port}/"

    def keep(self, closer: Callable[[], object]) -> None:
        self.closers.append(closer)

    def close(self) -> None:
        for closer in reversed(self.closers):
            with contextlib.suppress(Exception):
                closer()
        self.closers.clear()

    # things the good values and the deferred odd values need

    def certificate(self) -> X509Certificate:
        return certificate(self.material.leaf_pem)

    def key(self) -> CryptoKey:
        return private_key(self.material.key_pem)

    def server_options(self) -> TLSOptions:
        return TLSOptions.server(self.key(), self.certificate())

    def connected_tcp(self) -> StreamPeerTCP:
        tcp = StreamPeerTCP(2.0)
        self.keep(tcp.disconnect_from_host)
        assert tcp.connect_to_host("127.0.0.1", self.port) == Error.OK
        deadline = time.monotonic() + DRIVE_LIMIT
        while tcp.get_status() == StreamPeerTCP.STATUS_CONNECTING:
            assert time.monotonic() < deadline, "setup: TCP connect to the test server hangs"
            tcp.poll()
            tcp.wait(readable=False, writable=True, timeout=0.05)
        assert tcp.get_status() == StreamPeerTCP.STATUS_CONNECTED
        return tcp

    def client(self, state: str = "disconnected") -> HTTPClient:
        client = HTTPClient()
        self.keep(client.close)
        client.connect_timeout = 2.0
        if state == "disconnected":
            return client
        assert client.connect_to_host("127.0.0.1", self.port) == Error.OK
        _until(lambda: client.get_status() != Status.STATUS_CONNECTING, client.poll, client.wait)
        assert client.get_status() == Status.STATUS_CONNECTED, "setup: cannot connect"
        if state == "requesting":
            assert client.request(Method.METHOD_GET, "/", []) == Error.OK
            _until(lambda: client.get_request_bytes_pending() == 0, client.poll, client.wait)
        return client

    def request(self, state: str = "idle") -> HTTPRequest:
        req = HTTPRequest()
        self.keep(req.close)
        req.timeout = DRIVE_LIMIT
        if state == "running":
            assert req.request(self.url) == Error.OK
            _until(lambda: self.server.count() > 0, req.poll, req.wait)
        return req

    def make(self, value: object) -> object:
        """``value`` with every `Deferred` in it made."""
        if isinstance(value, Deferred):
            return self._deferred(value.kind)
        if isinstance(value, list):
            return [self.make(item) for item in value]
        if isinstance(value, tuple) and type(value) is tuple:
            return tuple(self.make(item) for item in value)
        if isinstance(value, dict) and type(value) is dict:
            return {key: self.make(item) for key, item in value.items()}
        return value

    def _deferred(self, kind: str) -> object:
        tmp = self.material.tmp
        if kind == "server-url":
            return self.url
        if kind == "server-url-bytes":
            return self.url.encode()
        if kind == "server-port":
            return self.port
        if kind == "server-port-str":
            return str(self.port)
        if kind in ("open-binary-file", "closed-file"):
            handle: Any = open(tmp / "odd-body.bin", "w+b")  # noqa: SIM115 - closed by ctx
            handle.write(b"file body")
            handle.seek(0)
            self.keep(handle.close)
            if kind == "closed-file":
                handle.close()
            return handle
        if kind == "open-text-file":
            handle = open(tmp / "odd-body.txt", "w+", encoding="utf-8")  # noqa: SIM115
            handle.write("file text")
            handle.seek(0)
            self.keep(handle.close)
            return handle
        if kind == "relative-path":
            return "odd-download.bin"
        if kind == "loaded-certificate":
            return self.certificate()
        if kind == "loaded-key":
            return self.key()
        if kind == "server-tls-options":
            return self.server_options()
        if kind == "connected-tcp":
            return self.connected_tcp()
        if kind == "http-client":
            return self.client()
        if kind == "http-request":
            return self.request()
        raise AssertionError(f"unknown deferred value {kind}")


def _until(done: Callable[[], bool], step: Callable[[], object], wait: Callable[..., object]):
    deadline = time.monotonic() + DRIVE_LIMIT
    while not done():
        assert time.monotonic() < deadline, "setup did not finish in time"
        step()
        if not done():
            wait(0.05)


def _safe_path(value: object) -> object:
    """A file name inside the current (temporary) directory: no "/" in it."""
    if isinstance(value, str):
        return value.replace("/", "_") or value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).replace(b"/", b"_")
    if isinstance(value, os.PathLike) and Path(value).is_absolute():
        return Path(value).name
    return value


# -- the surface -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One parameter of one callable (or one settable attribute) of one owner."""

    owner: str  # a class name, "pollhttp" or "pollhttp.aio"
    member: str  # a method, function or attribute name; "__init__" for constructors
    param: str  # the parameter (or attribute) that gets the odd value
    kind: str  # "call", "set" or "init"

    def __str__(self) -> str:
        if self.kind == "set":
            return f"{self.owner}.{self.member} = ..."
        return f"{self.owner}.{self.member}({self.param}=...)"


#: Classes with their own states and use below; any other public class is fuzzed too, from
#: an instance made with good values, and used through its getters afterwards.
KNOWN_CLASSES: dict[str, type] = {
    "HTTPClient": HTTPClient,
    "HTTPRequest": HTTPRequest,
    "StreamPeerTCP": StreamPeerTCP,
    "StreamPeerTLS": StreamPeerTLS,
    "X509Certificate": X509Certificate,
    "CryptoKey": CryptoKey,
    "TLSOptions": TLSOptions,
    "Limits": Limits,
    "Signal": Signal,
    "Headers": Headers,
    "Resolution": Resolution,
    "DNSCache": DNSCache,
    "ConnectionPool": ConnectionPool,
}


def _public_classes() -> dict[str, type]:
    found = dict(KNOWN_CLASSES)
    for name in pollhttp.__all__:
        value = getattr(pollhttp, name)
        if not isinstance(value, type) or name in SKIPPED or name in found:
            continue
        if issubclass(value, (BaseException, enum.Enum, tuple)) or inspect.isabstract(value):
            continue
        found[name] = value
    return found


CLASSES = _public_classes()
FUNCTIONS: dict[str, dict[str, Callable[..., Any]]] = {
    "pollhttp": {
        name: getattr(pollhttp, name)
        for name in (
            "request",
            "get",
            "head",
            "post",
            "put",
            "patch",
            "delete",
            "options",
            "wait",
        )
    },
    "pollhttp.aio": {name: getattr(pollhttp.aio, name) for name in pollhttp.aio.__all__},
}
#: Keywords that a ``**kwargs`` parameter passes on.
_PASSED_ON = [
    p.name
    for p in inspect.signature(pollhttp.request).parameters.values()
    if p.name not in ("method", "url")
]
_PROXY_KEYWORDS = [
    p.name
    for p in inspect.signature(HTTPClient.set_http_proxy).parameters.values()
    if p.kind is inspect.Parameter.KEYWORD_ONLY
]


def _var_keywords(owner: str, member: str) -> list[str]:
    if owner.startswith("pollhttp"):
        return _PASSED_ON
    if member in ("set_http_proxy", "set_https_proxy"):
        return [*_PROXY_KEYWORDS, "bogus"]
    return ["bogus"]


def _fresh_instance(name: str, ctx: Ctx | None = None) -> object:
    cls = CLASSES[name]
    if name == "TLSOptions":
        return TLSOptions.client()
    if name == "Headers":
        return Headers(["X-A: 1"])
    if name == "Resolution":
        return Resolution.finished([("127.0.0.1", 1)])
    if name == "Proxy":
        return pollhttp.Proxy("127.0.0.1", 3128)
    if name in ("DNSCache", "ConnectionPool"):
        instance = cls(resolver=_fake_resolver)
    else:
        instance = cls()  # a new public class that needs arguments: add it to KNOWN_CLASSES
    if ctx is not None and callable(getattr(instance, "close", None)):
        ctx.keep(instance.close)
    return instance


@functools.cache
def _signature(func: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(func)


def _callable_params(func: Callable[..., Any]) -> list[inspect.Parameter]:
    params = list(_signature(func).parameters.values())
    return [p for p in params if p.name not in ("self", "cls")]


def _targets_of(func: Callable[..., Any], owner: str, member: str, kind: str) -> list[Target]:
    targets = []
    for p in _callable_params(func):
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            targets += [Target(owner, member, name, kind) for name in _var_keywords(owner, member)]
        else:
            targets.append(Target(owner, member, p.name, kind))
    return targets


def _settable(raw: object) -> bool:
    """A property with a setter, or any other descriptor that takes assignments."""
    if isinstance(raw, property):
        return raw.fset is not None
    return inspect.isdatadescriptor(raw) and hasattr(type(raw), "__set__")


def discover() -> tuple[list[Target], list[str]]:
    """Every target, and every public member that is not one (with the reason)."""
    targets: list[Target] = []
    others: list[str] = []
    for owner, cls in CLASSES.items():
        if f"{owner}.__init__" not in SKIPPED:
            if dataclasses.is_dataclass(cls):
                targets += [
                    Target(owner, "__init__", f.name, "init") for f in dataclasses.fields(cls)
                ]
            else:
                targets += _targets_of(vars(cls).get("__init__", cls), owner, "__init__", "init")
        for name in dir(cls):
            if name.startswith("_") or f"{owner}.{name}" in SKIPPED:
                continue
            raw = inspect.getattr_static(cls, name)
            if _settable(raw):
                targets.append(Target(owner, name, name, "set"))
            elif isinstance(raw, property):
                others.append(f"{owner}.{name}: read-only property, read after each call")
            elif isinstance(raw, (staticmethod, classmethod)) or inspect.isfunction(raw):
                func = getattr(cls, name)
                found = _targets_of(func, owner, name, "call")
                targets += found
                if not found:
                    others.append(f"{owner}.{name}(): no parameter, called after each call")
            elif not dataclasses.is_dataclass(cls):
                others.append(f"{owner}.{name}: a constant")
        if not dataclasses.is_dataclass(cls) and owner not in ("TLSOptions", "Headers"):
            with contextlib.ExitStack() as stack:
                instance = _fresh_instance(owner)
                if hasattr(instance, "close"):
                    stack.callback(instance.close)
                for name in vars(instance):
                    if name.startswith("_") or f"{owner}.{name}" in SKIPPED:
                        continue
                    if not inspect.isdatadescriptor(inspect.getattr_static(cls, name, None)):
                        targets.append(Target(owner, name, name, "set"))
    for owner, functions in FUNCTIONS.items():
        for name, func in functions.items():
            targets += _targets_of(func, owner, name, "call")
    return targets, others


TARGETS, NOT_TARGETS = discover()


# -- good values -----------------------------------------------------------------------------

_MISSING = object()


@dataclass(frozen=True)
class Make:
    """A good value made when the call is prepared (a connection, a key, a client)."""

    make: Callable[[], object]


def good_value(ctx: Ctx, target: Target, param: str) -> object:
    """A value that makes ``param`` right when another parameter of the call is fuzzed."""
    owner, member = target.owner, target.member
    if owner == "HTTPClient":
        return {
            "host": "" if "proxy" in member else "127.0.0.1",
            "port": -1 if "proxy" in member else ctx.port,
            "method": Method.METHOD_GET,
            "url": "/",
            "headers": [],
            "body": b"",
            "proxy": None,
            "for_https": False,
            "enabled": False,
            "bytes_": 65536,
            "version": 0,
            "connection": Make(ctx.connected_tcp) if member == "set_connection" else _MISSING,
            "fields": {"a": "1"},
        }.get(param, _MISSING)
    if owner == "HTTPRequest":
        return {
            "url": ctx.url,
            "client_options": Make(TLSOptions.client_unsafe),
            "host": "",
            "port": -1,
            "proxy": None,
            "for_https": False,
        }.get(param, _MISSING)
    if owner == "Retry":
        return {
            "method": "GET",
            "failure": Failure.CONNECT,
            "status_code": 503,
            "retry_after": "1",
        }.get(param, _MISSING)
    if owner == "Proxy":
        return {"host": "127.0.0.1", "port": ctx.port}.get(param, _MISSING)
    if owner == "Session":
        return {"method": "GET", "url": ctx.url}.get(param, _MISSING)
    if owner in ("StreamPeerTCP", "StreamPeerTLS"):
        return {
            "host": "127.0.0.1",
            "port": ctx.port,
            "readable": False,
            "writable": True,
            "timeout": 0.05,
            "nbytes": 16,
            "buffer": memoryview(bytearray(16)),
            "data": b"x",
            "enabled": True,
            "stream": Make(ctx.connected_tcp),
            "common_name": "localhost",
            "options": Make(
                ctx.server_options if member == "accept_stream" else TLSOptions.client_unsafe
            ),
        }.get(param, _MISSING)
    if owner == "X509Certificate":
        return {
            "path": str(ctx.material.ca_path) if member == "load" else "saved-cert.pem",
            "string": ctx.material.ca_pem,
        }.get(param, _MISSING)
    if owner == "CryptoKey":
        return {
            "path": str(ctx.material.key_path) if member == "load" else "saved-key.pem",
            "string_key": ctx.material.key_pem,
        }.get(param, _MISSING)
    if owner == "TLSOptions":
        return {"key": Make(ctx.key), "certificate": Make(ctx.certificate)}.get(param, _MISSING)
    if owner == "Signal":
        return {"callback": _noop}.get(param, _MISSING)
    if owner == "Headers":
        return {"lines": ["X-A: 1"], "name": "x-a", "key": "x-a"}.get(param, _MISSING)
    if owner == "Resolution":
        return {"addresses": [("127.0.0.1", ctx.port)], "timeout": 0.0}.get(param, _MISSING)
    if owner in FUNCTIONS:
        found = {
            "method": "GET",
            "url": ctx.url,
            "timeout": 0.05 if member == "wait" else DRIVE_LIMIT,
            "objects": Make(lambda: [ctx.client("requesting")]),
            "obj": Make(lambda: ctx.client("requesting")),
        }.get(param, _MISSING)
        if found is not _MISSING:
            return found
    # Any other owner (a class added later): the usual meaning of the usual names.
    return {
        "resolver": _fake_resolver,
        "key": ("http", "localhost", ctx.port),
        "client": Make(ctx.client),
        "host": "127.0.0.1",
        "port": ctx.port,
        "url": ctx.url,
        "headers": [],
        "timeout": 0.05,
        "callback": _noop,
    }.get(param, _MISSING)


def _noop(*args: object) -> None:
    return None


def arguments(ctx: Ctx, target: Target, value: object) -> dict[str, object]:
    """Keyword arguments for ``target``: ``value`` for its parameter, good values elsewhere."""
    kwargs: dict[str, object] = {}
    if target.kind == "set" or (
        target.kind == "init" and dataclasses.is_dataclass(CLASSES[target.owner])
    ):
        return {target.param: value}
    for p in _callable_params(_function(target)):
        if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        if p.name == target.param:
            continue
        good = good_value(ctx, target, p.name)
        if isinstance(good, Make):
            good = good.make()
        if good is not _MISSING:
            kwargs[p.name] = good
        elif p.default is inspect.Parameter.empty:
            raise LookupError(f"{target}: no good value for the parameter {p.name!r}")
    kwargs[target.param] = value
    return kwargs


def _function(target: Target) -> Callable[..., Any]:
    if target.owner in FUNCTIONS:
        return FUNCTIONS[target.owner][target.member]
    cls = CLASSES[target.owner]
    if target.member == "__init__":
        return vars(cls).get("__init__", cls)
    return getattr(cls, target.member)


# -- using an object as intended, after the call ---------------------------------------------


class Later(Exception):
    """A step after the call raised: the value was taken, and failed later."""


def _step(name: str, call: Callable[[], object]) -> object:
    try:
        return call()
    except BaseException as exc:
        raise Later(f"{name} raised {type(exc).__name__}: {exc}") from exc


@functools.cache
def _getters(cls: type) -> tuple[tuple[str, bool], ...]:
    """(name, is a property) for every getter of ``cls``: get_*, is_*, has_*, properties."""
    found = []
    for name in dir(cls):
        if name.startswith("_") or name in ("get_spki_pin", "get_http_client"):
            continue
        raw = inspect.getattr_static(cls, name, None)
        if isinstance(raw, property) or _settable(raw):
            found.append((name, True))
        elif (
            name.startswith(("get_", "is_", "has_"))
            and inspect.isfunction(raw)
            and not _callable_params(getattr(cls, name))
        ):
            found.append((name, False))
    return tuple(found)


def _read_everything(obj: object) -> None:
    """Every getter (get_*, is_*, has_*, read-only property) of ``obj``."""
    owner = type(obj).__name__
    for name, is_property in _getters(type(obj)):  # type: ignore[arg-type]
        if is_property:
            _step(f"{owner}.{name}", functools.partial(getattr, obj, name))
        else:
            _step(f"{owner}.{name}()", getattr(obj, name))


def _deadline_passed(deadline: float, what: str) -> None:
    if time.monotonic() > deadline:
        raise Later(f"{what} did not finish within {DRIVE_LIMIT} s (a hang)")


def drive_client(ctx: Ctx, client: HTTPClient) -> None:
    """Finish what the client is doing, then connect (by name) and make one request."""
    _read_everything(client)
    deadline = time.monotonic() + DRIVE_LIMIT
    connected = requested = False
    while True:
        _deadline_passed(deadline, "HTTPClient.poll()")
        status = _step("HTTPClient.get_status()", client.get_status)
        if status in (Status.STATUS_RESOLVING, Status.STATUS_CONNECTING, Status.STATUS_REQUESTING):
            _step("HTTPClient.poll()", client.poll)
            _step("HTTPClient.wait(0.05)", lambda: client.wait(0.05))
        elif status == Status.STATUS_BODY:
            _step("HTTPClient.read_response_body_chunk()", client.read_response_body_chunk)
            _step("HTTPClient.wait(0.05)", lambda: client.wait(0.05))
        elif status == Status.STATUS_CONNECTED and not requested:
            requested = True
            _step("HTTPClient.request()", lambda: client.request(Method.METHOD_GET, "/", []))
        elif not connected:
            connected, requested = True, False
            code = _step(
                "HTTPClient.connect_to_host()",
                lambda: client.connect_to_host("localhost", ctx.port),
            )
            if code != Error.OK:
                break
        else:
            break
    _read_everything(client)
    _step("pollhttp.wait([client], 0)", lambda: pollhttp.wait([client], 0))
    _step("HTTPClient.close()", client.close)


def drive_request(ctx: Ctx, req: HTTPRequest) -> None:
    """Finish the running request, then make a new one (by name) and finish it."""
    done: list[tuple[object, ...]] = []

    def completed(*outcome: object) -> None:
        done.append(outcome)

    _step("Signal.connect()", lambda: req.request_completed.connect(completed))
    _read_everything(req)
    for attempt in range(2):
        if attempt == 1:
            done.clear()
            code = _step("HTTPRequest.request()", lambda: req.request(ctx.named_url))
            if code != Error.OK:
                break
        deadline = time.monotonic() + DRIVE_LIMIT
        while not done:
            _deadline_passed(deadline, "HTTPRequest.poll()")
            if _step("HTTPRequest.poll()", req.poll) == Error.ERR_UNCONFIGURED:
                break
            if not done:
                _step("HTTPRequest.wait(0.05)", lambda: req.wait(0.05))
    _read_everything(req)
    _step("HTTPRequest.close()", req.close)


def drive_stream(ctx: Ctx, peer: StreamPeerTCP | StreamPeerTLS) -> None:
    _read_everything(peer)
    _step("poll()", peer.poll)
    _step("get_partial_data(16)", lambda: peer.get_partial_data(16))
    _step("put_partial_data(b'x')", lambda: peer.put_partial_data(b"x"))
    _step("wait()", lambda: peer.wait(readable=False, writable=True, timeout=0.05))
    _step("close()", peer.close)


def drive_tls_options(options: object) -> None:
    assert isinstance(options, TLSOptions)
    _read_everything(options)
    if options.get_trusted_ca_chain() or options.get_own_certificate() or options.get_pins():
        # Building the context loads what the options hold (the system store is skipped:
        # it takes tens of milliseconds and holds nothing a caller gave).
        _step("TLSOptions.ssl_context()", options.ssl_context)


def drive_certificate(ctx: Ctx, cert: X509Certificate) -> None:
    _read_everything(cert)
    _step("X509Certificate.save_to_string()", cert.save_to_string)
    if len(cert):
        _step("X509Certificate.get_spki_pin()", cert.get_spki_pin)
        drive_tls_options(_step("TLSOptions.client(cert)", lambda: TLSOptions.client(cert)))


def drive_key(ctx: Ctx, key: CryptoKey) -> None:
    _read_everything(key)
    for public in (False, True):
        _step("CryptoKey.save_to_string()", functools.partial(key.save_to_string, public))
    if key.save_to_string() and not key.is_public_only():
        drive_tls_options(
            _step("TLSOptions.server(key)", lambda: TLSOptions.server(key, ctx.certificate()))
        )


def _tolerant(trace: Callable[..., object]) -> Callable[..., None]:
    """``trace``, with what it raises caught: only its caller's own code raises there."""

    def call(*args: object) -> None:
        with contextlib.suppress(Exception):
            trace(*args)

    return call


def drive_object(ctx: Ctx, obj: object, value: object) -> None:
    """Use ``obj`` (the owner's instance after the call, or what a factory returned)."""
    if isinstance(obj, HTTPClient):
        if callable(value) and obj.trace is value:
            # A trace the caller gave may raise when called (``int`` does, with two
            # arguments), as a Signal callback may: that is the caller's error, not
            # pollhttp's, so it is caught here; the client's own use of it is still driven.
            obj.trace = _tolerant(obj.trace)
        drive_client(ctx, obj)
    elif isinstance(obj, HTTPRequest):
        drive_request(ctx, obj)
    elif isinstance(obj, (StreamPeerTCP, StreamPeerTLS)):
        drive_stream(ctx, obj)
    elif isinstance(obj, X509Certificate):
        drive_certificate(ctx, obj)
    elif isinstance(obj, CryptoKey):
        drive_key(ctx, obj)
    elif isinstance(obj, TLSOptions):
        drive_tls_options(obj)
    elif isinstance(obj, Limits):
        client = _step("HTTPClient(limits=...)", lambda: HTTPClient(limits=obj))
        assert isinstance(client, HTTPClient)
        ctx.keep(client.close)
        drive_client(ctx, client)
    elif isinstance(obj, Signal):
        _step("Signal.is_connected()", lambda: obj.is_connected(_noop))
        if not callable(value):
            # A callback connected by the caller may raise; a non-callable must not be kept.
            _step("Signal.emit()", obj.emit)
    elif isinstance(obj, Headers):
        _step("Headers: list()", lambda: list(obj))
        _step("Headers: dict()", lambda: dict(obj))
        _step("Headers.get_all()", lambda: obj.get_all("x-a"))
        _step("repr(Headers)", lambda: repr(obj))
    elif isinstance(obj, DNSCache):
        client = HTTPClient(resolver=obj)
        ctx.keep(client.close)
        drive_client(ctx, client)  # looks "localhost" up through the cache
        drive_client(ctx, client)  # and again, from the cache
    elif isinstance(obj, Resolution):
        _step("Resolution.get_status()", obj.get_status)
        _step("Resolution.wait(0)", lambda: obj.wait(0))
    elif isinstance(obj, ConnectionPool):
        key = ("http", "localhost", ctx.port)
        client = _step("ConnectionPool.acquire()", lambda: obj.acquire(key))
        if isinstance(client, HTTPClient):
            ctx.keep(client.close)
            drive_client(ctx, client)
            _step("ConnectionPool.release()", lambda: obj.release(key, client))
        _step("ConnectionPool.connections()", lambda: obj.connections(key))
        _step("ConnectionPool.close()", obj.close)
    elif isinstance(obj, pollhttp.Response):
        for name in ("status_code", "headers", "content", "url", "ok", "text"):
            _step(f"Response.{name}", functools.partial(getattr, obj, name))
    elif type(obj).__name__ in CLASSES:
        _read_everything(obj)
        close = getattr(obj, "close", None)
        if callable(close):
            _step(f"{type(obj).__name__}.close()", close)


# -- the property ----------------------------------------------------------------------------


@dataclass
class Outcome:
    raised: BaseException | None = None
    result: object = None


def allowed(exc: BaseException, names: tuple[str, ...]) -> bool:
    """pollhttp's documented exceptions, or a TypeError that names the parameter."""
    if isinstance(exc, PollHTTPError):
        return True
    message = str(exc)
    return isinstance(exc, TypeError) and any(
        re.search(rf"\b{re.escape(name)}\b", message) for name in names
    )


def _rejected(outcome: Outcome) -> bool:
    if outcome.raised is not None:
        return isinstance(outcome.raised, (InvalidParameterError, TypeError))
    result = outcome.result
    if isinstance(result, tuple) and result:
        result = result[0]
    return isinstance(result, Error) and result == Error.ERR_INVALID_PARAMETER


def _states(target: Target) -> list[str]:
    if target.owner == "HTTPClient" and target.kind != "init":
        return ["disconnected", "connected", "requesting"]
    if target.owner == "HTTPRequest" and target.kind != "init":
        return ["idle", "running"]
    if target.owner == "StreamPeerTCP" and target.kind != "init":
        # get_data reads until nbytes arrived, as Godot's does: on a connection where no
        # byte comes, it waits for ever by design.
        return ["fresh"] if target.member == "get_data" else ["fresh", "connected"]
    if target.owner in ("X509Certificate", "CryptoKey") and target.kind == "call":
        return ["fresh", "loaded"]
    return ["fresh"]


def _instance(ctx: Ctx, target: Target, state: str) -> object:
    owner = target.owner
    if owner in FUNCTIONS:
        return None
    if owner == "HTTPClient":
        return ctx.client(state)
    if owner == "HTTPRequest":
        return ctx.request(state)
    if owner == "StreamPeerTCP":
        if state == "connected":
            return ctx.connected_tcp()
        tcp = StreamPeerTCP(2.0)
        ctx.keep(tcp.close)
        return tcp
    if owner == "StreamPeerTLS":
        tls = StreamPeerTLS()
        ctx.keep(tls.close)
        return tls
    if owner == "X509Certificate":
        return ctx.certificate() if state == "loaded" else X509Certificate()
    if owner == "CryptoKey":
        return ctx.key() if state == "loaded" else CryptoKey()
    if owner == "TLSOptions":
        return TLSOptions  # the factories are classmethods
    return _fresh_instance(owner, ctx)


def _call(ctx: Ctx, target: Target, obj: object, kwargs: dict[str, object]) -> object:
    if target.owner in FUNCTIONS:
        func = FUNCTIONS[target.owner][target.member]
        if inspect.iscoroutinefunction(func):

            async def run() -> object:
                return await asyncio.wait_for(func(**kwargs), DRIVE_LIMIT)

            return asyncio.run(run())
        return func(**kwargs)
    if target.kind == "init":
        made = CLASSES[target.owner](**kwargs)
        if hasattr(made, "close"):
            ctx.keep(made.close)
        return made
    if target.kind == "set":
        setattr(obj, target.member, kwargs[target.param])
        return None
    return getattr(obj, target.member)(**kwargs)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


#: Test bodies run (examples, replays and shrinks included), for the closing line.
EXAMPLE_COUNT = {"api": 0, "cli": 0}
CLI_CODES: dict[int, int] = {}


def check_one(ctx: Ctx, target: Target, raw: object, state: str) -> None:
    EXAMPLE_COUNT["api"] += 1
    ctx.port = ctx.server.fresh()
    try:
        value = ctx.make(raw)
        if target.param in PATH_PARAMETERS:
            value = _safe_path(value)
        obj = _instance(ctx, target, state)
        kwargs = arguments(ctx, target, value)
        names = (target.param, target.member)
        readable = target.kind == "set"
        old = getattr(obj, target.member) if readable else None
        status = obj.get_status() if isinstance(obj, HTTPClient) else None
        last = getattr(obj, "get_last_error", lambda: None)() if obj is not None else None
        before = ctx.server.count()
        outcome = Outcome()
        try:
            outcome.result = _call(ctx, target, obj, kwargs)
        except Exception as exc:  # judged below; BaseException (KeyboardInterrupt) goes on
            outcome.raised = exc
        call = f"{target} with {target.param}={_show(value)} (state {state})"
        error = outcome.raised
        if error is not None:
            assert allowed(error, names), f"{call} raised {type(error).__name__}: {error}"
            strict = target.owner in _ERROR_RETURNING_STRICT and target.kind == "call"
            if strict and _signature(_function(target)).return_annotation == "Error":
                raise AssertionError(
                    f"{call} raised {type(error).__name__}: {error} (it returns an Error code)"
                )
        rejected = _rejected(outcome)
        if not rejected and obj is not None and outcome.raised is None and target.kind != "init":
            # A setter that keeps the error instead of raising (Godot's way).
            now = getattr(obj, "get_last_error", lambda: None)()
            rejected = now is not last and isinstance(now, InvalidParameterError)
        if rejected:
            if outcome.raised is None and callable(getattr(obj, "get_last_error", None)):
                kept = getattr(obj, "get_last_error")()  # noqa: B009 - obj is any class
                assert isinstance(kept, InvalidParameterError), (
                    f"{call} returned {outcome.result!r}; get_last_error() is {kept!r}"
                )
            if isinstance(obj, HTTPClient) and target.member in ("request", "request_raw"):
                assert obj.get_status() == status, f"{call} changed the status"
            if isinstance(obj, (HTTPClient, HTTPRequest)):
                for _ in range(3):  # nothing left behind to send later either
                    _step("poll() after a rejected call", obj.poll)
            sent = ctx.server.count() - before
            assert sent == 0, f"{call} was rejected ({outcome}) but {sent} bytes were sent"
            if readable:
                assert getattr(obj, target.member) == old or old != old, (
                    f"{call} was refused but the value changed"
                )
        static = isinstance(inspect.getattr_static(type(obj), target.member, None), classmethod)
        made = obj
        if obj is None or isinstance(obj, type) or target.kind == "init" or static:
            made = outcome.result if outcome.raised is None else None
        try:
            drive_object(ctx, made, value)
        except Later as later:
            verdict = "refused" if rejected else "accepted"
            raise AssertionError(f"{call} was {verdict}; then {later}") from later.__cause__
    finally:
        ctx.close()


# -- fixtures and tests ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Material]:
    tmp = tmp_path_factory.mktemp("api-fuzz")
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    ca_pem = ca.cert_pem.bytes().decode()
    key_pem = leaf.private_key_pem.bytes().decode()
    (tmp / "ca.pem").write_text(ca_pem)
    (tmp / "key.pem").write_text(key_pem)
    previous = os.getcwd()
    os.chdir(tmp)  # every relative file name a call opens is in here
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pollhttp.client, "resolve_in_thread", _fake_resolver)
        patch.setattr(pollhttp.cli, "resolve_in_thread", _fake_resolver, raising=False)
        for name in list(os.environ):
            if name.lower().endswith("_proxy") or name.lower() == "request_method":
                patch.delenv(name)
        try:
            yield Material(
                tmp,
                ca_pem,
                key_pem,
                leaf.cert_chain_pems[0].bytes().decode(),
                tmp / "ca.pem",
                tmp / "key.pem",
            )
        finally:
            os.chdir(previous)


@pytest.fixture(scope="module")
def server() -> Iterator[CountingServer]:
    with CountingServer() as counting:
        yield counting


@pytest.fixture(scope="module", autouse=True)
def _report_count(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    line = (
        f"api fuzz: {EXAMPLE_COUNT['api']} examples run over {len(TARGETS)} targets "
        f"(at most {EXAMPLES} new ones each: {EXAMPLES * len(TARGETS)}), "
        f"{EXAMPLE_COUNT['cli']} command lines (at most {CLI_EXAMPLES})"
    )
    line += f"; exit codes {dict(sorted(CLI_CODES.items()))}"
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:  # pragma: no cover - pytest without its terminal
        print(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        reporter.write_line(line)


_STATES_BY_TARGET = {target: _states(target) for target in TARGETS}


def test_surface_is_covered(material: Material, server: CountingServer) -> None:
    """Every public name is fuzzed or skipped with a reason; every target can be called."""
    fuzzed = set(CLASSES) | set(FUNCTIONS["pollhttp"])
    for name in pollhttp.__all__:
        value = getattr(pollhttp, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            continue  # exception classes: any message is a message
        assert name in fuzzed or name in SKIPPED, f"pollhttp.{name} is neither fuzzed nor skipped"
    for name in pollhttp.aio.__all__:
        assert name in FUNCTIONS["pollhttp.aio"], f"pollhttp.aio.{name} is not fuzzed"
    ctx = Ctx(server, material, server.fresh())
    try:
        for target in TARGETS:
            arguments(ctx, target, None)  # raises for a required parameter with no good value
    finally:
        ctx.close()
    members = {(t.owner, t.member) for t in TARGETS}
    for owner in ("HTTPClient", "HTTPRequest"):
        for name in ("request", "request_raw", "set_http_proxy", "wait", "__init__"):
            assert (owner, name) in members, f"{owner}.{name} is not fuzzed"
    for name in ("timeout", "max_redirects", "download_chunk_size", "download_file"):
        assert ("HTTPRequest", name) in members, f"HTTPRequest.{name} is not fuzzed"
    assert len(TARGETS) > 100


def test_counting_server_counts(material: Material, server: CountingServer) -> None:
    """The server counts every byte a request sends, at once, and forgets them on fresh()."""
    ctx = Ctx(server, material, server.fresh())
    try:
        client = ctx.client("connected")
        assert server.count() == 0
        assert client.request(Method.METHOD_POST, "/", ["X-A: 1"], b"12345") == Error.OK
        _until(lambda: client.get_request_bytes_pending() == 0, client.poll, client.wait)
        sent = server.count()
        assert sent > len(b"POST / HTTP/1.1\r\n\r\n12345")
        assert server.count() == sent
        _until(lambda: client.get_status() != Status.STATUS_REQUESTING, client.poll, client.wait)
        assert client.get_response_code() == 200
        ctx.port = server.fresh()
        assert server.count() == 0
    finally:
        ctx.close()


@pytest.mark.parametrize("target", TARGETS, ids=str)
@FUZZ
@given(value=odd_values, data=st.data())
def test_odd_value(
    material: Material, server: CountingServer, target: Target, value: object, data: st.DataObject
) -> None:
    state = data.draw(st.sampled_from(_STATES_BY_TARGET[target]), label="state")
    check_one(Ctx(server, material), target, value, state)


# -- the command -----------------------------------------------------------------------------


def _cli_options() -> tuple[list[str], list[str]]:
    """(options that take a value, flags), from the command's own parser."""
    parser = pollhttp.cli._build_parser()
    with_value: list[str] = []
    flags: list[str] = []
    for action in parser._actions:
        names = [n for n in action.option_strings if n.startswith("-")]
        if not names or set(names) & {"-h", "--help", "-V", "--version"}:
            continue
        (flags if action.nargs == 0 else with_value).append(names[0])
    return with_value, flags


CLI_WITH_VALUE, CLI_FLAGS = _cli_options()
_CLI_TEXT = st.one_of(
    st.sampled_from(
        [
            "",
            "-",
            "@-",
            "@missing-file",
            "@odd-body.bin",
            "0",
            "-1",
            "1e308",
            "nan",
            "inf",
            "10**100",
            "GET",
            "X-A:",
            "X-A;",
            "X-A: 1\r\nX-B: 2",
            "user",
            "localhost:1:127.0.0.1",
            "127.0.0.1:1",
            "sha256//AAAA",
            "\x00",
            "\ud800",
            "\u00e9",
            "a" * 5000,
        ]
    ),
    st.text(max_size=12),
)


@st.composite
def command_lines(draw: st.DrawFn) -> list[Any]:
    argv: list[Any] = [Deferred("server-url")]
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            argv.append(draw(st.sampled_from(CLI_FLAGS)))
        else:
            argv += [draw(st.sampled_from(CLI_WITH_VALUE)), draw(_CLI_TEXT)]
    if draw(st.integers(0, 4)) == 0:
        argv.append(draw(_CLI_TEXT))  # one more URL, or a stray word
    order = draw(st.permutations(range(len(argv))))
    return [argv[i] for i in order]


@settings(
    max_examples=CLI_EXAMPLES,
    phases=PHASES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(argv=command_lines())
def test_command_line(material: Material, server: CountingServer, argv: list[Any]) -> None:
    """``main(argv)``: never an internal error (43) or a traceback; a usage error sends nothing."""
    EXAMPLE_COUNT["cli"] += 1
    ctx = Ctx(server, material, server.fresh())
    try:
        made = [ctx.make(arg) for arg in argv]
        args = [arg if arg == ctx.url else str(_safe_path(arg)) for arg in made]
        if args and args[0] == "demo":
            args.insert(0, ctx.url)
        out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="surrogateescape")
        err = io.StringIO()
        stdin = io.TextIOWrapper(io.BytesIO(b"stdin body"), encoding="utf-8")
        with contextlib.ExitStack() as stack:
            stack.enter_context(contextlib.redirect_stdout(out))
            stack.enter_context(contextlib.redirect_stderr(err))
            stack.callback(setattr, sys, "stdin", sys.stdin)
            sys.stdin = stdin
            started = time.monotonic()
            code = pollhttp.cli.main(["-m", str(DRIVE_LIMIT), *args])
            took = time.monotonic() - started
        CLI_CODES[code] = CLI_CODES.get(code, 0) + 1
        message = err.getvalue()
        assert code != 43, f"main({args!r}): {message}"
        assert "internal error" not in message, f"main({args!r}): {message}"
        assert "Traceback" not in message, f"main({args!r}): {message}"
        assert took < DRIVE_LIMIT + 2, f"main({args!r}) took {took:.1f} s"
        if code in (2, 3):  # bad usage, malformed URL: refused before any request
            sent = ctx.server.count()
            assert sent == 0, f"main({args!r}) exited {code} but sent {sent} bytes: {message}"
    finally:
        ctx.close()
