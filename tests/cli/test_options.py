"""Each option of the command, run as a subprocess against local servers."""

from __future__ import annotations

import base64
import gzip
import json
import re
import socket
import threading

import pytest

from tests.support.servers import (
    Close,
    Pause,
    Read,
    ScriptedServer,
    Send,
    needs_ipv6,
    response,
)

from .conftest import request_lines, run_cli

OK_TEXT = response("200 OK", ["Content-Type: text/plain"], b"hello\n")


def scripted(*responses: bytes) -> ScriptedServer:
    """One connection that answers each request in turn with ``responses``."""
    steps = []
    for data in responses:
        steps += [Read(), Send(data)]
    return ScriptedServer([steps])


# -- requests --------------------------------------------------------------------------------------


def test_get_prints_the_body_and_sends_a_plain_request():
    with scripted(OK_TEXT) as server:
        ran = run_cli(f"http://127.0.0.1:{server.port}/path?q=1")
    assert (ran.code, ran.out, ran.err) == (0, b"hello\n", "")
    assert request_lines(server.requests[0]) == [
        "GET /path?q=1 HTTP/1.1",
        f"Host: 127.0.0.1:{server.port}",
        "User-Agent: pollhttp/" + __import__("pollhttp").__version__,
        "Accept: */*",
    ]


def test_a_url_without_scheme_is_http(demo):
    ran = run_cli(f"127.0.0.1:{demo.port}/")
    assert ran.code == 0
    assert ran.out == b"Hello from the pollhttp demo server!\n"


def test_request_method_header_and_data():
    with scripted(OK_TEXT) as server:
        ran = run_cli(
            "-X",
            "put",
            "-H",
            "X-One: 1",
            "-H",
            "X-Two: 2",
            "-d",
            "a=1",
            "-d",
            "b=2",
            f"http://127.0.0.1:{server.port}/thing",
        )
    assert ran.code == 0
    lines = request_lines(server.requests[0])
    assert lines[0] == "PUT /thing HTTP/1.1"
    assert lines[2:5] == [
        "X-One: 1",
        "X-Two: 2",
        "Content-Type: application/x-www-form-urlencoded",
    ]
    assert "Content-Length: 7" in lines
    assert server.requests[0].endswith(b"\r\n\r\na=1&b=2")


def test_data_makes_a_post(demo):
    ran = run_cli("-d", "x=y", f"{demo.url}/echo")
    echoed = json.loads(ran.out)
    assert (echoed["method"], echoed["body"]) == ("POST", "x=y")


def test_data_from_files_and_stdin(demo, tmp_path):
    text = tmp_path / "form.txt"
    text.write_bytes(b"one=1\r\n&two=2\n")
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x00\x01line\r\n\xff")
    url = f"{demo.url}/echo"
    stripped = json.loads(run_cli("-d", f"@{text}", url).out)
    assert stripped["body"] == "one=1&two=2"  # -d @file drops CR and LF, as curl's does
    raw = run_cli("--data-binary", f"@{binary}", "-H", "Content-Type: x/y", url)
    assert json.loads(raw.out)["body"] == b"\x00\x01line\r\n\xff".decode("utf-8", "replace")
    assert "Content-Type: x/y" in json.loads(raw.out)["headers"]
    assert json.loads(run_cli("--data-raw", "@literal", url).out)["body"] == "@literal"
    assert json.loads(run_cli("-d", "@-", url, stdin=b"from=stdin\n").out)["body"] == "from=stdin"


def test_json_sends_json_with_its_headers(demo):
    ran = run_cli("--json", '{"a": 1}', f"{demo.url}/echo")
    echoed = json.loads(ran.out)
    assert echoed["method"] == "POST"
    assert echoed["body"] == '{"a": 1}'
    assert "Content-Type: application/json" in echoed["headers"]
    assert "Accept: application/json" in echoed["headers"]


def test_user_and_user_agent(demo):
    ran = run_cli("-u", "alice:s3cret", "-A", "probe/2", f"{demo.url}/echo")
    headers = json.loads(ran.out)["headers"]
    assert "User-Agent: probe/2" in headers
    token = base64.b64encode(b"alice:s3cret").decode()
    assert f"Authorization: Basic {token}" in headers


