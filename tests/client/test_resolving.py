"""Resolving: the DNS cache (lifetime, sharing, clear) and resolve overrides (curl's --resolve).

The cache is driven with an injected clock and a counting resolver; overrides connect to
real servers on 127.0.0.1, over TLS too, where the certificate is still checked against the
host name.
"""

from __future__ import annotations

import threading

import pytest

from pollhttp import (
    DNSCache,
    Error,
    HTTPClient,
    InvalidParameterError,
    Resolution,
    ResolveError,
    Status,
    TLSOptions,
)
from pollhttp.transport import ResolverStatus

from ..support.polling import connect, fetch, poll_while_waiting, tcp_connection_of
from ..support.servers import Read, ScriptedServer, Send, response
from ..support.tls import TLSServer, ca_certificate, server_context

OK_SCRIPT = [Read(), Send(response(body=b"ok"))]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingResolver:
    """Answers at once with ``addresses``, or leaves the lookup pending; counts the calls."""

    def __init__(self, addresses: list[tuple[str, int]] | None = None, *, pending=False) -> None:
        self.addresses = addresses if addresses is not None else [("127.0.0.1", 80)]
        self.pending = pending
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> Resolution:
        self.calls.append((host, port))
        if self.pending:
            return Resolution()
        if not self.addresses:
            return Resolution.finished([], ResolveError(f"cannot resolve {host!r}"))
        return Resolution.finished(list(self.addresses))


# -- the cache -------------------------------------------------------------------------------


def test_an_answer_is_reused_until_its_lifetime_ends():
    clock, resolver = Clock(), CountingResolver()
    cache = DNSCache(resolver, ttl=60, clock=clock)
    first = cache("a.test", 80)
    clock.now += 59.9
    assert cache("a.test", 80) is first
    assert resolver.calls == [("a.test", 80)]
    clock.now += 0.2  # 60.1 s after the lookup: expired
    assert cache("a.test", 80) is not first
    assert resolver.calls == [("a.test", 80)] * 2


def test_hosts_and_ports_are_separate_entries_and_clear_forgets_all():
    clock, resolver = Clock(), CountingResolver()
    cache = DNSCache(resolver, clock=clock)
    cache("a.test", 80)
    cache("a.test", 443)
    cache("b.test", 80)
    assert len(cache) == 3
    cache("a.test", 80)
    assert len(resolver.calls) == 3
    cache.clear()
    assert len(cache) == 0
    cache("a.test", 80)
    assert len(resolver.calls) == 4


def test_failures_are_not_remembered():
    resolver = CountingResolver([])
    cache = DNSCache(resolver, clock=Clock())
    assert cache("gone.test", 80).get_status() == ResolverStatus.RESOLVER_STATUS_ERROR
    cache("gone.test", 80)
    assert len(resolver.calls) == 2


def test_a_lookup_under_way_is_shared_and_blocks_nobody():
    resolver = CountingResolver(pending=True)
    cache = DNSCache(resolver, clock=Clock())
    first = cache("slow.test", 80)
    assert cache("slow.test", 80) is first
    assert first.get_status() == ResolverStatus.RESOLVER_STATUS_WAITING
    # Another host gets its own lookup at once, whatever the first one is doing.
    other = cache("other.test", 80)
    assert other is not first
    assert resolver.calls == [("slow.test", 80), ("other.test", 80)]


def test_the_oldest_entry_goes_when_the_cache_is_full():
    resolver = CountingResolver()
    cache = DNSCache(resolver, clock=Clock(), max_entries=2)
    cache("a.test", 80)
    cache("b.test", 80)
    cache("c.test", 80)
    assert len(cache) == 2
    cache("b.test", 80)
    assert len(resolver.calls) == 3  # b is still there
    cache("a.test", 80)
    assert len(resolver.calls) == 4  # a was dropped


def test_clients_sharing_a_cache_look_a_host_up_once():
    with ScriptedServer([OK_SCRIPT]) as srv:
        resolver = CountingResolver([("127.0.0.1", srv.port)])
        cache = DNSCache(resolver)
        for _ in range(3):
            client = HTTPClient(resolver=cache)
            connect(client, "shared.test", srv.port)
            assert fetch(client, "/") == b"ok"
            client.close()
        assert resolver.calls == [("shared.test", srv.port)]


