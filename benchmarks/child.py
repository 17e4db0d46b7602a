"""One client, one scenario, in a process of its own: ``child.py CLIENT SCENARIO CONFIG``.

run.py starts this (pinned to nginx's core). It imports the client's module (and so its
HTTP library) before anything is timed, runs the scenario, and prints one JSON line with
the measurement. A wrong status or a wrong byte raises, and the process exits non-zero
with the traceback on stderr: run.py reports that loudly and marks the cell FAILED.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

# The benchmarks directory itself, so that `_common` and `clients` import the same way
# whether run.py or a person starts this file.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SCENARIOS, Config, Measurement

#: Client name -> module in clients/. Names are what the tables show.
CLIENT_MODULES = {
    "pollhttp": "clients.pollhttp_client",
    "pollhttp-nb": "clients.pollhttp_nb_client",
    "http.client": "clients.stdlib_client",
    "urllib3": "clients.urllib3_client",
    "requests": "clients.requests_client",
    "requests-session": "clients.requests_session_client",
    "httpx": "clients.httpx_client",
    "httpx-async": "clients.httpx_async_client",
    "aiohttp": "clients.aiohttp_client",
    "pycurl": "clients.pycurl_client",
    "h11": "clients.h11_client",
    "raw-socket": "clients.raw_client",
    "curl-cli": "clients.curl_client",
}


#: The clients whose module imports pollhttp: run once per build (run.py ``--build``).
POLLHTTP_CLIENTS = ("pollhttp", "pollhttp-nb")

#: What each client runs: curl is a yardstick for bulk transfers only (one process per
#: transfer set, so its small-request numbers would measure process start-up).
#: ``onecall_1000`` is issue 13's row: pollhttp.get against requests.get,
#: requests.Session.get, httpx.Client.get and urllib3.request, and only those.
BULK = ("download_100m", "chunked_50m", "upload_50m")
ONECALL = "onecall_1000"
ONECALL_CLIENTS = ("pollhttp", "requests", "requests-session", "httpx", "urllib3")
CLIENT_SCENARIOS = {
    client: tuple(s for s in SCENARIOS if s != ONECALL or client in ONECALL_CLIENTS)
    for client in CLIENT_MODULES
} | {"curl-cli": BULK, "requests-session": (ONECALL,)}


def base_client(name: str) -> str:
    """``pollhttp[compiled]`` -> ``pollhttp``: a client run under another build of pollhttp."""
    return name.split("[", 1)[0]


def main(argv: list[str]) -> int:
    client, scenario, config_json = argv
    client = base_client(client)
    config = Config.from_json(config_json)
    module = importlib.import_module(CLIENT_MODULES[client])
    if scenario not in CLIENT_SCENARIOS[client]:
        raise SystemExit(f"{client} has no {scenario} scenario")
    measurement = Measurement(profile_path=config.profile_path)
    getattr(module, scenario)(config, measurement)
    print(json.dumps(measurement.result()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