def sent_head(*args: str) -> tuple[int, bytes, int]:
    """Run the command with ``args`` against a scripted server: status, raw request, port."""
    with scripted(OK_TEXT) as server:
        ran = run_cli(*args, f"http://127.0.0.1:{server.port}/h")
    assert ran.code == 0, ran.err
    return ran.code, server.requests[0], server.port


def test_an_empty_header_leaves_it_out_defaults_included():
    _, raw, port = sent_head("-H", "Accept:", "-H", "User-Agent: ", "-H", "X-Never:")
    # curl's rule: "Name:" with nothing after the colon removes the header, and with it
    # the value the client would have sent by itself.
    assert raw == f"GET /h HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()


def test_an_empty_header_that_is_given_again_keeps_the_given_value():
    _, raw, _ = sent_head("-H", "Accept: text/plain", "-H", "Accept:")
    assert [line for line in request_lines(raw) if line.lower().startswith("accept")] == [
        "Accept: text/plain"
    ]


def test_a_header_ending_in_a_semicolon_is_sent_empty():
    _, raw, port = sent_head("-H", "X-Empty;", "-H", "X-Kept: 1")
    # The field line holds the name and nothing else (an optional space is the writer's).
    assert re.fullmatch(
        rb"GET /h HTTP/1\.1\r\nHost: 127\.0\.0\.1:%d\r\nX-Empty: ?\r\nX-Kept: 1\r\n"
        rb"User-Agent: pollhttp/\S+\r\nAccept: \*/\*\r\n\r\n" % port,
        raw,
    ), raw


def test_an_empty_user_agent_sends_none():
    _, raw, port = sent_head("-A", "")
    assert raw == f"GET /h HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: */*\r\n\r\n".encode()


def test_an_empty_content_type_leaves_out_the_form_type():
    _, raw, _ = sent_head("-H", "Content-Type:", "-d", "a=1")
    lines = request_lines(raw)
    assert lines[0] == "POST /h HTTP/1.1"
    assert not any(line.lower().startswith("content-type") for line in lines)
    assert "Content-Length: 3" in lines
    assert raw.endswith(b"\r\n\r\na=1")


def test_user_without_a_password_sends_an_empty_one_and_never_prompts():
    # curl prompts for the password; pollhttp reads nothing from stdin and sends "ann:".
    _, raw, _ = sent_head("-u", "ann")
    token = base64.b64encode(b"ann:").decode()
    assert f"Authorization: Basic {token}" in request_lines(raw)
    _, raw, _ = sent_head("-u", "ann:")
    assert f"Authorization: Basic {token}" in request_lines(raw)


def test_get_with_data_sends_the_body():
    # RFC 9110 §9.3.1 allows content in a GET, and -X GET -d sends it, as curl does.
    _, raw, port = sent_head("-X", "GET", "-d", "x")
    assert (
        raw
        == (
            f"GET /h HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1\r\n"
            f"User-Agent: pollhttp/{__import__('pollhttp').__version__}\r\nAccept: */*\r\n\r\nx"
        ).encode()
    )


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["-H", "Accept:", "-H", "X-Empty;", "-A", ""], id="removed-and-empty"),
        pytest.param(["-X", "GET", "-d", "x=1"], id="get-with-data"),
        pytest.param(["-H", "X-Spaced:   v  "], id="spaces"),
    ],
)
def test_verbose_request_head_matches_the_wire_for_curl_header_rules(args):
    with scripted(OK_TEXT) as server:
        ran = run_cli("-v", *args, f"http://127.0.0.1:{server.port}/")
    assert ran.code == 0, ran.err
    sent = [line[2:] for line in ran.err.splitlines() if line.startswith("> ") and len(line) > 2]
    assert sent == request_lines(server.requests[0])


def test_head_shows_the_head_only(demo):
    ran = run_cli("-I", f"{demo.url}/large")
    assert ran.code == 0
    text = ran.text
    assert text.startswith("HTTP/1.1 200 OK\r\n")
    assert "Content-Length: 1048576\r\n" in text
    assert text.endswith("\r\n\r\n")  # and no body


