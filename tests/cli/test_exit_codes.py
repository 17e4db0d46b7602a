"""Each exit status of the command (curl's numbers), from the failure that causes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from pollhttp.cli import EXIT_CODES, main
from tests.support.servers import Close, Pause, Read, Reset, ScriptedServer, Send, response

from .conftest import cli_env, free_port, run_cli


def one_line_error(ran, code: int) -> None:
    """The command failed with ``code`` and said why in one line, curl's way."""
    assert ran.code == code, (ran.code, ran.err)
    assert ran.err.startswith(f"pollhttp: ({code}) "), ran.err
    assert ran.err.count("\n") == 1, ran.err


# -- bad usage: a one-line message, nothing sent ---------------------------------------------------

BAD_USAGE = [
    pytest.param(["--bogus", "http://127.0.0.1/"], "unrecognized arguments: --bogus", id="unknown"),
    pytest.param([], "no URL given", id="no-url"),
    pytest.param(["-X", "BR EW", "http://127.0.0.1/"], "bad method", id="method-not-a-token"),
    pytest.param(["-X", "GET /x", "http://127.0.0.1/"], "a method is a token", id="method-token"),
    pytest.param(["-H", "Bad Name: x", "http://127.0.0.1/"], "bad request", id="header-name"),
    pytest.param(["-H", "X: a\rb", "http://127.0.0.1/"], "bad request", id="header-cr"),
    pytest.param(["--connect-timeout", "soon", "http://127.0.0.1/"], "seconds", id="timeout"),
    pytest.param(["-C", "100", "-o", "f", "http://127.0.0.1/"], "only '-C -'", id="offset"),
    pytest.param(["-C", "-", "http://127.0.0.1/"], "-C - needs -o", id="resume-stdout"),
    pytest.param(["-o", "a", "-o", "b", "http://127.0.0.1/"], "more -o/-O", id="outputs"),
    pytest.param(["--key", "k.pem", "https://127.0.0.1/"], "--key needs --cert", id="key"),
    pytest.param(["--json", "{}", "-d", "a", "http://127.0.0.1/"], "--json cannot", id="json+data"),
    pytest.param(["-I", "-d", "a", "http://127.0.0.1/"], "cannot send data", id="head+data"),
    pytest.param(["--resolve", "x.test:80", "http://x.test/"], "--resolve wants", id="resolve"),
    pytest.param(["--pin", "sha256//nope", "https://127.0.0.1/"], "bad TLS option", id="pin"),
    pytest.param(["--max-redirs", "-2", "http://127.0.0.1/"], "--max-redirs", id="redirs"),
    pytest.param(["--parallel-max", "0", "-Z", "http://127.0.0.1/"], "--parallel-max", id="par"),
    pytest.param(["-H", "Bad Name:", "http://127.0.0.1/"], "bad header name", id="removed-name"),
    pytest.param(["-H", ":", "http://127.0.0.1/"], "bad request", id="header-colon-only"),
    pytest.param(["-H", "X-A;b", "http://127.0.0.1/"], "bad request", id="header-semicolon"),
]

# Odd numbers for the options that become library settings: curl's status 2, one line.
BAD_NUMBERS = [
    *(
        pytest.param([option, value], says, id=f"{option}={value}")
        for option in ("-m", "--max-time", "--connect-timeout")
        for value, says in (
            ("inf", "not a number of seconds: 'inf'"),
            ("nan", "not a number of seconds: 'nan'"),
            ("1e309", "too large a number of seconds: '1e309'"),
            ("-1", "cannot be negative: '-1'"),
            ("-0.5", "cannot be negative: '-0.5'"),
            ("0x10", "not a number of seconds: '0x10'"),
            ("1_0", "not a number of seconds: '1_0'"),
            ("5s", "not a number of seconds: '5s'"),
            ("", "not a number of seconds: ''"),
        )
    ),
    *(
        pytest.param([option, value], says, id=f"{option}={value}")
        for option in ("--max-redirs", "--max-filesize", "--parallel-max")
        for value, says in (
            ("99999999999999999999", "too large a number"),
            ("1.5", "not a whole number: '1.5'"),
            ("1_0", "not a whole number: '1_0'"),
            ("inf", "not a whole number: 'inf'"),
        )
    ),
]


