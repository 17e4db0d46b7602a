"""Benchmark pollhttp against the Python HTTP clients, a raw-socket loop and curl.

    python benchmarks/run.py [--rounds N] [--scenarios a,b] [--clients a,b] [--quick]
                             [--build pure=src --build compiled=DIR] [--smoke]

Starts nginx on 127.0.0.1 (see _nginx.py), runs every client for every scenario in a
process of its own (child.py), pinned to the CPU of nginx's one worker, interleaved over
rounds, and writes benchmarks/results.json, docs/benchmarks.md, docs/benchmarks.png and
the README's table (between its markers), but only from a run the guard accepts: the load
average low enough at the start and the end, every scenario's rounds within the allowed
spread (see `_report.guard`). A refused run prints its numbers and why it was refused, and
saves its results to results.refused.json, never over the published ones.
``--build NAME=PATH`` (repeatable) runs the pollhttp clients once per build of pollhttp
(an import root such as ``src`` or a ``pip install --target`` directory, or a venv's
python), so the pure and the compiled builds appear side by side with the peers.
``--report-only results.json`` rewrites the report from saved results (an accepted run
only); ``--profile pollhttp:seq_small`` prints a cProfile of the timed part of one client
and scenario; ``--smoke`` checks the plumbing in a few seconds and publishes nothing.
README.md beside this file says what to install.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import pstats
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import _report  # noqa: E402
from _common import SCENARIOS, UPLOAD_SIZE, Config  # noqa: E402
from _nginx import BenchNginx, write_pattern_file  # noqa: E402
from child import (  # noqa: E402
    CLIENT_MODULES,
    CLIENT_SCENARIOS,
    POLLHTTP_CLIENTS,
    base_client,
)

#: Client name -> the module it needs (checked before the run, never installed by it).
REQUIREMENTS = {
    "urllib3": "urllib3",
    "requests": "requests",
    "requests-session": "requests",
    "httpx": "httpx",
    "httpx-async": "httpx",
    "aiohttp": "aiohttp",
    "pycurl": "pycurl",
    "h11": "h11",
}
#: Packages whose versions the report lists.
PACKAGES = ("urllib3", "requests", "httpx", "httpcore", "h11", "anyio", "aiohttp", "pycurl")


class Pinning:
    """Runs processes on one CPU: ``taskset -c N`` if there is taskset, else
    ``os.sched_setaffinity`` in the child, else nothing (recorded in the report)."""

    def __init__(self, cpu: int | None) -> None:
        self.cpu = cpu
        if cpu is None:
            self.mode = "none"
        elif shutil.which("taskset"):
            self.mode = "taskset"
        elif hasattr(os, "sched_setaffinity"):
            self.mode = "sched_setaffinity"
        else:
            self.mode = "none (no taskset, no sched_setaffinity)"

    def wrap(self, command: list[str]) -> list[str]:
        if self.mode == "taskset":
            return ["taskset", "-c", str(self.cpu), *command]
        return command

    @property
    def preexec_fn(self) -> Callable[[], None] | None:
        if self.mode == "sched_setaffinity":
            cpu = self.cpu
            return lambda: os.sched_setaffinity(0, {cpu})  # type: ignore[arg-type]
        return None

    def describe(self) -> str:
        if self.cpu is None or self.mode.startswith("none"):
            return f"no pinning ({self.mode})"
        return f"nginx and every client process on CPU {self.cpu} ({self.mode})"


@dataclass
class Build:
    """One build of pollhttp that the pollhttp clients run under.

    ``root`` is a directory put first on PYTHONPATH (``src`` of this checkout, or a
    ``pip install --target`` directory holding a compiled build), run with this
    interpreter; or ``python`` is another interpreter (a venv's) with pollhttp installed,
    run with no PYTHONPATH of ours. The first build's clients keep their plain names
    (``pollhttp``); the others' are ``pollhttp[NAME]``.
    """

    name: str
    root: Path | None
    python: str
    #: Filled in by `probe_build`: version, file, whether the compiled modules are loaded.
    info: dict[str, object] | None = None

    def client(self, base: str, first: bool) -> str:
        return base if first else f"{base}[{self.name}]"

    def describe(self) -> str:
        where = f"PYTHONPATH={self.root}" if self.root is not None else self.python
        return f"{self.name} ({where})"


def parse_build(text: str) -> Build:
    name, sep, path = text.partition("=")
    if not sep or not name or not path or "[" in name or "]" in name:
        raise SystemExit(f"--build wants NAME=PATH (a directory or a python), not {text!r}")
    target = Path(path).expanduser()
    if not target.is_absolute():
        target = (REPO / target) if (REPO / target).exists() else target.resolve()
    if target.is_dir():
        return Build(name, target, sys.executable)
    if target.is_file() and os.access(target, os.X_OK):
        return Build(name, None, str(target))
    raise SystemExit(f"--build {text}: {target} is neither a directory nor an executable")


#: The build of this checkout's source, as the harness has always run it.
PURE = Build("pure", REPO / "src", sys.executable)


def child_env(build: Build | None = None) -> dict[str, str]:
    """A client process's environment: pollhttp comes from ``build`` (default: src/).

    Peers run under PURE too: they never import pollhttp, and the same interpreter.
    """
    build = build or PURE
    env = dict(os.environ)
    paths = list(filter(None, env.get("PYTHONPATH", "").split(os.pathsep)))
    # A build from another interpreter must not see src/ (nor any other pollhttp).
    paths = [p for p in paths if Path(p).resolve() != (REPO / "src").resolve()]
    if build.root is not None:
        paths.insert(0, str(build.root))
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    else:
        env.pop("PYTHONPATH", None)
    return env


_PROBE = (
    "import json, pollhttp; print(json.dumps({'version': pollhttp.__version__, "
    "'file': pollhttp.__file__, 'compiled': bool(getattr(pollhttp, '__compiled__', False))}))"
)


def probe_build(build: Build) -> dict[str, object]:
    """What ``import pollhttp`` gives under ``build``; stops the run if it is not the one named.

    A build whose name says ``compiled`` must load the compiled modules
    (``pollhttp.__compiled__``), and one named ``pure`` must not: a compiled build that
    quietly fell back to the pure one would be published as compiled.
    """
    out = subprocess.run(
        [build.python, "-c", _PROBE],
        env=child_env(build),
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"build {build.describe()}: import pollhttp failed:\n{out.stderr}")
    info: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    file = Path(str(info["file"])).resolve()
    if build.root is not None and build.root.resolve() not in file.parents:
        raise SystemExit(f"build {build.describe()} imports pollhttp from {file}, not its root")
    if "compiled" in build.name and not info["compiled"]:
        raise SystemExit(
            f"build {build.describe()} is named compiled, but pollhttp.__compiled__ is not "
            f"True there ({file}): build it with POLLHTTP_COMPILE=1 (see benchmarks/README.md)"
        )
    if build.name == "pure" and info["compiled"]:
        raise SystemExit(f"build {build.describe()} is named pure, but loads compiled modules")
    build.info = info
    return info


def expand_clients(clients: list[str], builds: list[Build]) -> dict[str, Build]:
    """Client name -> the build it runs under: the pollhttp clients once per build."""
    out: dict[str, Build] = {}
    for client in clients:
        if client in POLLHTTP_CLIENTS:
            for i, build in enumerate(builds):
                out[build.client(client, first=i == 0)] = build
        else:
            out[client] = PURE
    return out


def run_child(
    client: str,
    scenario: str,
    config: Config,
    pin: Pinning,
    *,
    build: Build | None = None,
    timeout: float = 600,
) -> dict[str, object]:
    build = build or PURE
    command = pin.wrap([build.python, str(HERE / "child.py"), client, scenario, config.to_json()])
    started = time.perf_counter()
    try:
        out = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=child_env(build),
            timeout=timeout,
            check=False,
            preexec_fn=pin.preexec_fn,
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout:g} s"}
    wall = time.perf_counter() - started
    if out.returncode != 0:
        error = (out.stderr.strip() or out.stdout.strip())[-3000:]
        return {"ok": False, "error": error or f"exit code {out.returncode}"}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(ok=True, wall=wall)
    return result


def configure(args: argparse.Namespace, server: BenchNginx, upload_file: Path) -> Config:
    config = Config(
        port=server.port,
        tls_port=server.tls_port,
        ca_path=str(server.ca_path),
        upload_file=str(upload_file),
    )
    config.has_status = server.has_status
    if args.quick:
        config.seq_n, config.conc_requests, config.onecall_n = 500, 5, 200
        config.download_n = config.chunked_n = config.upload_n = 1
    if args.smoke:
        config.seq_n = config.onecall_n = 20
        config.conc_connections, config.conc_requests = 4, 3
        config.download_n = config.chunked_n = config.upload_n = 1
    return config


def measure_imports(pin: Pinning, runs: int, builds: list[Build]) -> dict[str, dict[str, float]]:
    """``import pollhttp`` (each build) vs ``import urllib3``: -X importtime and process time.

    Keys: ``pollhttp`` (the first build), ``pollhttp[NAME]`` (the others), ``urllib3``.
    """
    # (label, module, build): the bare interpreter ("" label) of each python in use.
    subjects = [(b.client("pollhttp", first=i == 0), "pollhttp", b) for i, b in enumerate(builds)]
    subjects.append(("urllib3", "urllib3", PURE))
    pythons = {b.python: b for _, _, b in subjects}
    importtime: dict[str, list[float]] = {label: [] for label, _, _ in subjects}
    wall: dict[str, list[float]] = {label: [] for label, _, _ in subjects}
    bare: dict[str, list[float]] = {python: [] for python in pythons}
    for _ in range(runs):
        for python, build in pythons.items():
            start = time.perf_counter()
            subprocess.run(
                pin.wrap([python, "-c", "pass"]),
                env=child_env(build),
                check=True,
                preexec_fn=pin.preexec_fn,
            )
            bare[python].append(time.perf_counter() - start)
        for label, module, build in subjects:
            code = f"import {module}"
            env = child_env(build)
            start = time.perf_counter()
            subprocess.run(
                pin.wrap([build.python, "-c", code]),
                env=env,
                check=True,
                preexec_fn=pin.preexec_fn,
            )
            wall[label].append(time.perf_counter() - start)
            out = subprocess.run(
                pin.wrap([build.python, "-X", "importtime", "-c", code]),
                env=env,
                capture_output=True,
                text=True,
                check=True,
                preexec_fn=pin.preexec_fn,
            )
            for line in out.stderr.splitlines():
                fields = line.split("|")
                if len(fields) == 3 and fields[2].strip() == module:
                    importtime[label].append(int(fields[1]) / 1e6)
    result = {}
    for label, _, build in subjects:
        base = statistics.median(bare[build.python])
        result[label] = {
            "importtime_s": statistics.median(importtime[label]),
            "process_s": statistics.median(wall[label]),
            "process_minus_bare_s": statistics.median(wall[label]) - base,
            "bare_interpreter_s": base,
            "runs": runs,
        }
    return result


def versions(server: BenchNginx, builds: list[Build]) -> dict[str, str]:
    found = {"python": platform.python_version(), "nginx": server.version}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    for i, build in enumerate(builds):
        info = build.info or probe_build(build)
        kind = "compiled" if info["compiled"] else "pure Python"
        label = build.client("pollhttp", first=i == 0)
        found[label] = f"{info['version']} {kind} ({info['file']})"
    commit = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    found["pollhttp commit"] = commit or "unknown"
    curl = shutil.which("curl")
    if curl:
        found["curl"] = subprocess.run(
            [curl, "--version"], capture_output=True, text=True, check=False
        ).stdout.split()[1]
    return found


def machine() -> dict[str, object]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
    }


def loadavg() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (None where the system has none)."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def _load_text(load: list[float] | None) -> str:
    return " ".join(f"{value:.2f}" for value in load) if load else "unknown"


def machine_busy_seconds() -> float | None:
    """CPU seconds every CPU of the machine has spent busy (not idle) since boot."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    # cpu user nice system idle iowait irq softirq steal ...: steal counts as busy (it is
    # time another guest took), idle and iowait do not.
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pids: list[int]) -> float:
    """User and system CPU seconds of live processes (nginx's), from /proc."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def harness_cpu_seconds(nginx_pids: list[int]) -> float:
    """CPU seconds of this process, the client processes it waited for, and nginx."""
    mine = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (
        mine.ru_utime
        + mine.ru_stime
        + children.ru_utime
        + children.ru_stime
        + process_cpu_seconds(nginx_pids)
    )


def missing_libraries(clients: list[str]) -> dict[str, str]:
    missing = {}
    for client in clients:
        module = REQUIREMENTS.get(client)
        if module and importlib.util.find_spec(module) is None:
            missing[client] = module
    if "curl-cli" in clients and not shutil.which("curl"):
        missing["curl-cli"] = "curl (apt-get install curl)"
    return missing


def profile(
    specs: list[str], config: Config, pin: Pinning, directory: Path, builds: dict[str, Build]
) -> None:
    """Run each CLIENT:SCENARIO once under cProfile and print where its time goes."""
    directory.mkdir(parents=True, exist_ok=True)
    for spec in specs:
        client, scenario = spec.split(":", 1)
        if client not in builds:
            raise SystemExit(f"--profile {spec}: no client {client!r} in this run")
        path = directory / f"{client}-{scenario}.pstats"
        config.profile_path = str(path)
        result = run_child(client, scenario, config, pin, build=builds[client])
        config.profile_path = ""
        if not result["ok"]:
            raise SystemExit(f"{spec} failed:\n{result['error']}")
        print(f"\n=== cProfile of {spec}: {result['seconds']:.3f} s timed (with the profiler) ===")
        print(f"stats saved in {path}")
        stats = pstats.Stats(str(path))
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(20)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 5; 1 quick)")
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help="comma-separated (default: all)"
    )
    parser.add_argument(
        "--clients", default=",".join(CLIENT_MODULES), help="comma-separated (default: all)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller runs (500 requests, 64x5, one transfer)"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="check the plumbing: 2 rounds of tiny runs (20 requests, 4x3), results to the "
        "temp directory, nothing published",
    )
    parser.add_argument(
        "--build",
        action="append",
        default=[],
        type=parse_build,
        metavar="NAME=PATH",
        help="a build of pollhttp for the pollhttp clients (repeatable): PATH is an import "
        "root (src, or a pip --target directory) or a python with pollhttp installed. "
        "Default: pure=src. A name containing 'compiled' must load the compiled modules.",
    )
    parser.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: last)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes")
    parser.add_argument("--import-runs", type=int, default=None, help="default 20 (5 quick)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the client order")
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="default: benchmarks/results.json for an accepted run, "
        "benchmarks/results.refused.json for a refused one (smoke: the temp directory)",
    )
    parser.add_argument("--markdown", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--plot", type=Path, default=REPO / "docs" / "benchmarks.png")
    parser.add_argument(
        "--readme",
        type=Path,
        default=REPO / "README.md",
        help=f"its table between {_report.README_START} and {_report.README_END} is replaced",
    )
    parser.add_argument("--report-only", type=Path, metavar="RESULTS_JSON")
    parser.add_argument(
        "--max-load",
        type=float,
        default=_report.MAX_LOAD_PER_CORE,
        help="the guard: most load average per core at the start and the end (default %(default)s)",
    )
    parser.add_argument(
        "--max-spread",
        type=float,
        default=_report.MAX_SPREAD,
        help="the guard: most (max - min) / median of any scenario's rounds for any client "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--spread-scope",
        choices=("all", "judged"),
        default="all",
        help="whose spread the guard judges: every client (default), or only those the "
        "targets are judged on (pollhttp builds, pycurl, raw-socket)",
    )
    parser.add_argument(
        "--profile", action="append", default=[], metavar="CLIENT:SCENARIO", help="repeatable"
    )
    parser.add_argument("--profile-dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--skip-missing", action="store_true", help="leave out missing clients")
    args = parser.parse_args(argv)
    if args.smoke:
        args.quick = False
        if args.rounds is None:
            args.rounds = 2
        if args.import_runs is None:
            args.import_runs = 2
    if args.rounds is None:
        args.rounds = 1 if args.quick else 5
    if args.import_runs is None:
        args.import_runs = 5 if args.quick else 20
    builds = args.build or [PURE]
    names = [b.name for b in builds]
    if len(set(names)) != len(names):
        raise SystemExit(f"--build names must differ: {names}")
    args.build = builds
    return args


def publish(
    data: dict[str, object], args: argparse.Namespace, *, results_written: Path | None
) -> None:
    """Write the Markdown, the plot and the README's table: an accepted run only."""
    _report.write(data, args.markdown, args.plot)
    written = [str(args.markdown), str(args.plot)]
    if _report.write_readme_table(data, args.readme):
        written.append(f"the table in {args.readme}")
    else:
        print(
            f"\n{args.readme} has no {_report.README_START} ... {_report.README_END} markers: "
            "its table was not written; here it is:\n"
        )
        print(_report.readme_table(data))
    if results_written is not None:
        written.insert(0, str(results_written))
    print("\nwrote " + ", ".join(written))


