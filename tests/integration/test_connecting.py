"""Address family and resolve overrides against nginx on 127.0.0.1, through every layer."""

from __future__ import annotations

import pytest

from pollhttp import Error, HTTPClient, HTTPRequest, Result, Session, Status

from ..request.conftest import Recorded, complete
from ..support.nginx import query
from ..support.polling import fetch, poll_while_waiting
from .conftest import Site

pytestmark = pytest.mark.nginx


def test_httpclient_with_an_override_reaches_nginx_under_the_host_name(site: Site):
    client = HTTPClient()
    client.resolve_overrides = {f"nginx.test:{site.port}": ["127.0.0.1"]}
    client.ip_version = 4
    assert client.connect_to_host("nginx.test", site.port) == Error.OK
    poll_while_waiting(client)
    assert client.get_status() == Status.STATUS_CONNECTED, client.get_last_error()
    assert fetch(client, query("/hello.txt", "override-client")) == site.hello
    client.close()
    (entry,) = site.server.tagged("override-client", 1)
    assert entry.host == f"nginx.test:{site.port}"


@pytest.mark.parametrize(("version", "result"), [(4, Result.RESULT_SUCCESS), (6, None)])
def test_httprequest_override_and_ip_version(site: Site, version: int, result):
    req = HTTPRequest()
    req.resolve_overrides = {f"nginx.test:{site.port}": ["127.0.0.1"]}
    req.ip_version = version
    run = Recorded(req)
    assert req.request(f"http://nginx.test:{site.port}/hello.txt") == Error.OK
    outcome = complete(run)
    req.close()
    if result is None:  # no IPv6 address among the overrides
        assert outcome[0] == Result.RESULT_CANT_RESOLVE
        assert "no IPv6 address" in str(req.get_last_error())
    else:
        assert (outcome[0], bytes(outcome[3])) == (result, site.hello)


def test_session_overrides_and_ip_version(site: Site):
    overrides = {f"api.nginx.test:{site.port}": ["127.0.0.1"]}
    with Session(resolve_overrides=overrides, ip_version=4) as session:
        for index in range(3):
            got = session.get(
                f"http://api.nginx.test:{site.port}" + query("/hello.txt", "override-ses", i=index)
            )
            assert got.content == site.hello
    entries = site.server.tagged("override-ses", 3)
    assert {entry.host for entry in entries} == {f"api.nginx.test:{site.port}"}
    assert len({entry.connection for entry in entries}) == 1
