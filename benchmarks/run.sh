#!/usr/bin/env bash
# One command: set up what the benchmarks need (nginx and curl from Debian, the peers in a
# venv), then run benchmarks/run.py with the given arguments, e.g. `benchmarks/run.sh --quick`.
#
#   benchmarks/run.sh --with-compiled [run.py arguments]
#
# also builds pollhttp compiled with mypyc (POLLHTTP_COMPILE=1) into benchmarks/.builds/compiled
# and runs the pollhttp clients under both builds: `pollhttp` (src/, pure Python) and
# `pollhttp[compiled]`, beside the peers. run.py stops before the first round if that build
# does not load its compiled modules (pollhttp.__compiled__).
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
builds=()
if [ "${1:-}" = "--with-compiled" ]; then
    shift
    if ! command -v cc >/dev/null 2>&1; then
        echo "--with-compiled needs a C compiler (apt-get install gcc)" >&2
        exit 1
    fi
    target=benchmarks/.builds/compiled
    rm -rf "$target"
    # The same interpreter as the peers, so the extension modules match it; --target keeps
    # the build out of the venv, where it would shadow src/ for the pure build.
    POLLHTTP_COMPILE=1 "$venv/bin/pip" install -q --disable-pip-version-check --no-deps \
        --target "$target" .
    builds=(--build pure=src --build "compiled=$target")
fi
exec "$venv/bin/python" benchmarks/run.py "${builds[@]}" "$@"
