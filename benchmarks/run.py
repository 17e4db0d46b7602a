"""Benchmark pollhttp against the Python HTTP clients, a raw-socket loop and curl.

    python benchmarks/run.py [--rounds N] [--scenarios a,b] [--clients a,b] [--quick]

Starts nginx on 127.0.0.1 (see _nginx.py), runs every client for every scenario in a
process of its own (child.py), pinned to the CPU of nginx's one worker, interleaved over
rounds, and writes docs/benchmarks.md, docs/benchmarks.png and benchmarks/results.json.
``--report-only results.json`` rewrites the report from saved results; ``--profile
pollhttp:seq_small`` prints a cProfile of the timed part of one client and scenario.
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
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import _report  # noqa: E402
from _common import SCENARIOS, UPLOAD_SIZE, Config  # noqa: E402
from _nginx import BenchNginx, write_pattern_file  # noqa: E402
from child import CLIENT_MODULES, CLIENT_SCENARIOS  # noqa: E402

#: Client name -> the module it needs (checked before the run, never installed by it).
REQUIREMENTS = {
    "urllib3": "urllib3",
    "requests": "requests",
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


def child_env() -> dict[str, str]:
    """The client processes import pollhttp from this checkout's src/."""
    env = dict(os.environ)
    paths = [str(REPO / "src"), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def run_child(
    client: str, scenario: str, config: Config, pin: Pinning, timeout: float = 600
) -> dict[str, object]:
    command = pin.wrap([sys.executable, str(HERE / "child.py"), client, scenario, config.to_json()])
    started = time.perf_counter()
    try:
        out = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=child_env(),
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
    if args.quick:
        config.seq_n, config.conc_requests = 500, 5
        config.download_n = config.chunked_n = config.upload_n = 1
    return config


def measure_imports(pin: Pinning, runs: int) -> dict[str, dict[str, float]]:
    """``import pollhttp`` vs ``import urllib3``: -X importtime and whole-process time."""
    modules = ["pollhttp", "urllib3"]
    importtime: dict[str, list[float]] = {name: [] for name in modules}
    wall: dict[str, list[float]] = {name: [] for name in ["", *modules]}
    env = child_env()
    for _ in range(runs):
        for name in ["", *modules]:
            code = f"import {name}" if name else "pass"
            command = pin.wrap([sys.executable, "-c", code])
            start = time.perf_counter()
            subprocess.run(command, env=env, check=True, preexec_fn=pin.preexec_fn)
            wall[name].append(time.perf_counter() - start)
            if name:
                out = subprocess.run(
                    pin.wrap([sys.executable, "-X", "importtime", "-c", code]),
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                    preexec_fn=pin.preexec_fn,
                )
                for line in out.stderr.splitlines():
                    fields = line.split("|")
                    if len(fields) == 3 and fields[2].strip() == name:
                        importtime[name].append(int(fields[1]) / 1e6)
    bare = statistics.median(wall[""])
    return {
        name: {
            "importtime_s": statistics.median(importtime[name]),
            "process_s": statistics.median(wall[name]),
            "process_minus_bare_s": statistics.median(wall[name]) - bare,
            "bare_interpreter_s": bare,
            "runs": runs,
        }
        for name in modules
    }


def versions(server: BenchNginx) -> dict[str, str]:
    found = {"python": platform.python_version(), "nginx": server.version}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    probe = subprocess.run(
        [sys.executable, "-c", "import pollhttp; print(pollhttp.__version__, pollhttp.__file__)"],
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    found["pollhttp"] = f"{probe[0]} ({probe[1]})"
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


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def missing_libraries(clients: list[str]) -> dict[str, str]:
    missing = {}
    for client in clients:
        module = REQUIREMENTS.get(client)
        if module and importlib.util.find_spec(module) is None:
            missing[client] = module
    if "curl-cli" in clients and not shutil.which("curl"):
        missing["curl-cli"] = "curl (apt-get install curl)"
    return missing


def profile(specs: list[str], config: Config, pin: Pinning, directory: Path) -> None:
    """Run each CLIENT:SCENARIO once under cProfile and print where its time goes."""
    directory.mkdir(parents=True, exist_ok=True)
    for spec in specs:
        client, scenario = spec.split(":", 1)
        path = directory / f"{client}-{scenario}.pstats"
        config.profile_path = str(path)
        result = run_child(client, scenario, config, pin)
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
    parser.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: last)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes")
    parser.add_argument("--import-runs", type=int, default=None, help="default 20 (5 quick)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the client order")
    parser.add_argument("--results", type=Path, default=HERE / "results.json")
    parser.add_argument("--markdown", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--plot", type=Path, default=REPO / "docs" / "benchmarks.png")
    parser.add_argument("--report-only", type=Path, metavar="RESULTS_JSON")
    parser.add_argument(
        "--profile", action="append", default=[], metavar="CLIENT:SCENARIO", help="repeatable"
    )
    parser.add_argument("--profile-dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--skip-missing", action="store_true", help="leave out missing clients")
    args = parser.parse_args(argv)
    if args.rounds is None:
        args.rounds = 1 if args.quick else 5
    if args.import_runs is None:
        args.import_runs = 5 if args.quick else 20
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.report_only:
        data = json.loads(args.report_only.read_text())
        _report.write(data, args.markdown, args.plot)
        print(f"wrote {args.markdown} and {args.plot}")
        return 0
    scenarios = [s for s in args.scenarios.split(",") if s]
    clients = [c for c in args.clients.split(",") if c]
    unknown = [s for s in scenarios if s not in SCENARIOS] + [
        c for c in clients if c not in CLIENT_MODULES
    ]
    if unknown:
        raise SystemExit(f"unknown scenario or client: {', '.join(unknown)}")
    needed = ("trustme",) if args.profile else ("trustme", "matplotlib")
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
    cpu = None if args.no_pin else (args.cpu if args.cpu is not None else os.cpu_count() - 1)
    pin = Pinning(cpu)

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
            if args.profile:
                profile(args.profile, config, pin, args.profile_dir)
                return 0
            data = {
                "meta": {
                    "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                    "command": "python benchmarks/run.py " + " ".join(argv),
                    "machine": machine(),
                    "versions": versions(server),
                    "pinning": pin.describe(),
                    "nginx_worker_cpus": {str(k): v for k, v in affinity.items()},
                    "chunking": chunking,
                    "config": json.loads(config.to_json()),
                    "rounds": args.rounds,
                    "quick": args.quick,
                    "scenarios": scenarios,
                    "clients": clients,
                    "loadavg_start": loadavg(),
                },
                "rows": [],
            }
            started = time.monotonic()
            failures = run_rounds(
                args=args,
                scenarios=scenarios,
                clients=clients,
                config=config,
                pin=pin,
                rows=data["rows"],
            )
            data["imports"] = measure_imports(pin, args.import_runs)
            data["meta"]["loadavg_end"] = loadavg()
            data["meta"]["minutes"] = round((time.monotonic() - started) / 60, 1)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(data, indent=1))
    _report.write(data, args.markdown, args.plot)
    print(f"\nwrote {args.results}, {args.markdown} and {args.plot}")
    if failures:
        print(f"\n{len(failures)} FAILED run(s):", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    return 0


def run_rounds(
    *,
    args: argparse.Namespace,
    scenarios: list[str],
    clients: list[str],
    config: Config,
    pin: Pinning,
    rows: list[dict[str, object]],
) -> list[str]:
    """Every round runs every client once per scenario, in a shuffled order."""
    order = random.Random(args.seed)
    failures = []
    for round_ in range(1, args.rounds + 1):
        for scenario in scenarios:
            takers = [c for c in clients if scenario in CLIENT_SCENARIOS[c]]
            order.shuffle(takers)
            for client in takers:
                result = run_child(client, scenario, config, pin)
                result.update(round=round_, scenario=scenario, client=client)
                rows.append(result)
                label = f"[round {round_}/{args.rounds}] {scenario:<13} {client:<12}"
                if result["ok"]:
                    value = _report.throughput(result, scenario)
                    print(f"{label} {value:>10,.0f} {_report.UNITS[scenario]}", flush=True)
                else:
                    failures.append(f"round {round_} {scenario} {client}")
                    print(f"{label} FAILED:\n{result['error']}\n", file=sys.stderr, flush=True)
    return failures


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