@pytest.mark.parametrize(("args", "says"), BAD_NUMBERS)
def test_odd_numbers_are_bad_usage(args, says, capsys):
    assert main([*args, "http://127.0.0.1/"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"pollhttp: argument {args[0]}") or f"/{args[0]}:" in err, err
    assert says in err
    assert err.count("\n") == 1, err


@pytest.mark.parametrize("value", ["inf", "-1", "nan"])
def test_odd_max_time_in_a_process_is_one_line_and_sends_nothing(value):
    with ScriptedServer([[Read(), Send(response())]]) as server:
        ran = run_cli("--max-time", value, f"http://127.0.0.1:{server.port}/")
    assert (ran.code, ran.out) == (2, b""), ran.err
    assert ran.err.count("\n") == 1
    assert "--max-time" in ran.err
    assert server.connections == 0


@pytest.mark.parametrize(("args", "says"), BAD_USAGE)
def test_bad_usage_exits_2_with_one_line(args, says, capsys):
    # In-process (the same main() the script runs), to keep the table fast.
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("pollhttp: ")
    assert err.count("\n") == 1, err
    assert says in err


@pytest.mark.parametrize("args", [["--bogus", "x"], ["-H", "Bad Name: x", "http://127.0.0.1/"]])
def test_bad_usage_in_a_process(args):
    ran = run_cli(*args)  # run_cli also checks that no traceback was printed
    assert (ran.code, ran.out) == (2, b"")
    assert ran.err.count("\n") == 1


def test_nothing_is_sent_when_a_later_url_is_bad():
    with ScriptedServer([[Read(), Send(response())]]) as server:
        ran = run_cli(f"http://127.0.0.1:{server.port}/", "http://[::1/")
    assert ran.code == 3
    assert server.connections == 0


# -- URLs and protocols ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["ftp://127.0.0.1/file"], 1),
        (["--proxy", "socks5://127.0.0.1:1080", "http://127.0.0.1/"], 1),
        (["http://[::1/"], 3),
        (["http://127.0.0.1:99999/"], 3),
    ],
)
def test_protocol_and_url_errors(args, code):
    ran = run_cli(*args)
    assert ran.code == code
    assert ran.err.count("\n") == 1


def test_unsupported_proxy_in_the_environment_is_1():
    ran = run_cli("http://127.0.0.1/", env={"http_proxy": "socks5://127.0.0.1:1080"})
    assert ran.code == 1
    assert "socks5" in ran.err
    assert ran.err.count("\n") == 1


def test_redirect_to_another_protocol_is_1():
    moved = response("302 Found", ["Location: ftp://127.0.0.1/file"])
    with ScriptedServer([[Read(), Send(moved)]]) as server:
        ran = run_cli("-L", f"http://127.0.0.1:{server.port}/")
    one_line_error(ran, 1)
    assert "ftp://127.0.0.1/file" in ran.err


def test_redirect_to_a_malformed_location_is_3():
    # Fails until HTTPRequest turns urljoin's ValueError into RESULT_REQUEST_FAILED.
    moved = response("302 Found", ["Location: http://[bad/"])
    with ScriptedServer([[Read(), Send(moved)]]) as server:
        ran = run_cli("-L", f"http://127.0.0.1:{server.port}/")
    one_line_error(ran, 3)


# -- names and connections -------------------------------------------------------------------------


def test_unknown_host_is_6():
    ran = run_cli("http://nowhere.test/", fake_dns={})
    one_line_error(ran, 6)
    assert "nowhere.test" in ran.err


def test_unknown_proxy_host_is_5(demo):
    ran = run_cli("--proxy", "proxy.test:3128", "http://origin.test/", fake_dns={})
    one_line_error(ran, 5)
    assert "proxy.test" in ran.err


def test_names_resolve_through_the_test_resolver(demo):
    ran = run_cli(f"http://origin.test:{demo.port}/", fake_dns={"origin.test": "127.0.0.1"})
    assert (ran.code, ran.out) == (0, b"Hello from the pollhttp demo server!\n")


def test_refused_connection_is_7():
    one_line_error(run_cli(f"http://127.0.0.1:{free_port()}/"), 7)


# -- what the server sends -------------------------------------------------------------------------

SERVER_FAILURES = [
    pytest.param([Read(), Send(b"HTTP/1.1 2x0 OK\r\n\r\n")], [], 8, id="8-bad-status-line"),
    pytest.param(
        [Read(), Send(response("200 OK", [], b"x" * 100)[:-40]), Close()], [], 18, id="18-cut"
    ),
    pytest.param([Read(), Send(response("404 Not Found"))], ["--fail"], 22, id="22-fail"),
    pytest.param([Read(), Close()], [], 52, id="52-no-response"),
    pytest.param([Read(), Reset()], [], 56, id="56-reset"),
    pytest.param(
        [Read(), Send(response("200 OK", ["Content-Encoding: gzip"], b"not gzip"))],
        ["--compressed"],
        61,
        id="61-bad-gzip",
    ),
    pytest.param(
        [Read(), Send(response("200 OK", [], b"x" * 10))], ["--max-filesize", "5"], 63, id="63"
    ),
    pytest.param([Read(), Pause(5)], ["--max-time", "0.2"], 28, id="28-max-time"),
]