def refuse(verdict: dict[str, object]) -> None:
    print("\nREFUSED: nothing published (docs/benchmarks.md, the plot, the README table):")
    for reason in verdict["reasons"]:  # type: ignore[attr-defined]
        print(f"  - {reason}")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.report_only:
        data = json.loads(args.report_only.read_text())
        verdict = _report.guard(data, args.max_load, args.max_spread, scope=args.spread_scope)
        data["guard"] = verdict
        print(_report.console_summary(data))
        if not verdict["accepted"]:
            refuse(verdict)
            return 2
        publish(data, args, results_written=None)
        return 0
    scenarios = [s for s in args.scenarios.split(",") if s]
    clients = [c for c in args.clients.split(",") if c]
    unknown = [s for s in scenarios if s not in SCENARIOS] + [
        c for c in clients if c not in CLIENT_MODULES
    ]
    if unknown:
        raise SystemExit(f"unknown scenario or client: {', '.join(unknown)}")
    needed = ("trustme",) if args.profile or args.smoke else ("trustme", "matplotlib")
    harness = [m for m in needed if importlib.util.find_spec(m) is None]
    if harness:
        raise SystemExit(
            f"missing: {', '.join(harness)} (the harness needs them): "
            "pip install -r benchmarks/requirements.txt"
        )
    missing = missing_libraries(clients)
    if missing:
        message = ", ".join(f"{client} needs {module}" for client, module in missing.items())
        if not args.skip_missing:
            raise SystemExit(
                f"missing: {message}\n"
                "install them with: pip install -r benchmarks/requirements.txt "
                "(or pass --skip-missing)"
            )
        print(f"leaving out: {message}")
        clients = [c for c in clients if c not in missing]
    builds: list[Build] = args.build
    for build in builds:
        info = probe_build(build)
        kind = "compiled" if info["compiled"] else "pure Python"
        print(f"build {build.describe()}: pollhttp {info['version']}, {kind}, {info['file']}")
    runs_under = expand_clients(clients, builds)
    cpu = None if args.no_pin else (args.cpu if args.cpu is not None else os.cpu_count() - 1)
    pin = Pinning(cpu)
    cores = os.cpu_count() or 1
    load_start = loadavg()
    print(f"load average at the start: {_load_text(load_start)} on {cores} cores")

    with tempfile.TemporaryDirectory(prefix="pollhttp-bench-") as tmp:
        base = Path(tmp)
        upload_file = base / "upload.bin"
        write_pattern_file(upload_file, UPLOAD_SIZE)
        server = BenchNginx(base / "nginx", wrap=pin.wrap, preexec_fn=pin.preexec_fn)
        with server:
            config = configure(args, server, upload_file)
            server.check_upload_waits()
            chunking = server.check_chunked()
            workers = server.worker_pids()
            affinity = {pid: sorted(os.sched_getaffinity(pid)) for pid in workers}
            print(f"nginx {server.version} on ports {server.port} (http), {server.tls_port}")
            print(f"workers and their CPUs: {affinity}; {pin.describe()}")
            print(f"chunked response: {chunking}")
            if not server.has_status:
                print("nginx has no stub_status: onecall_1000 cannot count connections")
            if args.profile:
                profile(args.profile, config, pin, args.profile_dir, runs_under)
                return 0
            data: dict[str, object] = {
                "meta": {
                    "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                    "command": "python benchmarks/run.py " + " ".join(argv),
                    "machine": machine(),
                    "versions": versions(server, builds),
                    "builds": [
                        {
                            "name": b.name,
                            "client": b.client("pollhttp", first=i == 0),
                            "root": str(b.root) if b.root else None,
                            "python": b.python,
                            **(b.info or {}),
                        }
                        for i, b in enumerate(builds)
                    ],
                    "pinning": pin.describe(),
                    "nginx_worker_cpus": {str(k): v for k, v in affinity.items()},
                    "chunking": chunking,
                    "config": json.loads(config.to_json()),
                    "rounds": args.rounds,
                    "quick": args.quick,
                    "smoke": args.smoke,
                    "scenarios": scenarios,
                    "clients": list(runs_under),
                    "loadavg_start": _load_text(load_start),
                },
                "rows": [],
            }
            meta: dict[str, object] = data["meta"]  # type: ignore[assignment]
            nginx_pids = [server.master_pid, *workers]
            started = time.monotonic()
            busy_start = machine_busy_seconds()
            harness_start = harness_cpu_seconds(nginx_pids)
            failures = run_rounds(
                args=args,
                scenarios=scenarios,
                clients=runs_under,
                config=config,
                pin=pin,
                rows=data["rows"],  # type: ignore[arg-type]
            )
            data["imports"] = measure_imports(pin, args.import_runs, builds)
            wall = time.monotonic() - started
            harness = harness_cpu_seconds(nginx_pids) - harness_start
            busy_end = machine_busy_seconds()
            load_end = loadavg()
            meta["loadavg_end"] = _load_text(load_end)
            meta["minutes"] = round(wall / 60, 1)
            meta["load"] = {
                "cores": cores,
                "start": load_start,
                "end": load_end,
                # Cores' worth of CPU the harness itself (nginx, the clients, run.py) used,
                # on average over the run, and what everything else on the machine used.
                "harness_cores": round(harness / wall, 3),
                "other_cores": (
                    round(max(0.0, (busy_end - busy_start - harness) / wall), 3)
                    if busy_start is not None and busy_end is not None
                    else None
                ),
            }
    verdict = _report.guard(data, args.max_load, args.max_spread, scope=args.spread_scope)
    data["guard"] = verdict
    print(_report.console_summary(data))
    if args.results is not None:
        results = args.results
    elif args.smoke:
        results = Path(tempfile.gettempdir()) / "pollhttp-bench-smoke.json"
    elif verdict["accepted"]:
        results = HERE / "results.json"
    else:
        results = HERE / "results.refused.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(data, indent=1))
    if verdict["accepted"]:
        publish(data, args, results_written=results)
    else:
        refuse(verdict)
        print(f"the results are in {results}")
    if failures:
        print(f"\n{len(failures)} FAILED run(s):", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    return 0 if verdict["accepted"] or args.smoke else 2


def run_rounds(
    *,
    args: argparse.Namespace,
    scenarios: list[str],
    clients: dict[str, Build],
    config: Config,
    pin: Pinning,
    rows: list[dict[str, object]],
) -> list[str]:
    """Every round runs every client once per scenario, in a shuffled order."""
    order = random.Random(args.seed)
    failures = []
    for round_ in range(1, args.rounds + 1):
        for scenario in scenarios:
            takers = [c for c in clients if scenario in CLIENT_SCENARIOS[base_client(c)]]
            order.shuffle(takers)
            for client in takers:
                result = run_child(client, scenario, config, pin, build=clients[client])
                result.update(round=round_, scenario=scenario, client=client)
                rows.append(result)
                label = f"[round {round_}/{args.rounds}] {scenario:<13} {client:<20}"
                if result["ok"]:
                    value = _report.throughput(result, scenario)
                    extra = result.get("extra") or {}
                    opened = extra.get("connections")  # type: ignore[union-attr]
                    note = f"  ({opened} connections opened)" if opened is not None else ""
                    print(f"{label} {value:>10,.0f} {_report.UNITS[scenario]}{note}", flush=True)
                else:
                    failures.append(f"round {round_} {scenario} {client}")
                    print(f"{label} FAILED:\n{result['error']}\n", file=sys.stderr, flush=True)
    return failures


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
