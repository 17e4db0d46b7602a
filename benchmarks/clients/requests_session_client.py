"""requests with one Session made beforehand: ``session.get(url)`` for ``onecall_1000``
(issue 13's row), beside ``requests.get(url)`` (the ``requests`` client)."""

from __future__ import annotations

import requests
from _common import Config, Measurement

from clients import _shape


def onecall_1000(config: Config, m: Measurement) -> None:
    session = requests.Session()

    def call(url: str) -> tuple[int, bytes]:
        response = session.get(url)
        return response.status_code, response.content

    _shape.onecall(config, m, call, "requests.Session().get(url)")
    session.close()