@pytest.mark.parametrize(("script", "args", "code"), SERVER_FAILURES)
def test_server_failures(script, args, code):
    with ScriptedServer([script]) as server:
        ran = run_cli(*args, f"http://127.0.0.1:{server.port}/")
    one_line_error(ran, code)
    assert ran.out == b""


def test_redirect_loop_is_47(demo):
    ran = run_cli("-L", f"{demo.url}/loop")
    one_line_error(ran, 47)


def test_tls_handshake_failure_is_35():
    # An https URL served by something that does not speak TLS.
    with ScriptedServer([[Send(b"HTTP/1.1 400 Bad Request\r\n\r\n"), Close()]]) as server:
        ran = run_cli(f"https://127.0.0.1:{server.port}/")
    one_line_error(ran, 35)


# -- local files -----------------------------------------------------------------------------------


def test_output_that_cannot_be_opened_is_23(demo, tmp_path):
    ran = run_cli("-o", str(tmp_path / "missing" / "file"), f"{demo.url}/")
    one_line_error(ran, 23)


def test_output_that_is_a_directory_is_23_and_leaves_no_part(demo, tmp_path):
    # Fails until HTTPRequest removes the .part when the final rename fails.
    folder = tmp_path / "folder"
    folder.mkdir()
    ran = run_cli("-o", str(folder), f"{demo.url}/json")
    one_line_error(ran, 23)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


def test_stdout_that_cannot_be_written_is_23(demo):
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    with open("/dev/full", "wb") as full:
        ran = run_cli(f"{demo.url}/large", stdout=full)
    one_line_error(ran, 23)
    assert "stdout" in ran.err


def test_remote_name_without_a_name_is_23(demo, tmp_path):
    ran = run_cli("-O", f"{demo.url}/", cwd=tmp_path)
    assert ran.code == 23
    assert list(tmp_path.iterdir()) == []


def test_unreadable_data_file_warns_and_sends_an_empty_body(demo, tmp_path):
    # As curl: a warning, and the POST goes out with nothing from that file.
    ran = run_cli("-d", f"@{tmp_path / 'missing.txt'}", f"{demo.url}/echo")
    assert ran.code == 0, ran.err
    assert "missing.txt" in ran.err
    assert "warning" in ran.err
    sent = json.loads(ran.out)
    assert (sent["method"], sent["body"]) == ("POST", "")
    assert "Content-Length: 0" in sent["headers"]


@pytest.mark.parametrize(("option", "code"), [("--cacert", 77), ("--crlfile", 82), ("--cert", 58)])
def test_unloadable_tls_files(option, code, tmp_path):
    junk = tmp_path / "junk.pem"
    junk.write_text("not PEM at all\n")
    for path in (junk, tmp_path / "missing.pem"):
        ran = run_cli(option, str(path), "https://127.0.0.1/")
        assert ran.code == code, ran.err
        assert ran.err.count("\n") == 1


def test_client_certificate_without_its_key_is_58(demo_https, tmp_path):
    cert = tmp_path / "cert.pem"
    cert.write_text(demo_https.ca.issue(client=True).cert_pem)
    ran = run_cli("--cert", str(cert), "https://127.0.0.1/")
    assert ran.code == 58
    assert "private key" in ran.err


# -- interruption ----------------------------------------------------------------------------------


def test_ctrl_c_is_130_and_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.bin"
    head = response("200 OK", [], b"x" * 1000)[:-990]
    with ScriptedServer([[Read(), Send(head), Pause(10)]]) as server:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pollhttp",
                "-o",
                str(target),
                f"http://127.0.0.1:{server.port}/",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=cli_env(),
        )
        try:
            deadline = time.monotonic() + 10
            while not (tmp_path / "out.bin.part").exists() and time.monotonic() < deadline:
                time.sleep(0.01)  # waiting for the child, which no status of ours tells
            assert (tmp_path / "out.bin.part").exists()
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 130
    assert err.decode() == "pollhttp: interrupted\n"
    assert list(tmp_path.iterdir()) == []


def test_every_exit_status_is_documented_in_help():
    text = run_cli("--help").text
    for code, meaning in EXIT_CODES.items():
        assert f"{code:>3}  {meaning}" in text