def test_the_cache_is_safe_across_threads():
    resolver = CountingResolver()
    cache = DNSCache(resolver, clock=Clock())
    results: list[Resolution] = []

    def lookups() -> None:
        for _ in range(200):
            results.append(cache("a.test", 80))

    threads = [threading.Thread(target=lookups) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 800
    assert len(resolver.calls) == 1
    assert len({id(r) for r in results}) == 1


# -- resolve overrides -----------------------------------------------------------------------


def test_an_override_connects_to_its_address_and_keeps_the_host_name():
    with ScriptedServer([OK_SCRIPT]) as srv:
        resolver = CountingResolver([])  # the real lookup would fail
        client = HTTPClient(resolver=resolver)
        client.resolve_overrides = {f"Example.TEST:{srv.port}": ["127.0.0.1"]}
        assert client.resolve_overrides == {f"example.test:{srv.port}": ["127.0.0.1"]}
        connect(client, "example.test", srv.port)
        assert fetch(client, "/") == b"ok"
        client.close()
        assert resolver.calls == []
        assert srv.requests[-1].startswith(
            b"GET / HTTP/1.1\r\nHost: example.test:%d\r\n" % srv.port
        )


def test_an_override_for_another_port_does_not_apply():
    resolver = CountingResolver(pending=True)
    client = HTTPClient(resolver=resolver)
    client.set_resolve_overrides({"example.test:8080": ["127.0.0.1"]})
    assert client.connect_to_host("example.test", 9090) == Error.OK
    assert client.get_status() == Status.STATUS_RESOLVING
    assert resolver.calls == [("example.test", 9090)]
    client.close()


def test_override_addresses_are_tried_in_turn():
    with ScriptedServer([OK_SCRIPT]) as srv:
        client = HTTPClient(resolver=CountingResolver([]))
        # The server listens on 127.0.0.1 only: 127.0.0.2 (loopback too) refuses.
        client.resolve_overrides = {f"multi.test:{srv.port}": ["127.0.0.2", "127.0.0.1"]}
        connect(client, "multi.test", srv.port)
        assert tcp_connection_of(client).get_connected_host() == "127.0.0.1"
        assert fetch(client, "/") == b"ok"
        client.close()


@pytest.mark.parametrize(("certified", "works"), [("tls.test", True), ("other.test", False)])
def test_over_tls_the_certificate_is_checked_against_the_host_name(ca, certified, works):
    leaf = ca.issue_cert(certified)
    with TLSServer([[Read(), Send(response(body=b"ok"))]], server_context(leaf=leaf)) as srv:
        client = HTTPClient(resolver=CountingResolver([]))
        client.connect_timeout = 5
        client.resolve_overrides = {f"tls.test:{srv.port}": ["127.0.0.1"]}
        options = TLSOptions.client(ca_certificate(ca))
        assert client.connect_to_host("tls.test", srv.port, options) == Error.OK
        poll_while_waiting(client)
        if works:
            assert client.get_status() == Status.STATUS_CONNECTED, client.get_last_error()
            assert fetch(client, "/") == b"ok"
            assert srv.server_names == ["tls.test"]  # SNI is the name, not the address
        else:
            assert client.get_status() == Status.STATUS_TLS_HANDSHAKE_ERROR
            assert "tls.test" in str(client.get_last_error())
        client.close()


@pytest.mark.parametrize(
    "overrides",
    [
        {"example.test": ["127.0.0.1"]},
        {"example.test:0": ["127.0.0.1"]},
        {"example.test:http": ["127.0.0.1"]},
        {"bad host:80": ["127.0.0.1"]},
        {"example.test:80": []},
        {"example.test:80": "127.0.0.1"},
        {"example.test:80": ["example.org"]},
        {"example.test:80": ["999.1.1.1"]},
        [("example.test:80", ["127.0.0.1"])],
        "example.test:80:127.0.0.1",
    ],
)
def test_bad_overrides_are_refused_at_once(overrides):
    client = HTTPClient()
    with pytest.raises(InvalidParameterError):
        client.resolve_overrides = overrides
    assert client.resolve_overrides == {}