def test_include_shows_the_head_then_the_body(demo):
    ran = run_cli("-i", f"{demo.url}/chunked")
    head, _, body = ran.out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Transfer-Encoding: chunked" in head
    assert body == b"".join(b"chunk %d\n" % i for i in range(5))


# -- redirects and encodings -----------------------------------------------------------------------


def test_redirects_are_followed_only_with_location(demo):
    url = f"{demo.url}/redirect?to=/json"
    unfollowed = run_cli("-i", url)
    assert unfollowed.code == 0
    assert unfollowed.text.startswith("HTTP/1.1 302 Found\r\n")
    assert "Location: /json" in unfollowed.text
    followed = run_cli("-L", "-i", url)
    assert followed.code == 0
    heads = re.findall(r"HTTP/1\.1 (\d+)", followed.text)
    assert heads == ["302", "200"]  # -i shows every head, as curl does
    assert followed.out.endswith(b'"frames": [1, 2, 3]}')


def test_max_redirs_limits_the_chain(demo):
    chain = f"{demo.url}/redirect?to=/redirect%3Fto%3D/json"
    assert run_cli("-L", "--max-redirs", "2", chain).code == 0
    limited = run_cli("-L", "--max-redirs", "1", chain)
    assert limited.code == 47
    assert limited.err.startswith("pollhttp: (47) ")


def test_compressed_asks_for_and_decodes_gzip(demo):
    plain = run_cli(f"{demo.url}/gzip")
    assert plain.out[:2] == b"\x1f\x8b"  # not asked for: passed on as it came
    decoded = run_cli("--compressed", f"{demo.url}/gzip")
    assert decoded.out == gzip.decompress(plain.out)
    assert decoded.out.startswith(b"pollhttp decoded this gzip body.\n")
    with scripted(OK_TEXT, OK_TEXT) as server:
        run_cli(f"http://127.0.0.1:{server.port}/")
        run_cli("--compressed", f"http://127.0.0.1:{server.port}/")
    assert not any(
        line.lower().startswith("accept-encoding") for line in request_lines(server.requests[0])
    )
    assert any(
        line.startswith("Accept-Encoding: gzip") for line in request_lines(server.requests[1])
    )


# -- output ----------------------------------------------------------------------------------------


def test_output_to_a_file(demo, tmp_path):
    target = tmp_path / "large.bin"
    ran = run_cli("-o", str(target), f"{demo.url}/large")
    assert (ran.code, ran.out) == (0, b"")
    assert target.read_bytes() == bytes(range(256)) * 4096
    assert not (tmp_path / "large.bin.part").exists()


def test_remote_name_and_dash(demo, tmp_path):
    ran = run_cli("-O", f"{demo.url}/json", "-o", "-", f"{demo.url}/", cwd=tmp_path)
    assert ran.code == 0
    assert json.loads((tmp_path / "json").read_text())["hello"] == "pollhttp"
    assert ran.out == b"Hello from the pollhttp demo server!\n"


