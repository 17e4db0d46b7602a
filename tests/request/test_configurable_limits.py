"""The HTTPRequest limits that were constants are settable, and hold at their new values."""

import gzip

from pollhttp import Result

from ..support.servers import Read, ScriptedServer, Send, response

BODY = b"configurable limits"


def _coded(codings: int) -> bytes:
    data = BODY
    for _ in range(codings):
        data = gzip.compress(data)
    return data


def test_max_content_codings_at_its_boundary(make):
    names = ", ".join(["gzip"] * 3)
    served = response(headers=[f"Content-Encoding: {names}"], body=_coded(3))
    with ScriptedServer([[Read(), Send(served)]]) as server:
        url = f"http://127.0.0.1:{server.port}/"
        exact = make(max_content_codings=3)
        exact.req.request(url)
        assert exact.complete()[0::3] == (Result.RESULT_SUCCESS, BODY)
        fewer = make(max_content_codings=2)
        fewer.req.request(url)
        assert fewer.complete()[0] == Result.RESULT_BODY_DECOMPRESS_FAILED


def test_redirect_drain_limit_decides_reuse(make):
    redirect = response("302 Found", ["Location: /next"], body=b"x" * 100)
    final = response(body=BODY)
    for limit, connections in ((100, 1), (99, 2)):
        script = [Read(), Send(redirect), Read(), Send(final)]
        with ScriptedServer([script, [Read(), Send(final)]]) as server:
            run = make(redirect_drain_limit=limit)
            run.req.request(f"http://127.0.0.1:{server.port}/")
            assert run.complete()[0::3] == (Result.RESULT_SUCCESS, BODY)
            run.req.close()
        assert server.connections == connections, limit


def test_max_redirect_visits(make):
    bounce = response("302 Found", ["Location: /b"])
    back = response("302 Found", ["Location: /a"])
    final = response(body=BODY)
    script = [Read(), Send(bounce), Read(), Send(back), Read(), Send(final)]
    with ScriptedServer([script]) as server:
        strict = make(max_redirect_visits=1)
        strict.req.request(f"http://127.0.0.1:{server.port}/a")
        assert strict.complete()[0] == Result.RESULT_REDIRECT_LIMIT_REACHED
