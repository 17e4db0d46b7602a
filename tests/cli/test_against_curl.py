"""The command beside the real curl: the same options, the same servers, the same results.

Each row runs ``curl`` and ``pollhttp`` with the same arguments against the demo server (or
nginx, or a scripted server), each in a directory of its own, and compares the exit status,
the bytes on stdout and every file written. Only what legitimately differs is normalised:
the User-Agent and the Date header, the comment lines of a cookie file, the timings of
``%{json}``. A row with ``differs`` documents a difference on purpose (docs/cli.md says
why): it checks pollhttp's own answer instead.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.nginx import NginxServer
from tests.support.servers import Read, ScriptedServer, Send, response

from .conftest import cli_env, free_port, run_cli

CURL = shutil.which("curl")
pytestmark = pytest.mark.skipif(CURL is None, reason="curl is not installed")

WRITE_OUT = (
    "%{http_code} %{response_code} %{size_download} %{url_effective} %{num_redirects} "
    "%{content_type} %{remote_ip} %{remote_port} %{http_version} %{exitcode} %{method} "
    "%{scheme} %{num_headers} %{size_header} %{redirect_url} %{num_connects} %% "
    "%header{content-type}\\n"
)
#: The %{json} keys whose values do not depend on timing or on the client's make.
JSON_KEYS = (
    "content_type",
    "exitcode",
    "filename_effective",
    "http_code",
    "http_version",
    "method",
    "num_connects",
    "num_headers",
    "num_redirects",
    "redirect_url",
    "remote_ip",
    "remote_port",
    "response_code",
    "scheme",
    "size_download",
    "size_header",
    "size_upload",
    "url",
    "url_effective",
    "urlnum",
)
COOKIES = "# a cookie file as curl writes one\n127.0.0.1\tFALSE\t/\tFALSE\t0\tseen\tyes\n"
NETRC = "machine 127.0.0.1 login ann password s3cret\n"


@dataclass
class Row:
    """One comparison: the arguments (with {demo}, {https}, {nginx}, {scripted}, {closed})."""

    id: str
    args: list[str]
    files: dict[str, str] = field(default_factory=dict)  # written into the run's directory
    env: dict[str, str] = field(default_factory=dict)
    scripted: bytes = b""  # the response of a scripted server, if the row needs one
    json_out: bool = False  # stdout is %{json}: compare JSON_KEYS


@dataclass
class Outcome:
    """What one run left: its status, its stdout, and the files it wrote (normalised)."""

    code: int
    out: bytes
    files: dict[str, bytes]


ROWS = [
    Row("get", ["{demo}/json"]),
    Row("include", ["-i", "{demo}/json"]),
    Row("write-out", ["-s", "-o", "body", "-L", "-w", WRITE_OUT, "{demo}/redirect?to=/json"]),
    Row("write-out-no-follow", ["-s", "-o", "body", "-w", WRITE_OUT, "{demo}/redirect?to=/x"]),
    Row("write-out-failed", ["-s", "-w", "%{http_code} %{exitcode} %{size_download}", "{closed}"]),
    Row("write-out-file", ["-s", "-w", "@format", "{demo}/json"], files={"format": "%{http_code}"}),
    Row("write-out-stderr", ["-s", "-w", "a%{stderr}b%{stdout}c", "{demo}/json"]),
    Row("write-out-json", ["-s", "-o", "body", "-w", "%{json}", "{demo}/json"], json_out=True),
    Row("dump-header", ["-s", "-D", "heads", "-L", "{demo}/redirect?to=/json"]),
    Row("dump-header-stdout", ["-s", "-D", "-", "{demo}/json"]),
    Row("fail", ["-s", "-f", "{demo}/status/404"]),
    Row("fail-with-body", ["-s", "--fail-with-body", "{demo}/status/404"]),
    Row("fail-with-body-ok", ["-s", "--fail-with-body", "{demo}/json"]),
    Row(
        "get-urlencode",
        [
            "-s",
            "-G",
            "--data-urlencode",
            "q=a b&c",
            "--data-urlencode",
            "=x/y",
            "-d",
            "z=1",
            "{demo}/echo?p=1",
        ],
    ),
    Row(
        "data-urlencode",
        [
            "-s",
            "--data-urlencode",
            "name=Ann Lee+1",
            "--data-urlencode",
            "@form",
            "--data-urlencode",
            "f@form",
            "{demo}/echo",
        ],
        files={"form": "a=b c\n"},
    ),
    Row("data-missing-file", ["-s", "-d", "@missing", "{demo}/echo"]),
    Row("cookie-string", ["-s", "-b", "a=1; b=2", "{demo}/echo"]),
    Row("cookie-file", ["-s", "-b", "cookies", "{demo}/echo"], files={"cookies": COOKIES}),
    Row(
        "cookie-jar",
        ["-s", "-c", "jar", "{scripted}/set"],
        scripted=response("200 OK", ["Set-Cookie: sid=42; Path=/"], b"ok\n"),
    ),
    Row(
        "cookie-jar-kept",
        ["-s", "-b", "cookies", "-c", "jar", "{demo}/json"],
        files={"cookies": COOKIES},
    ),
    Row("range", ["-s", "-r", "0-4", "{nginx}/hello.txt"]),
    Row("range-open", ["-s", "-r", "6-", "{nginx}/hello.txt"]),
    Row("referer", ["-s", "-e", "http://from.example/page", "{demo}/echo"]),
    Row("create-dirs", ["-s", "--create-dirs", "-o", "a/b/out.json", "{demo}/json"]),
    Row("no-create-dirs", ["-s", "-o", "a/b/out.json", "{demo}/json"]),
    Row(
        "remote-header-name",
        ["-s", "-O", "-J", "{scripted}/download"],
        scripted=response(
            "200 OK", ['Content-Disposition: attachment; filename="report.txt"'], b"data\n"
        ),
    ),
    Row(
        "remote-header-name-path",
        ["-s", "-O", "-J", "{scripted}/download"],
        scripted=response(
            "200 OK", ['Content-Disposition: attachment; filename="../../x/evil.txt"'], b"x\n"
        ),
    ),
    Row("remote-name-encoded", ["-s", "-O", "{demo}/a%20b"]),
    Row("remote-name-all", ["-s", "--remote-name-all", "{demo}/json", "{demo}/gzip"]),
    Row("url", ["-s", "--url", "{demo}/json"]),
    Row(
        "noproxy",
        ["-s", "-x", "http://127.0.0.1:{closed_port}", "--noproxy", "127.0.0.1", "{demo}/json"],
    ),
    Row(
        "noproxy-star",
        ["-s", "-x", "http://127.0.0.1:{closed_port}", "--noproxy", "*", "{demo}/json"],
    ),
    Row(
        "uppercase-http-proxy",
        ["-s", "{demo}/json"],
        env={"HTTP_PROXY": "http://127.0.0.1:{closed_port}"},
    ),
    Row("oauth2-bearer", ["-s", "--oauth2-bearer", "t0ken", "{demo}/echo"]),
    Row("netrc-file", ["-s", "--netrc-file", "netrc", "{demo}/echo"], files={"netrc": NETRC}),
    Row("netrc", ["-s", "-n", "{demo}/echo"], files={".netrc": NETRC}),
    Row("netrc-missing", ["-s", "--netrc-file", "nothing", "{demo}/json"]),
    Row("tlsv1.2", ["-s", "--tlsv1.2", "--cacert", "{ca}", "{https}/json"]),
    Row("tlsv1.3", ["-s", "--tlsv1.3", "--cacert", "{ca}", "{https}/json"]),
    Row("trace-ascii", ["-s", "--trace-ascii", "trace", "-o", "body", "{demo}/json"]),
    Row("progress-bar", ["-#", "-o", "body", "{demo}/json"]),
    Row("silent-show-error", ["-s", "-S", "{closed}"]),
    Row(
        "config",
        ["-K", "config"],
        files={"config": '# options\nurl = "{demo}/json"\nsilent\n-w "\\n%{http_code}"\n'},
    ),
    Row("last-status-wins", ["-s", "-f", "{demo}/status/404", "{demo}/json"]),
    Row("last-status-fails", ["-s", "-f", "{demo}/json", "{demo}/status/404"]),
    Row("method-token", ["-s", "-X", "PROPFIND", "{demo}/echo"]),
]


@pytest.fixture(scope="module")
def nginx_url(nginx: NginxServer) -> str:
    """The shared nginx (tests/conftest.py), serving hello.txt."""
    nginx.write_file("hello.txt", b"Hello from nginx!\n")
    return f"http://127.0.0.1:{nginx.port}"


_NORMAL = [
    (re.compile(rb"(curl|pollhttp)/[0-9][\w.]*"), b"CLIENT"),
    (re.compile(rb"Date: [^\r\n\"]*"), b"Date: DATE"),
]


def _normalise(data: bytes) -> bytes:
    for pattern, replacement in _NORMAL:
        data = pattern.sub(replacement, data)
    # Percent-encoding is case-blind (RFC 3986 §2.1): curl writes %2f in a -G query.
    return re.sub(rb"%[0-9A-Fa-f]{2}", lambda m: m.group(0).upper(), data)


def _normalise_echo(data: bytes) -> bytes:
    """The demo's /echo answer with its header lines sorted: fields of different names
    may come in any order (RFC 9110 §5.3), and each client has its own."""
    try:
        document = json.loads(data)
    except ValueError:
        return data
    if isinstance(document, dict) and isinstance(document.get("headers"), list):
        document["headers"] = sorted(document["headers"])
        return json.dumps(document).encode()
    return data


def _collect(folder: Path, given: set[str]) -> dict[str, bytes]:
    found = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_file() and name not in given:
            data = _normalise(path.read_bytes())
            if name == "jar":  # the comment lines at the top are each program's own words
                data = b"".join(
                    line for line in data.splitlines(keepends=True) if not line.startswith(b"# ")
                ).strip()
            if name == "trace":  # the trace's wording is each program's own: it is there
                data = b"written" if data else b""
            found[name] = data
        elif path.is_dir() and not any(path.iterdir()):
            found[name + "/"] = b""
    return found


def _run(
    program: str,
    row: Row,
    args: list[str],
    env: dict[str, str],
    files: dict[str, str],
    folder: Path,
) -> Outcome:
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    home = {"HOME": str(folder)}  # no ~/.curlrc, and -n reads this run's .netrc
    if program == "curl":
        assert CURL is not None
        proc = subprocess.run(
            [CURL, *args],
            capture_output=True,
            cwd=folder,
            env=cli_env({**env, **home}),
            timeout=20,
            check=False,
        )
        code, out = proc.returncode, proc.stdout
    else:
        ran = run_cli(*args, env={**env, **home}, cwd=folder)
        code, out = ran.code, ran.out
    out = _normalise_echo(_normalise(out))
    if row.json_out:
        document = json.loads(out)
        out = json.dumps({key: document.get(key) for key in JSON_KEYS}, sort_keys=True).encode()
    return Outcome(code, out, _collect(folder, set(row.files)))


def _fill(text: str, values: dict[str, str]) -> str:
    """The row's placeholders replaced; -w's own %{...} stay as they are."""
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_the_same_as_curl(row: Row, demo, demo_https, ca_file, nginx_url, tmp_path) -> None:
    closed_port = free_port()
    with ScriptedServer([[Read(), Send(row.scripted)]] * 2) as scripted:
        values = {
            "demo": demo.url,
            "https": demo_https.url,
            "ca": str(ca_file),
            "nginx": nginx_url,
            "scripted": f"http://127.0.0.1:{scripted.port}",
            "closed": f"http://127.0.0.1:{closed_port}/",
            "closed_port": str(closed_port),
        }
        args = [_fill(arg, values) for arg in row.args]
        env = {key: _fill(value, values) for key, value in row.env.items()}
        files = {name: _fill(text, values) for name, text in row.files.items()}
        ours = _run("pollhttp", row, args, env, files, tmp_path / "pollhttp")
        theirs = _run("curl", row, args, env, files, tmp_path / "curl")
    assert (ours.code, ours.out, ours.files) == (theirs.code, theirs.out, theirs.files)
