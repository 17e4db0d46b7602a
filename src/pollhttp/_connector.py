"""The connection pipeline: resolve, TCP connect, proxy TLS, CONNECT tunnel, origin TLS.

A `Connector` is polled until it hands back a ready `StreamPeer`; `HTTPClient` then runs
requests over it. Each step is a `Step`; a failure raises the pollhttp exception that
says why (`ResolveError`, `ConnectError`, `TLSHandshakeError`), which `HTTPClient` turns
into a status and an error code. Nothing here blocks unless ``blocking`` is passed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from ._enums import Error
from ._errors import (
    ConnectError,
    ConnectTimeoutError,
    NetworkError,
    PollHTTPError,
    RemoteProtocolError,
    ResolveError,
    TLSHandshakeError,
    TLSHandshakeTimeoutError,
)
from ._trace import Trace
from .protocol import NEED_DATA, ClientConnection, ConnState, Limits, Response
from .transport import (
    READY_NOW,
    Address,
    Interest,
    PrefixedStreamPeer,
    Proxy,
    Resolution,
    Resolver,
    ResolverStatus,
    StreamPeer,
    StreamPeerTCP,
    StreamPeerTLS,
    TLSOptions,
    connect_authority,
    parse_host,
    wait_for_fds,
    wakeup_fd,
)
from .transport._resolver import call_resolver

__all__ = ["Connector", "Step", "Target"]


class Step(Enum):
    """Where a `Connector` stands; the steps after TCP depend on the proxy and TLS."""

    RESOLVE = "resolve"  # the host name is being looked up
    TCP = "tcp"  # TCP connects to the addresses, one after another
    PROXY_TLS = "proxy_tls"  # TLS to an https:// proxy
    TUNNEL = "tunnel"  # CONNECT through the proxy (RFC 9110 §9.3.6)
    TLS = "tls"  # TLS to the origin, checked against the origin's name
    DONE = "done"  # `Connector.stream` is ready for HTTP


@dataclass(frozen=True)
class Target:
    """Where to connect and how: the origin, its TLS options, and the proxy in between."""

    #: The origin's host (a name, or an IP literal without brackets) and port.
    host: str
    port: int
    #: The origin host is an IP literal: nothing to resolve (without a proxy).
    is_ip: bool
    #: TLS to the origin, or None for plain HTTP.
    tls_options: TLSOptions | None
    #: The proxy that serves this origin, or None.
    proxy: Proxy | None
    user_agent: bytes
    #: 0 for any address family, 4 or 6 for one only.
    ip_version: int = 0


#: RFC 8305 §5: the most connection attempts in flight at once.
MAX_ATTEMPTS = 6


def interleave(addresses: Sequence[Address]) -> list[Address]:
    """Alternate address families, starting with the family of the resolver's first choice.

    RFC 8305 §4: the resolver's order (RFC 6724) decides which family goes first; then
    the families take turns, so one broken family never delays the other for long.
    """
    if not addresses:
        return []
    first_v6 = ":" in addresses[0][0]
    first = [a for a in addresses if (":" in a[0]) == first_v6]
    second = [a for a in addresses if (":" in a[0]) != first_v6]
    mixed: list[Address] = []
    for index in range(max(len(first), len(second))):
        mixed += first[index : index + 1] + second[index : index + 1]
    return mixed


def _until(deadline: float) -> float | None:
    """Seconds left until ``deadline`` (``time.monotonic()``); None for no deadline (inf)."""
    return None if deadline == math.inf else max(0.0, deadline - time.monotonic())


class Connector:
    """Carries one connection from a host name to a stream ready for HTTP.

    Call `poll` until it returns True, then take `stream`. Each step after the TCP
    connect gets ``connect_timeout`` seconds; each TCP connect gets as long.
    """

    def __init__(
        self,
        target: Target,
        *,
        resolver: Resolver,
        limits: Limits,
        connect_timeout: float,
        happy_eyeballs_delay: float | None = None,
        trace: Trace | None = None,
    ) -> None:
        self.target = target
        self.connect_timeout = connect_timeout
        #: Seconds before the next address is tried while earlier attempts still run
        #: (RFC 8305 Happy Eyeballs); None tries the addresses one after another.
        self.happy_eyeballs_delay = happy_eyeballs_delay
        self._trace = trace
        self._limits = limits
        proxy = target.proxy
        # The steps after the TCP connect, in order.
        self._steps: list[Step] = []
        if proxy is not None and proxy.tls:
            self._steps.append(Step.PROXY_TLS)
        if target.tls_options is not None:
            self._steps += [Step.TUNNEL, Step.TLS] if proxy is not None else [Step.TLS]
        self._host, self._port = (
            (proxy.host, proxy.port) if proxy is not None else (target.host, target.port)
        )
        self._candidates: list[Address] = []
        self._errors: list[PollHTTPError] = []
        self._resolution: Resolution | None = None
        # TCP connects in flight; more than one only while racing (Happy Eyeballs).
        self._resolution_done = False  # a name was looked up (not an IP literal)
        self._attempts: list[StreamPeerTCP] = []
        self._next_attempt = 0.0
        self._tls: StreamPeerTLS | None = None
        self._tunnel: ClientConnection | None = None
        self._outgoing = memoryview(b"")
        self._deadline = 0.0
        #: The stream built so far; the finished connection once `step` is DONE.
        self.stream: StreamPeer | None = None
        #: The proxy's answer when it refused the tunnel (readable as the response).
        self.refusal: Response | None = None
        is_ip = target.is_ip if proxy is None else parse_host(proxy.host)[2]
        if is_ip:
            self.step = Step.TCP
            self._start_tcp([(self._host, self._port)])
        else:
            self.step = Step.RESOLVE
            self._resolution = call_resolver(resolver, self._host, self._port)

    # -- driving -------------------------------------------------------------------------

    def poll(self, blocking: bool = False) -> bool:
        """Take the connection as far as it can go now; True once `stream` is ready.

        With ``blocking`` it sleeps in the kernel (or on the lookup thread) until the
        current step can move. Raises the pollhttp exception of a failure.
        """
        step = self.step
        if step is Step.RESOLVE:
            return self._poll_resolve(blocking)
        if step is Step.TCP:
            return self._poll_tcp(blocking)
        if step is Step.TUNNEL:
            assert self._tunnel is not None
            return self._poll_tunnel(self._tunnel, blocking)
        if step is Step.DONE:
            return True
        assert self._tls is not None
        return self._poll_handshake(self._tls, blocking)

    def _poll_resolve(self, blocking: bool) -> bool:
        resolution = self._resolution
        assert resolution is not None
        if blocking:
            resolution.wait()
        if resolution.get_status() == ResolverStatus.RESOLVER_STATUS_WAITING:
            return False
        self._resolution = None
        if resolution.error is not None:
            raise resolution.error
        self.step = Step.TCP
        self._resolution_done = True
        if self._trace is not None:
            self._trace("connect.resolved", {"host": self._host, "addresses": resolution.addresses})
        self._start_tcp(resolution.addresses)
        return False

    def _start_tcp(self, addresses: Sequence[Address]) -> None:
        """Connect to ``addresses`` of the family ``ip_version`` allows, families interleaved."""
        version = self.target.ip_version
        if version:
            addresses = [a for a in addresses if (":" in a[0]) == (version == 6)]
            if not addresses and self._resolution_done:
                raise ResolveError(f"{self._host} has no IPv{version} address")
            if not addresses:  # an IP literal of the other family: nothing to connect to
                raise ConnectError(f"{self._host} is not an IPv{version} address")
        self._candidates = interleave(addresses)
        # With Happy Eyeballs, connect_timeout runs from the first attempt for all of them.
        self._tcp_deadline = time.monotonic() + self.connect_timeout
        self._start_attempts(time.monotonic())

    def _start_attempts(self, now: float) -> None:
        """Start the next connects that are due; fail when none is left in flight or to come.

        Sequential (no delay): the next address once the one before has failed. Racing:
        also when ``happy_eyeballs_delay`` has passed since the last one started (RFC 8305
        §5), up to `MAX_ATTEMPTS` at once.
        """
        delay = self.happy_eyeballs_delay
        while self._candidates and len(self._attempts) < MAX_ATTEMPTS:
            if self._attempts and (delay is None or now < self._next_attempt):
                break
            ip, port = self._candidates.pop(0)
            timeout = self.connect_timeout if delay is None else self._tcp_deadline - now
            tcp = StreamPeerTCP(max(0.0, timeout))
            if self._trace is not None:
                self._trace("connect.attempt", {"address": ip, "port": port})
            if tcp.connect_to_host(ip, port) == Error.OK:
                self._attempts.append(tcp)
                self._next_attempt = now + (delay or 0.0)
            else:  # refused at once (no route, ...): the next one starts at once
                self._attempt_failed(tcp)
        if not self._attempts:
            reasons = "; ".join(str(exc) for exc in self._errors) or "no address"
            last = self._errors[-1] if self._errors else None
            if self._errors and all(isinstance(e, ConnectTimeoutError) for e in self._errors):
                # Every address ran out of time (curl's 28, not 7).
                raise ConnectTimeoutError(reasons, timeout=self.connect_timeout) from last
            raise ConnectError(reasons) from last

    def _poll_tcp(self, blocking: bool) -> bool:
        if blocking:
            wait_for_fds(
                [tcp.fileno() for tcp in self._attempts],
                readable=False,
                writable=True,
                timeout=self.get_wait_timeout(),
            )
        now = time.monotonic()
        winner: StreamPeerTCP | None = None
        for tcp in list(self._attempts):
            tcp.poll()
            status = tcp.get_status()
            if status == StreamPeerTCP.STATUS_CONNECTED:
                winner = tcp
                break
            if status != StreamPeerTCP.STATUS_CONNECTING:
                self._attempts.remove(tcp)
                self._attempt_failed(tcp)
                self._next_attempt = now  # RFC 8305 §5: a failure starts the next at once
        if winner is None:
            self._start_attempts(now)
            return False
        for tcp in self._attempts:
            if tcp is not winner:
                tcp.close()  # the losers are closed at once
        self._attempts = []
        if self._trace is not None:
            address, port = winner.get_connected_host(), winner.get_connected_port()
            self._trace("connect.established", {"address": address, "port": port})
        # Heads and bodies are written whole, so Nagle's delay only adds latency.
        winner.set_no_delay(True)
        self._errors = []
        self.stream = winner
        return self._next_step(blocking)

    def _attempt_failed(self, tcp: StreamPeerTCP) -> None:
        error = tcp.get_last_error() or ConnectError("connect failed")
        self._errors.append(error)
        if self._trace is not None:
            address, port = tcp.get_connected_host(), tcp.get_connected_port()
            self._trace("connect.failed", {"address": address, "port": port, "error": error})

    def _next_step(self, blocking: bool) -> bool:
        """Start the next step over the stream built so far; True when none is left."""
        stream = self.stream
        assert stream is not None
        if not self._steps:
            self.step = Step.DONE
            return True
        self._deadline = time.monotonic() + self.connect_timeout
        step = self.step = self._steps.pop(0)
        target, proxy = self.target, self.target.proxy
        if step is Step.TUNNEL:
            assert proxy is not None
            authority = connect_authority(target.host, target.port)
            fields = [(b"Host", authority), (b"User-Agent", target.user_agent)]
            if proxy.authorization is not None:
                fields.append((b"Proxy-Authorization", proxy.authorization))
            self._tunnel = ClientConnection(self._limits)
            self._outgoing = memoryview(self._tunnel.send_request(b"CONNECT", authority, fields))
            return self._poll_tunnel(self._tunnel, blocking)
        if step is Step.PROXY_TLS:
            assert proxy is not None
            name, options = proxy.host, proxy.tls_options or TLSOptions.client()
        else:
            assert target.tls_options is not None
            name, options = target.host, target.tls_options
        self._tls = StreamPeerTLS()
        self._tls.connect_to_stream(stream, name, options)
        return self._poll_handshake(self._tls, blocking)

    def _remaining(self) -> float | None:
        return _until(self._deadline)

    def _poll_handshake(self, tls: StreamPeerTLS, blocking: bool) -> bool:
        """Drive a TLS handshake (to the proxy or the origin)."""
        status = tls.get_status()
        if status == StreamPeerTLS.STATUS_HANDSHAKING:
            remaining = self._remaining()
            if blocking and remaining != 0:
                tls.wait(readable=True, timeout=remaining)
            tls.poll()
            status = tls.get_status()
        if status == StreamPeerTLS.STATUS_CONNECTED:
            self._tls = None
            self.stream = tls
            if self._trace is not None:
                proxy = self.target.proxy if self.step is Step.PROXY_TLS else None
                name = proxy.host if proxy is not None else self.target.host
                info = {"server_name": name, "proxy": proxy is not None, **tls.get_session_info()}
                self._trace("tls.established", info)
            return self._next_step(blocking)
        if status != StreamPeerTLS.STATUS_HANDSHAKING:
            error = tls.get_last_error()
            raise (
                error
                if isinstance(error, TLSHandshakeError)
                else TLSHandshakeError(f"TLS handshake failed: {error}", reason=str(error))
            )
        if time.monotonic() >= self._deadline:
            raise TLSHandshakeTimeoutError(
                f"TLS handshake failed: no answer within {self.connect_timeout:g} s",
                timeout=self.connect_timeout,
            )
        return False

    def _poll_tunnel(self, conn: ClientConnection, blocking: bool) -> bool:
        """Open a CONNECT tunnel through the proxy; bytes after its head are TLS."""
        stream = self.stream
        assert stream is not None
        try:
            while True:
                if self._outgoing and not self._send(stream, blocking):
                    break
                event = conn.next_event()
                if event is NEED_DATA:
                    if not self._receive(conn, stream, blocking):
                        break
                elif isinstance(event, Response):
                    if conn.state is not ConnState.TUNNEL:
                        # The proxy's answer stays readable; its body is never read as TLS.
                        self.refusal = event
                        raise ConnectError(
                            f"the proxy refused the tunnel: {event.status_code} "
                            f"{event.reason.decode('latin-1')}".rstrip()
                        )
                    leftover = conn.trailing_data
                    self._tunnel = None
                    if self._trace is not None:
                        authority = connect_authority(self.target.host, self.target.port)
                        info = {"authority": authority.decode(), "status": event.status_code}
                        self._trace("tunnel.established", info)
                    self.stream = PrefixedStreamPeer(stream, leftover) if leftover else stream
                    return self._next_step(blocking)
        except (RemoteProtocolError, NetworkError) as exc:
            raise ConnectError(f"proxy failed during CONNECT: {exc}") from exc
        if time.monotonic() >= self._deadline:
            raise ConnectTimeoutError(
                f"the proxy did not answer CONNECT within {self.connect_timeout:g} s",
                timeout=self.connect_timeout,
            )
        return False

    def _send(self, stream: StreamPeer, blocking: bool) -> bool:
        """Write what the stream takes of the CONNECT request; True once it is all sent."""
        while self._outgoing:
            err, sent = stream.put_partial_data(self._outgoing)
            if err != Error.OK:
                raise stream.get_last_error() or NetworkError("send failed")
            if sent:
                self._outgoing = self._outgoing[sent:]
            elif not (
                blocking and stream.wait(readable=False, writable=True, timeout=self._remaining())
            ):
                return False
        return True

    def _receive(self, conn: ClientConnection, stream: StreamPeer, blocking: bool) -> bool:
        """Move the proxy's answer into ``conn``; False if nothing came."""
        err, data = stream.get_partial_data(16 * 1024)
        if data:
            conn.receive_data(data)
            return True
        if err == Error.ERR_FILE_EOF:
            conn.receive_data(b"")
            return True
        if err != Error.OK:
            raise stream.get_last_error() or NetworkError("receive failed")
        return blocking and stream.wait(readable=True, timeout=self._remaining())

    # -- waiting -------------------------------------------------------------------------

    def wait(self, timeout: float | None) -> bool:
        """Sleep until `poll` can make progress, or ``timeout`` passes."""
        if self._resolution is not None:
            return self._resolution.wait(timeout)
        if self._tls is not None:
            return self._tls.wait(readable=True, timeout=timeout)
        if self._tunnel is not None and self.stream is not None:
            sending = bool(self._outgoing)
            return self.stream.wait(readable=not sending, writable=sending, timeout=timeout)
        if self._attempts:
            due = self.get_wait_timeout()
            limit = due if timeout is None or (due is not None and due < timeout) else timeout
            ready = wait_for_fds(
                [tcp.fileno() for tcp in self._attempts],
                readable=False,
                writable=True,
                timeout=limit,
            )
            return ready or limit != timeout
        return True

    def get_wait_interest(self) -> Interest | None:
        """What `poll` waits for: a descriptor, the lookup's doorbell, or `READY_NOW`."""
        if self._resolution is not None:
            # The doorbell first, then the lookup's state: a lookup that ends in between
            # rings a doorbell that is already there, so the ring is never missed.
            doorbell = wakeup_fd()
            if self._resolution.get_status() != ResolverStatus.RESOLVER_STATUS_WAITING:
                return READY_NOW
            return Interest(doorbell, True, False)
        if self._attempts:
            fds = [tcp.fileno() for tcp in self._attempts]
            return Interest(fds[0], False, True, tuple(fds[1:]))
        stream = self._tls or self.stream
        if stream is None or self.step is Step.DONE:
            return None
        if stream.get_available_bytes() > 0:
            return READY_NOW  # decrypted bytes are already waiting
        sending = bool(self._outgoing) or stream.has_pending_output()
        fd = stream.fileno()
        return Interest(fd, not sending, sending) if fd >= 0 else READY_NOW

    def get_wait_timeout(self) -> float | None:
        """Seconds until `poll` must run for a connect or handshake timeout to fire."""
        if self._resolution is not None or self.step is Step.DONE:
            return None
        if self._attempts:
            deadline = min(tcp.get_connect_deadline() for tcp in self._attempts)
            racing = self.happy_eyeballs_delay is not None
            if racing and self._candidates and len(self._attempts) < MAX_ATTEMPTS:
                deadline = min(deadline, self._next_attempt)
        else:
            deadline = self._deadline
        return _until(deadline)

    def connection(self) -> StreamPeer | None:
        """The stream furthest along: the TLS session in its handshake, else the one below."""
        return self._tls or self.stream or (self._attempts[0] if self._attempts else None)

    def take_stream(self) -> StreamPeer:
        """Hand the finished stream over; the connector no longer closes it."""
        stream = self.stream
        assert self.step is Step.DONE
        assert stream is not None
        self.stream = None
        return stream

    def close(self) -> None:
        """Close every stream of an unfinished connection and forget the lookup."""
        for stream in (self._tls, self.stream, *self._attempts):
            if stream is not None:
                stream.close()
        self._tls = self.stream = None
        self._attempts = []
        self._tunnel = None
        self._resolution = None
