#!/usr/bin/env bash
# One command: set up what the benchmarks need (nginx and curl from Debian, the peers in a
# venv), then run benchmarks/run.py with the given arguments, e.g. `benchmarks/run.sh --quick`.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ] || ! command -v curl >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nginx-light curl >/dev/null
fi
venv=.venv-bench
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r benchmarks/requirements.txt
exec "$venv/bin/python" benchmarks/run.py "$@"