def test_outputs_pair_with_urls_in_order(demo, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    ran = run_cli("-o", str(first), "-o", str(second), f"{demo.url}/", f"{demo.url}/json")
    assert ran.code == 0
    assert first.read_bytes().startswith(b"Hello")
    assert second.read_bytes().startswith(b'{"hello"')


def test_fail_writes_no_body(demo, tmp_path):
    ran = run_cli("--fail", f"{demo.url}/status/404")
    assert (ran.code, ran.out) == (22, b"")
    assert ran.err == "pollhttp: (22) the requested URL returned error: 404\n"
    target = tmp_path / "page"
    assert run_cli("-f", "-o", str(target), f"{demo.url}/status/503").code == 22
    assert not target.exists()
    assert not (tmp_path / "page.part").exists()
    without = run_cli(f"{demo.url}/status/404")
    assert (without.code, without.out) == (0, b"status 404\n")
    assert run_cli("--fail", f"{demo.url}/").code == 0


def test_silent_and_show_error(tmp_path):
    url = "http://127.0.0.1:1/"
    assert run_cli("-s", url).err == ""
    assert run_cli("-s", "-S", url).err.startswith("pollhttp: (7) ")
    assert run_cli("-s", url).code == 7


# -- tracing ---------------------------------------------------------------------------------------


def test_verbose_traces_statuses_and_both_heads():
    with scripted(OK_TEXT) as server:
        ran = run_cli("-v", "-H", "X-Trace: on", f"http://localhost:{server.port}/v")
    assert ran.code == 0
    trace = [line for line in ran.err.splitlines() if line.startswith("*")]
    statuses = [line.split("status ")[1] for line in trace if "status STATUS_" in line]
    assert statuses[:4] == [
        "STATUS_RESOLVING",
        "STATUS_CONNECTING",
        "STATUS_CONNECTED",
        "STATUS_REQUESTING",
    ]
    assert statuses[-1] == "STATUS_CONNECTED"
    assert all(re.match(r"\* +\d+\.\d ms  ", line) for line in trace)
    assert trace[-1].endswith("RESULT_SUCCESS, status 200, 6 bytes received")
    sent = [line[2:] for line in ran.err.splitlines() if line.startswith("> ") and len(line) > 2]
    # The head shown is the head that went out, line for line.
    assert sent == request_lines(server.requests[0])
    received = [line[2:] for line in ran.err.splitlines() if line.startswith("< ")]
    assert received == ["HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 6"]
    assert ran.out == b"hello\n"


def test_verbose_request_head_matches_the_wire_for_a_post():
    with scripted(OK_TEXT) as server:
        ran = run_cli(
            "-v", "--compressed", "-A", "ua/1", "-d", "k=v", f"http://127.0.0.1:{server.port}/p"
        )
    assert ran.code == 0
    sent = [line[2:] for line in ran.err.splitlines() if line.startswith("> ") and len(line) > 2]
    assert sent == request_lines(server.requests[0])


def test_verbose_request_head_matches_the_wire_through_a_proxy_with_credentials():
    with scripted(OK_TEXT) as proxy:
        ran = run_cli(
            "-v", "-x", f"http://p:q@127.0.0.1:{proxy.port}", "http://u:v@origin.test:81/x"
        )
    assert ran.code == 0
    sent = [line[2:] for line in ran.err.splitlines() if line.startswith("> ") and len(line) > 2]
    assert sent == request_lines(proxy.requests[0])
    assert "Authorization: Basic dTp2" in sent


def test_verbose_request_head_matches_the_wire_when_resuming(tmp_path):
    (tmp_path / "f.part").write_bytes(b"abc")
    (tmp_path / "f.part.validator").write_text('"v9"')
    rest = response("206 Partial Content", ["Content-Range: bytes 3-5/6"], b"def")
    with scripted(rest) as server:
        ran = run_cli(
            "-v", "-C", "-", "-o", str(tmp_path / "f"), f"http://127.0.0.1:{server.port}/"
        )
    assert ran.code == 0
    sent = [line[2:] for line in ran.err.splitlines() if line.startswith("> ") and len(line) > 2]
    assert sent == request_lines(server.requests[0])
    assert 'If-Range: "v9"' in sent
    assert (tmp_path / "f").read_bytes() == b"abcdef"


def test_timing_reports_each_phase(demo, demo_https, ca_file, tmp_path):
    # Into the test's own folder: as root, a download renamed over /dev/null replaced it.
    ran = run_cli("--timing", "-o", str(tmp_path / "json"), f"{demo.url}/json")
    match = re.fullmatch(
        r"timing: resolve (\S+)s connect (\S+)s tls - first_byte (\S+)s total (\S+)s \S+\n",
        ran.err,
    )
    assert match, ran.err
    values = [float(v) for v in match.groups()]
    assert values == sorted(values)
    assert (tmp_path / "json").read_bytes().startswith(b'{"hello"')
    secure = run_cli("--timing", "--cacert", str(ca_file), f"{demo_https.url}/json")
    match = re.search(
        r"resolve (\S+)s connect (\S+)s tls (\S+)s first_byte (\S+)s total (\S+)s", secure.err
    )
    assert match, secure.err
    values = [float(v) for v in match.groups()]
    assert values == sorted(values)
    assert values[2] > values[1]  # the handshake takes time after the TCP connect


# -- connections -----------------------------------------------------------------------------------


def test_serial_urls_reuse_one_connection():
    with scripted(OK_TEXT, OK_TEXT) as server:
        url = f"http://127.0.0.1:{server.port}/"
        ran = run_cli(url, url)
    assert (ran.code, ran.out) == (0, b"hello\nhello\n")
    assert server.connections == 1


def test_resolve_maps_a_name_without_dns():
    with scripted(OK_TEXT) as server:
        ran = run_cli(
            "--resolve",
            f"origin.test:{server.port}:127.0.0.1",
            f"http://origin.test:{server.port}/",
        )
    assert ran.code == 0
    assert f"Host: origin.test:{server.port}" in request_lines(server.requests[0])


def test_ipv4_only_reaches_an_ipv4_server():
    with scripted(OK_TEXT) as server:
        for option in ("-4", "--ipv4"):
            ran = run_cli(option, f"http://127.0.0.1:{server.port}/four")
            assert (ran.code, ran.out) == (0, b"hello\n"), ran.err
    assert [request_lines(raw)[0] for raw in server.requests] == ["GET /four HTTP/1.1"] * 2


@pytest.mark.parametrize(
    ("option", "host"), [("-6", "127.0.0.1"), ("--ipv6", "127.0.0.1"), ("-4", "[::1]")]
)
def test_an_ip_literal_of_the_other_family_cannot_connect(option, host):
    # curl 7.88: -6 http://127.0.0.1/ is "(7) Couldn't connect": nothing was looked up.
    with scripted(OK_TEXT) as server:
        ran = run_cli(option, f"http://{host}:{server.port}/")
    assert ran.code == 7, ran.err
    assert ran.err.startswith("pollhttp: (7) ")
    assert server.connections == 0


def test_ip_version_applies_to_resolve_addresses():
    with scripted(OK_TEXT) as server:
        url = f"http://origin.test:{server.port}/"
        only_v4 = run_cli("-6", "--resolve", f"origin.test:{server.port}:127.0.0.1", url)
        assert only_v4.code == 6, only_v4.err
        assert server.connections == 0
        both = run_cli("-4", "--resolve", f"origin.test:{server.port}:::1,127.0.0.1", "-v", url)
    assert both.code == 0, both.err
    assert f"connected to 127.0.0.1 port {server.port}" in both.err
    assert server.connections == 1


@needs_ipv6
def test_ipv6_only_reaches_an_ipv6_server():
    with ScriptedServer([[Read(), Send(OK_TEXT)]], host="::1") as server:
        ran = run_cli("-6", "-v", f"http://[::1]:{server.port}/six")
    assert (ran.code, ran.out) == (0, b"hello\n"), ran.err
    assert f"connected to ::1 port {server.port}" in ran.err
    assert request_lines(server.requests[0])[:2] == [
        "GET /six HTTP/1.1",
        f"Host: [::1]:{server.port}",
    ]


def test_the_last_of_ipv4_and_ipv6_wins():
    # As in curl: -4 and -6 set one setting, so the later one counts.
    with scripted(OK_TEXT) as server:
        ran = run_cli("-6", "-4", f"http://127.0.0.1:{server.port}/")
        assert ran.code == 0, ran.err
        later = run_cli("-4", "-6", f"http://127.0.0.1:{server.port}/")
    assert later.code == 7, later.err
    assert server.connections == 1


def test_negative_numbers_stay_values_beside_ipv4_and_ipv6(demo):
    # Options named -4 and -6 must not turn "-1" into an option name.
    chain = f"{demo.url}/redirect?to=/json"
    ran = run_cli("-L", "--max-redirs", "-1", "-4", chain)
    assert ran.code == 0, ran.err
    assert ran.out.endswith(b'"frames": [1, 2, 3]}')


def test_huge_timeouts_mean_no_limit(demo):
    # Finite but beyond any clock: accepted, as curl does, and no overflow mid-transfer.
    slow = f"{demo.url}/slow?size=3000&chunks=3&delay=0.05"
    for option in ("--max-time", "--connect-timeout"):
        ran = run_cli(option, "1e308", slow)
        assert (ran.code, len(ran.out)) == (0, 3000), ran.err


def test_max_filesize():
    with scripted(response("200 OK", [], b"x" * 100)) as server:
        url = f"http://127.0.0.1:{server.port}/"
        assert run_cli("--max-filesize", "100", url).code == 0
    with scripted(response("200 OK", [], b"x" * 100)) as server:
        ran = run_cli("--max-filesize", "99", f"http://127.0.0.1:{server.port}/")
    assert ran.code == 63
    assert ran.out == b""


def test_max_time_bounds_the_transfer():
    with ScriptedServer([[Read(), Pause(5)]]) as server:
        ran = run_cli("--max-time", "0.3", f"http://127.0.0.1:{server.port}/", timeout=10)
    assert ran.code == 28
    assert "within 0.3 s" in ran.err


def test_connect_timeout_bounds_the_tls_handshake():
    # The server accepts the connection and never answers the ClientHello.
    with ScriptedServer([[Pause(5)]]) as server:
        ran = run_cli("--connect-timeout", "0.3", f"https://127.0.0.1:{server.port}/", timeout=10)
    assert ran.code == 28
    assert "0.3 s" in ran.err


def test_resume_continues_a_partial_download(tmp_path):
    body = bytes(range(100))
    target = tmp_path / "file.bin"
    cut = response("200 OK", ['ETag: "v1"'], body)[: -len(body) + 40]
    with ScriptedServer([[Read(), Send(cut), Close()]]) as server:
        first = run_cli("-C", "-", "-o", str(target), f"http://127.0.0.1:{server.port}/f")
    assert first.code == 18  # cut short
    assert (tmp_path / "file.bin.part").read_bytes() == body[:40]
    rest = response(
        "206 Partial Content", ['ETag: "v1"', "Content-Range: bytes 40-99/100"], body[40:]
    )
    with scripted(rest) as server:
        second = run_cli("-C", "-", "-o", str(target), f"http://127.0.0.1:{server.port}/f")
    assert second.code == 0
    lines = request_lines(server.requests[0])
    assert "Range: bytes=40-" in lines
    assert 'If-Range: "v1"' in lines
    assert target.read_bytes() == body
    assert not (tmp_path / "file.bin.part").exists()


def test_without_resume_a_cut_download_leaves_nothing(tmp_path):
    body = bytes(100)
    cut = response("200 OK", [], body)[:-60]
    target = tmp_path / "file.bin"
    with ScriptedServer([[Read(), Send(cut), Close()]]) as server:
        ran = run_cli("-o", str(target), f"http://127.0.0.1:{server.port}/")
    assert ran.code == 18
    assert list(tmp_path.iterdir()) == []


# -- proxies ---------------------------------------------------------------------------------------


def test_proxy_with_credentials_gets_the_absolute_url():
    with scripted(OK_TEXT) as proxy:
        ran = run_cli(
            "--proxy",
            f"127.0.0.1:{proxy.port}",
            "--proxy-user",
            "bob:pw",
            "http://origin.test:8080/via?x=1",
        )
    assert (ran.code, ran.out) == (0, b"hello\n")
    lines = request_lines(proxy.requests[0])
    assert lines[0] == "GET http://origin.test:8080/via?x=1 HTTP/1.1"
    assert "Host: origin.test:8080" in lines
    assert "Proxy-Authorization: Basic " + base64.b64encode(b"bob:pw").decode() in lines


def test_proxy_credentials_in_the_proxy_url():
    with scripted(OK_TEXT) as proxy:
        ran = run_cli("-x", f"http://ann:x%40y@127.0.0.1:{proxy.port}", "http://origin.test/")
    assert ran.code == 0
    token = base64.b64encode(b"ann:x@y").decode()
    assert f"Proxy-Authorization: Basic {token}" in request_lines(proxy.requests[0])


def test_https_through_a_proxy_uses_connect():
    refused = response("407 Proxy Authentication Required", [], b"")
    with ScriptedServer([[Read(), Send(refused), Close()]]) as proxy:
        ran = run_cli("--proxy", f"127.0.0.1:{proxy.port}", "https://origin.test/")
    assert ran.code == 7
    assert "407" in ran.err
    assert request_lines(proxy.requests[0])[0] == "CONNECT origin.test:443 HTTP/1.1"


def test_environment_proxies_and_their_opt_out(demo):
    with scripted(OK_TEXT) as proxy:
        env = {"http_proxy": f"http://127.0.0.1:{proxy.port}"}
        via = run_cli("http://origin.test/env", env=env)
        assert via.out == b"hello\n"
        assert request_lines(proxy.requests[0])[0] == "GET http://origin.test/env HTTP/1.1"
        direct = run_cli("--proxy", "", f"{demo.url}/", env=env)
        assert direct.out.startswith(b"Hello from")
        bypass = run_cli(f"{demo.url}/", env={**env, "no_proxy": "127.0.0.1"})
        assert bypass.out.startswith(b"Hello from")
    assert len(proxy.requests) == 1


# -- parallel --------------------------------------------------------------------------------------


def test_parallel_outputs_keep_the_url_order(demo):
    urls = [f"{demo.url}/slow?size=3000&chunks=3&delay=0.1", f"{demo.url}/", f"{demo.url}/json"]
    ran = run_cli("-Z", *urls)
    assert ran.code == 0
    piece = (bytes(range(256)) * 4)[:1000]  # /slow sends the same 1000 bytes three times
    assert ran.out[:3000] == piece * 3
    assert ran.out[3000:].startswith(b"Hello from")
    assert ran.out.endswith(b'"frames": [1, 2, 3]}')


@pytest.mark.parametrize("parallel", [True, False])
def test_parallel_transfers_are_in_flight_together(parallel):
    barrier = threading.Barrier(2, timeout=5)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    answered = []

    def serve_one() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                piece = conn.recv(4096)
                if not piece:
                    return
                data += piece
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                return
            conn.sendall(response("200 OK", ["Connection: close"], b"met\n"))
            answered.append(1)

    listener.settimeout(5)
    threads = [threading.Thread(target=serve_one, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        url = f"http://127.0.0.1:{port}/"
        args = ["-Z", url, url] if parallel else ["--max-time", "0.5", url, url]
        ran = run_cli(*args, timeout=15)
    finally:
        barrier.abort()
        for thread in threads:
            thread.join(6)
        listener.close()
    if parallel:
        assert (ran.code, ran.out) == (0, b"met\nmet\n")
        assert answered == [1, 1]
    else:
        # One at a time, the first request waits for a second that comes only after it;
        # the second then succeeds, and (as curl's) the status is the last transfer's.
        assert (ran.code, ran.out) == (0, b"met\n")
        assert "(28)" in ran.err
        assert "no complete response within 0.5 s" in ran.err


def test_parallel_max_one_is_serial(demo):
    urls = [f"{demo.url}/", f"{demo.url}/json"]
    ran = run_cli("-Z", "--parallel-max", "1", "-v", *urls)
    assert ran.code == 0
    results = [line for line in ran.err.splitlines() if "RESULT_SUCCESS" in line]
    assert [line[:3] for line in results] == ["[1]", "[2]"]
    # [2] starts only after [1] has finished.
    assert ran.err.index("[2] *") > ran.err.index("RESULT_SUCCESS")


# -- help and version ------------------------------------------------------------------------------


def test_help_lists_the_exit_statuses():
    ran = run_cli("--help")
    assert ran.code == 0
    assert "usage: pollhttp [options] URL..." in ran.text
    assert " 47  too many redirects" in ran.text
    version = run_cli("--version")
    assert version.text == f"pollhttp {__import__('pollhttp').__version__}\n"


def test_an_option_without_its_value_is_one_line():
    ran = run_cli("-X")
    assert ran.code == 2
    assert ran.err.count("\n") == 1
