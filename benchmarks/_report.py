"""Turns the rows of a run (results.json) into docs/benchmarks.md, docs/benchmarks.png and
the README's table, and judges whether the run may be published at all (`guard`)."""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from _common import SCENARIOS, UNITS

ROLES = {
    "pollhttp": "subject",
    "pollhttp-nb": "subject (non-blocking)",
    "raw-socket": "limit (Python)",
    "curl-cli": "limit (C)",
}
ORDER = (
    "pollhttp",
    "pollhttp-nb",
    "http.client",
    "urllib3",
    "requests",
    "requests-session",
    "httpx",
    "httpx-async",
    "aiohttp",
    "pycurl",
    "h11",
    "curl-cli",
    "raw-socket",
)
#: Issue 12's targets, per kind of build: scenario -> (reference client, least ratio).
TARGETS = {
    "pure": {
        "seq_small": ("pycurl", 0.85),
        "tls_small": ("pycurl", 0.75),
        "concurrent": ("pycurl", 0.75),
        "download_100m": ("raw-socket", 0.95),
        "chunked_50m": ("raw-socket", 0.90),
        "upload_50m": ("raw-socket", 0.95),
    },
    "compiled": {
        "seq_small": ("pycurl", 1.0),
        "tls_small": ("pycurl", 1.0),
        "concurrent": ("pycurl", 1.0),
        "download_100m": ("raw-socket", 0.95),
        "chunked_50m": ("raw-socket", 0.95),
        "upload_50m": ("raw-socket", 0.95),
    },
}
#: What each scenario is compared with in the README's table.
REFERENCE = {scenario: ref for scenario, (ref, _) in TARGETS["pure"].items()}
RSS_TARGET_MIB = 5.0

#: The guard (issue 12): a run is published only if the load average per core, at the
#: start and at the end, is at most MAX_LOAD_PER_CORE, every (scenario, client) pair's
#: rounds spread at most MAX_SPREAD, and there are at least MIN_ROUNDS rounds.
MAX_LOAD_PER_CORE = 0.5
MAX_SPREAD = 0.10
MIN_ROUNDS = 3
#: ``--spread-scope judged``: the clients whose spread counts (the subjects, the references).
JUDGED = ("pollhttp", "pollhttp-nb", "pycurl", "raw-socket")
#: The README's benchmark table lives between these two lines (run.py replaces it).
README_START = "<!-- benchmarks-table: written by benchmarks/run.py -->"
README_END = "<!-- /benchmarks-table -->"
MIB = 1024 * 1024
# Typography for the tables (kept out of the literals for the linter).
X, DASH, MINUS = "\u00d7", "\u2013", "\u2212"


def throughput(row: dict[str, Any], scenario: str) -> float:
    seconds = max(float(row["seconds"]), 1e-9)
    if UNITS[scenario] == "MiB/s":
        return float(row["units"]) / seconds / MIB
    return float(row["units"]) / seconds


def build_of(client: str) -> str | None:
    """``pollhttp[compiled]`` -> ``compiled``; None for a client under the first build."""
    match = re.fullmatch(r"[^\[]+\[(.+)\]", client)
    return match.group(1) if match else None


def role(client: str) -> str:
    base = client.split("[", 1)[0]
    text = ROLES.get(base, "peer")
    build = build_of(client)
    return f"{text}, {build} build" if build else text


def subjects(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(client label, kind of build) of each build's ``pollhttp`` client in the run.

    Results from before builds were recorded had one: the pure source.
    """
    builds = data["meta"].get("builds") or [{"client": "pollhttp", "compiled": False}]
    return [(b["client"], "compiled" if b.get("compiled") else "pure") for b in builds]


def _order_key(client: str) -> tuple[int, str]:
    base = client.split("[", 1)[0]
    return (ORDER.index(base) if base in ORDER else len(ORDER), client)


class Summary:
    """Medians, spreads and per-round ratios of one run."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.rows = data["rows"]
        present = {row["client"] for row in self.rows}
        self.clients = sorted(present, key=_order_key)
        self.scenarios = [s for s in SCENARIOS if any(r["scenario"] == s for r in self.rows)]
        # (scenario, client) -> {round: throughput}
        self.values: dict[tuple[str, str], dict[int, float]] = {}
        self.failed: set[tuple[str, str]] = set()
        for row in self.rows:
            key = (row["scenario"], row["client"])
            if row["ok"]:
                self.values.setdefault(key, {})[row["round"]] = throughput(row, row["scenario"])
            else:
                self.failed.add(key)

    def median(self, scenario: str, client: str) -> float | None:
        values = self.values.get((scenario, client))
        return statistics.median(values.values()) if values else None

    def spread(self, scenario: str, client: str) -> float | None:
        """The rounds' spread: (max - min) / median of the throughputs (None under 2 rounds).

        The whole range, not half of it: 0.10 means the slowest round was 10% of the
        median below the fastest. This is what the guard limits (MAX_SPREAD).
        """
        values = list(self.values.get((scenario, client), {}).values())
        if len(values) < 2:
            return None
        return (max(values) - min(values)) / statistics.median(values)

    def connections(self, scenario: str, client: str) -> float | None:
        """Median of the connections nginx accepted during the timed part (onecall_1000)."""
        counts = [
            r["extra"]["connections"]
            for r in self.rows
            if r["ok"]
            and r["scenario"] == scenario
            and r["client"] == client
            and (r.get("extra") or {}).get("connections") is not None
        ]
        return statistics.median(counts) if counts else None

    def call(self, scenario: str, client: str) -> str:
        """The call a client's rows say they made (``extra["call"]``), or the client's name."""
        for r in self.rows:
            if r["ok"] and r["scenario"] == scenario and r["client"] == client:
                label = (r.get("extra") or {}).get("call")
                if label:
                    return str(label)
        return client

    def ratio(self, scenario: str, client: str, reference: str) -> float | None:
        """Median over the rounds of client / reference in the same round."""
        mine = self.values.get((scenario, client), {})
        theirs = self.values.get((scenario, reference), {})
        pairs = [mine[r] / theirs[r] for r in mine if r in theirs and theirs[r] > 0]
        return statistics.median(pairs) if pairs else None

    def peak_always_reset(self) -> bool:
        return all(r.get("peak_reset") for r in self.rows if r["ok"] and r.get("peak_rss_kib"))

    def rss(self, client: str) -> tuple[float, float, float] | None:
        """download_100m: (start, peak, peak - start) in MiB, medians over rounds."""
        rows = [
            r
            for r in self.rows
            if r["ok"]
            and r["client"] == client
            and r["scenario"] == "download_100m"
            and r.get("peak_rss_kib")
        ]
        if not rows:
            return None
        start = statistics.median(r["rss_start_kib"] / 1024 for r in rows)
        peak = statistics.median(r["peak_rss_kib"] / 1024 for r in rows)
        growth = statistics.median((r["peak_rss_kib"] - r["rss_start_kib"]) / 1024 for r in rows)
        return start, peak, growth


def _fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return DASH
    return f"{value:,.{digits}f}"


def _table(header: Iterable[str], rows: Iterable[Iterable[str]], right_from: int = 2) -> list[str]:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |"]
    lines.append(
        "|" + "|".join("---:" if i >= right_from else "---" for i in range(len(header))) + "|"
    )
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _scenario_header(summary: Summary) -> list[str]:
    return ["client", "role", *(f"{s} ({UNITS[s]})" for s in summary.scenarios)]


def _cell(summary: Summary, scenario: str, client: str, text: str) -> str:
    if (scenario, client) in summary.failed:
        return "**FAILED**" if text == DASH else f"{text} (some rounds FAILED)"
    return text


def markdown(data: dict[str, Any]) -> str:
    s = Summary(data)
    meta = data["meta"]
    config = meta["config"]
    v = meta["versions"]
    out = ["# Benchmarks", ""]
    out += [
        "pollhttp against the Python HTTP clients, a hand-written raw-socket loop and curl, on",
        "loopback against nginx. Produced by `python benchmarks/run.py` (see",
        "[benchmarks/README.md](../benchmarks/README.md)); this file and `benchmarks.png` are",
        "written by it.",
        "",
        f"- Run: {meta['date']}, {meta['rounds']} round(s), interleaved"
        f"{' (quick sizes)' if meta.get('quick') else ''}; took {meta.get('minutes', '?')} min."
        f" Command: `{meta['command'].strip()}`.",
        f"- Machine: {meta['machine']['cores']} {X} {meta['machine']['cpu']}, "
        f"{meta['machine']['system']} ({meta['machine']['machine']}). Load average "
        f"{meta.get('loadavg_start', '?')} at the start, {meta.get('loadavg_end', '?')} at the end"
        " (1, 5, 15 min).",
        "- " + guard_sentence(data),
        f"- CPU pinning: {meta['pinning']}; nginx worker CPUs: {meta['nginx_worker_cpus']}.",
        "- Builds of pollhttp: " + builds_sentence(data) + ".",
        "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        f"- Per run: seq_small and tls_small {config['seq_n']:,} requests; concurrent "
        f"{config['conc_connections']} connections {X} {config['conc_requests']} requests; "
        f"download_100m {config['download_n']} {X} 100 MiB; chunked_50m {config['chunked_n']} {X} "
        f"50 MiB; upload_50m {config['upload_n']} {X} 50 MiB; onecall_1000 "
        f"{config.get('onecall_n', 1000):,} one-call requests; streaming read size "
        f"{config['read_size'] // 1024} KiB.",
        "",
    ]

    imports = data.get("imports")
    out += ["## Targets (issue 12)", ""]
    rows = []
    for label, kind in subjects(data):
        for scenario in s.scenarios:
            if scenario not in TARGETS[kind]:
                continue
            reference, least = TARGETS[kind][scenario]
            ratio = s.ratio(scenario, label, reference)
            met = DASH if ratio is None else ("yes" if ratio >= least else "**no**")
            rows.append([label, scenario, f"≥ {least:.2f} {X} {reference}", _fmt(ratio, 2), met])
        rss = s.rss(label)
        if rss is not None:
            met = "yes" if rss[2] <= RSS_TARGET_MIB else "**no**"
            rows.append(
                [
                    label,
                    "peak RSS, download_100m",
                    f"≤ +{RSS_TARGET_MIB:g} MiB",
                    f"+{rss[2]:.1f} MiB",
                    met,
                ]
            )
        if imports and label in imports:
            mine, theirs = imports[label]["importtime_s"], imports["urllib3"]["importtime_s"]
            rows.append(
                [
                    label,
                    "import time",
                    "≤ import urllib3",
                    f"{mine * 1000:.1f} ms vs {theirs * 1000:.1f} ms",
                    "yes" if mine <= theirs else "**no**",
                ]
            )
    out += _table(["build", "what", "target", "measured", "met"], rows, right_from=3)
    out += [""]

    out += ["## Throughput, median over rounds (higher is better)", ""]
    out += [
        f"`(x%)` = the spread of the rounds, (max {MINUS} min) / median: what the guard limits",
        f"to {MAX_SPREAD:.0%}.",
        "",
    ]
    rows = []
    for client in s.clients:
        cells = [client, role(client)]
        for scenario in s.scenarios:
            median, spread = s.median(scenario, client), s.spread(scenario, client)
            text = _fmt(median) + (f" ({spread * 100:.0f}%)" if spread is not None else "")
            cells.append(_cell(s, scenario, client, text))
        rows.append(cells)
    out += _table(_scenario_header(s), rows)
    out += [""]

    for reference, title in (
        ("raw-socket", "Ratio to the raw-socket loop"),
        ("pycurl", "Ratio to pycurl"),
    ):
        compared = [sc for sc in s.scenarios if s.median(sc, reference) is not None]
        if not compared:
            continue
        out += [f"## {title} (client ÷ {reference}, per-round pairs, median)", ""]
        rows = []
        for client in s.clients:
            cells = [client, role(client)]
            for scenario in compared:
                cells.append(
                    _cell(s, scenario, client, _fmt(s.ratio(scenario, client, reference), 2))
                )
            rows.append(cells)
        out += _table(["client", "role", *(f"{sc} ({UNITS[sc]})" for sc in compared)], rows)
        out += [""]

    if "onecall_1000" in s.scenarios:
        out += onecall_section(s, data)

    if "download_100m" in s.scenarios:
        out += ["## Peak RSS during download_100m (MiB, median over rounds)", ""]
        out += [
            "`start` = RSS when the clock starts (after imports, connect and a warm-up request);",
            "`peak` = the process's peak RSS (VmHWM) when it stops, reset to the current RSS",
            "when the clock starts (`/proc/self/clear_refs`; "
            + (
                "done in every run"
                if s.peak_always_reset()
                else "**not possible in some runs**: their peak includes the imports"
            )
            + f"). Both include the interpreter; the target is on `peak {MINUS} start`.",
            "",
        ]
        rows = []
        for client in s.clients:
            rss = s.rss(client)
            if rss is None:
                note = "its own process, not measured" if client == "curl-cli" else "no data"
                rows.append([client, DASH, DASH, DASH, note])
            else:
                rows.append([client, f"{rss[0]:.1f}", f"{rss[1]:.1f}", f"+{rss[2]:.1f}", ""])
        out += _table(
            ["client", "start", "peak", f"peak {MINUS} start", "note"], rows, right_from=1
        )
        out += [""]

    if imports:
        out += ["## Import time (median)", ""]
        runs = imports["pollhttp"]["runs"]
        out += [
            f"`-X importtime` cumulative time of the top-level module, and the wall time of "
            f"`python -c 'import X'` minus that of `python -c pass` ({runs} runs each, "
            f"interleaved; bare interpreter {imports['pollhttp']['bare_interpreter_s'] * 1000:.1f}"
            " ms).",
            "",
        ]
        rows = [
            [
                name,
                f"{imports[name]['importtime_s'] * 1000:.1f}",
                f"{imports[name]['process_minus_bare_s'] * 1000:.1f}",
            ]
            for name in imports
        ]
        out += _table(
            ["module", "-X importtime (ms)", f"process {MINUS} bare (ms)"], rows, right_from=1
        )
        out += [""]

    chunking = meta.get("chunking", {})
    out += ["## Method", ""]
    out += [
        "- nginx: one worker, keep-alive (1,000,000 requests per connection), sendfile, access",
        "  log off, HTTP and HTTPS (TLS 1.2/1.3, a trustme CA that every client verifies) in one",
        "  server block on 127.0.0.1. Each client runs in its own process (`benchmarks/child.py`),",
        "  started fresh for every scenario and round, pinned to the CPU of the nginx worker so",
        "  that the two share one core, as in the baseline.",
        "- Timing: `time.perf_counter()` inside the client process around the measured part only:",
        "  imports, connecting and one warm-up request come before it (concurrent: the warm-up",
        "  uses one connection, and opening the 64 connections is timed). curl reports its own",
        "  `time_total` per transfer.",
        "- Checks: every status and every body byte is checked inside the timed part (a wrong",
        "  byte fails the run loudly and marks the cell FAILED). Large bodies are compared piece",
        "  by piece with the byte pattern they carry (one memcmp per piece, no copy); that time",
        "  is measured and taken out of the client's time, since it is the same for every client",
        "  and would pull all ratios towards 1. curl's timed downloads go to /dev/null and are",
        "  checked by status and byte count; one more, untimed, is piped into the checker.",
        "- `chunked_50m`: nginx serves a 50 MiB file with `add_after_body` (an empty addition),",
        "  which removes the length, so HTTP/1.1 gets `Transfer-Encoding: chunked`; `sendfile",
        "  off` with `output_buffers 1 64k` makes each chunk one 64 KiB buffer. Checked on the",
        f"  wire before the run: {chunking.get('chunks', '?')} chunks, "
        f"{chunking.get('chunks_of_64k', '?')} of exactly 64 KiB.",
        "- `upload_50m`: POST to `/upload`, which `proxy_pass`es to a second server block of the",
        "  same nginx (unix socket) with `proxy_pass_request_body off`: nginx reads the whole body",
        "  into memory (`client_body_buffer_size 64m`, no temporary file) before it asks the",
        "  upstream, which answers `ok <Content-Length>`; each client checks that answer.",
        "  (`return 200` would answer at once and discard the body afterwards.) Checked on the",
        "  wire before the run: no answer while half the body is still missing.",
        "- `concurrent`: pollhttp runs 64 non-blocking HTTPClient objects from one thread,",
        "  waiting with `pollhttp.wait()`; pollhttp-nb the same with one selector of its own kept",
        "  across steps and fed by `get_wait_interest()`; h11 and the raw-socket loop use one",
        "  thread and a selector; pycurl uses CurlMulti;",
        "  httpx-async and aiohttp 64 tasks on one event loop; http.client, urllib3, requests",
        "  and httpx one thread per connection (urllib3 and httpx share one pool of 64).",
        "- pollhttp runs in blocking mode (`pollhttp`), the fastest way from one thread;",
        "  `pollhttp-nb` is the same client non-blocking, with `HTTPClient.wait()` between steps.",
        "  Large bodies are read 256 KiB at a time (`set_read_chunk_size`).",
        "- pycurl and curl: `Expect: 100-continue` is turned off (no other client sends it);",
        "  pycurl's BUFFERSIZE is the streaming read size.",
        "- The raw-socket loop sends request bytes built once and parses only the head's end,",
        "  Content-Length and chunk sizes, reading with `recv_into` into one buffer: a yardstick",
        "  of what a Python client could do, not a usable client.",
        "- `onecall_1000`: each library's way of making one request in one call, as a script",
        "  writes it, 1,000 times for `/small` (issue 13's row): `pollhttp.get(url)`,",
        "  `requests.get(url)`, `requests.Session().get(url)` and `httpx.Client().get(url)` on an",
        '  object made before the clock starts, `urllib3.request("GET", url)`. Whatever the',
        "  library keeps between calls by itself (a module-level pool) is what is measured; the",
        "  connections nginx accepted during the timed part are counted with its stub_status.",
        "- Builds: the pollhttp clients run once per build of pollhttp (`run.py --build",
        "  NAME=PATH`), all under the same interpreter unless a build names its own; a build",
        "  called compiled must load the compiled modules (`pollhttp.__compiled__`), or the run",
        "  stops before it starts.",
        "- Ratios are medians of per-round ratios (client ÷ reference in the same round).",
        "- The guard: this file is written only by a run whose load average (1 min) is at most",
        f"  {MAX_LOAD_PER_CORE} per core at the start and, less the cores' worth of CPU the",
        "  harness itself used (nginx and the client processes keep about one core busy), at",
        f"  the end; with at least {MIN_ROUNDS} rounds, every (scenario, client) pair's rounds",
        f"  spread at most {MAX_SPREAD:.0%} ((max {MINUS} min) / median), and no failed run.",
        "",
    ]
    return "\n".join(out)


def plot(data: dict[str, Any], path: Path) -> None:
    import matplotlib  # noqa: PLC0415 - only the report needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    s = Summary(data)
    panels = len(s.scenarios) + (1 if "download_100m" in s.scenarios else 0)
    columns = 4 if panels > 6 else 3
    rows = (panels + columns - 1) // columns
    fig, axes = plt.subplots(
        rows, columns, figsize=(5.2 * columns, 0.32 * len(s.clients) * rows + 2)
    )
    axes = list(axes.flat) if hasattr(axes, "flat") else [axes]
    colors = {"subject": "#d62728", "subject (non-blocking)": "#ff9896", "peer": "#1f77b4"}
    for i, (label, _) in enumerate(subjects(data)[1:]):
        colors[role(label)] = ("#2ca02c", "#9467bd", "#8c564b")[i % 3]
        colors[role(label.replace("pollhttp", "pollhttp-nb", 1))] = ("#98df8a", "#c5b0d5")[i % 2]
    for ax, scenario in zip(axes, s.scenarios, strict=False):
        names = [c for c in s.clients if s.median(scenario, c) is not None][::-1]
        values = [s.median(scenario, c) or 0.0 for c in names]
        bar_colors = [colors.get(role(c), "#7f7f7f") for c in names]
        ax.barh(names, values, color=bar_colors)
        for y, value in enumerate(values):
            ax.text(value, y, f" {value:,.0f}", va="center", fontsize=7)
        lines = [f"{scenario} ({UNITS[scenario]})"]
        for label, kind in subjects(data):
            if scenario in TARGETS[kind]:
                reference, least = TARGETS[kind][scenario]
                ratio = s.ratio(scenario, label, reference)
                lines.append(f"{label} = {_fmt(ratio, 2)} {X} {reference} (target ≥ {least:.2f})")
        ax.set_title("\n".join(lines), fontsize=9)
        ax.tick_params(labelsize=8)
        ax.set_xlim(0, max([*values, 1.0]) * 1.25)
    used = len(s.scenarios)
    if "download_100m" in s.scenarios:
        ax = axes[used]
        names = [c for c in s.clients if s.rss(c) is not None][::-1]
        growth = [s.rss(c)[2] for c in names]  # type: ignore[index]
        ax.barh(names, growth, color=[colors.get(role(c), "#7f7f7f") for c in names])
        for y, value in enumerate(growth):
            ax.text(value, y, f" +{value:.1f}", va="center", fontsize=7)
        ax.axvline(RSS_TARGET_MIB, color="black", linestyle="--", linewidth=0.8)
        ax.set_title(
            f"peak RSS {MINUS} start, download_100m (MiB)\n(dashed: pollhttp target)", fontsize=9
        )
        ax.tick_params(labelsize=8)
        used += 1
    for ax in axes[used:]:
        ax.axis("off")
    meta = data["meta"]
    fig.suptitle(
        f"pollhttp benchmarks, loopback nginx, medians of {meta['rounds']} round(s) "
        f"({meta['date']}; {meta['machine']['cores']} cores; load average "
        f"{meta.get('loadavg_start')} at the start, {meta.get('loadavg_end')} at the end)",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(data: dict[str, Any], markdown_path: Path, plot_path: Path) -> None:
    markdown_path.parent.mkdir(parents=True, exist_ok=True)
    markdown_path.write_text(markdown(data))
    plot(data, plot_path)


# -- the guard: may this run be published? ------------------------------------------------


def _parse_load(text: object) -> list[float] | None:
    """A load average recorded as text ("0.60 0.73 1.01") by results before the guard."""
    try:
        values = [float(x) for x in str(text).split()]
    except ValueError:
        return None
    return values if len(values) == 3 else None


def guard(
    data: dict[str, Any],
    max_load: float = MAX_LOAD_PER_CORE,
    max_spread: float = MAX_SPREAD,
    min_rounds: int = MIN_ROUNDS,
    scope: str = "all",
) -> dict[str, Any]:
    """Judge a run: ``{"accepted": bool, "reasons": [...], ...the figures it judged}``.

    Refused when:

    * the 1-minute load average at the start, divided by the number of cores, exceeds
      ``max_load``;
    * the same at the end, after taking off the cores' worth of CPU the harness itself
      used over the run (``meta.load.harness_cores``: nginx, the client processes and
      run.py, measured, about one core since they share one pinned CPU); without that
      figure (older results) nothing is taken off;
    * any (scenario, client) pair's rounds spread more than ``max_spread``, the spread
      being (max - min) / median of its throughputs over the rounds; with ``scope``
      "judged", only the pairs the targets are judged on count (every build's pollhttp
      and pollhttp-nb, pycurl and the raw-socket loop), the others are still recorded;
    * there are fewer than ``min_rounds`` rounds (no spread worth the name), it is a smoke
      run, or a run failed.
    """
    meta = data["meta"]
    load = meta.get("load") or {}
    cores = load.get("cores") or meta["machine"].get("cores") or 1
    start = load.get("start") or _parse_load(meta.get("loadavg_start"))
    end = load.get("end") or _parse_load(meta.get("loadavg_end"))
    harness = float(load.get("harness_cores") or 0.0)
    reasons = []
    start_per_core = end_per_core = None
    if start is None:
        reasons.append("no load average at the start")
    else:
        start_per_core = start[0] / cores
        if start_per_core > max_load:
            reasons.append(
                f"load average {start[0]:.2f} at the start on {cores} cores: "
                f"{start_per_core:.2f} per core > {max_load}"
            )
    if end is None:
        reasons.append("no load average at the end")
    else:
        end_per_core = max(0.0, end[0] - harness) / cores
        if end_per_core > max_load:
            reasons.append(
                f"load average {end[0]:.2f} at the end, less the harness's own "
                f"{harness:.2f} cores, on {cores} cores: {end_per_core:.2f} per core > {max_load}"
            )
    if meta.get("smoke"):
        reasons.append("a smoke run (tiny sizes, to check the plumbing): never published")
    rounds = int(meta.get("rounds") or 0)
    if rounds < min_rounds:
        reasons.append(f"{rounds} round(s): the guard needs at least {min_rounds} to judge spread")
    s = Summary(data)
    if s.failed:
        failed = ", ".join(f"{sc} {cl}" for sc, cl in sorted(s.failed))
        reasons.append(f"failed runs: {failed}")
    spreads: dict[str, dict[str, float | None]] = {}
    over = []
    judged = {c for c in s.clients if c.split("[", 1)[0] in JUDGED}
    for scenario in s.scenarios:
        for client in s.clients:
            if (scenario, client) not in s.values:
                continue
            value = s.spread(scenario, client)
            spreads.setdefault(scenario, {})[client] = None if value is None else round(value, 4)
            counts = scope == "all" or client in judged
            if value is not None and value > max_spread and counts:
                over.append((value, scenario, client))
    if over:
        over.sort(reverse=True)
        listed = ", ".join(f"{sc} {cl} {value:.0%}" for value, sc, cl in over[:10])
        if len(over) > 10:
            listed += f" and {len(over) - 10} more (results.json: guard.spread)"
        reasons.append(
            f"{len(over)} {'' if scope == 'all' else scope + ' '}scenario/client pair(s) "
            f"spread more than {max_spread:.0%} over the rounds ((max - min) / median): {listed}"
        )
    largest = max(
        (v for per in spreads.values() for v in per.values() if v is not None), default=None
    )
    return {
        "accepted": not reasons,
        "reasons": reasons,
        "rules": {
            "max_load_per_core": max_load,
            "max_spread": max_spread,
            "min_rounds": min_rounds,
            "spread_scope": scope if scope == "all" else f"{scope}: {', '.join(sorted(judged))}",
            "load": "1-minute os.getloadavg() / os.cpu_count(), at the start; at the end "
            "after subtracting the harness's own cores of CPU (meta.load.harness_cores)",
            "spread": "(max - min) / median of a (scenario, client) pair's throughputs over "
            "the rounds",
        },
        "load_start_per_core": None if start_per_core is None else round(start_per_core, 3),
        "load_end_per_core": None if end_per_core is None else round(end_per_core, 3),
        "largest_spread": largest,
        "spread": spreads,
    }


def guard_sentence(data: dict[str, Any]) -> str:
    verdict = data.get("guard") or guard(data)
    load = data["meta"].get("load") or {}
    parts = [
        f"load per core {_fmt(verdict['load_start_per_core'], 2)} at the start and "
        f"{_fmt(verdict['load_end_per_core'], 2)} at the end (less the harness's own "
        f"{load.get('harness_cores', '?')} cores; everything else used "
        f"{load.get('other_cores', '?')} cores on average)",
    ]
    if verdict["largest_spread"] is not None:
        parts.append(f"largest spread of any scenario's rounds {verdict['largest_spread']:.0%}")
    scope = verdict.get("rules", {}).get("spread_scope", "all")
    if scope != "all":
        parts.append(f"spread judged on {scope}")
    state = "accepted" if verdict["accepted"] else "REFUSED"
    return (
        f"Guard: {state} ({'; '.join(parts)}; limits {MAX_LOAD_PER_CORE} per core, "
        f"{MAX_SPREAD:.0%} spread)."
    )


def builds_sentence(data: dict[str, Any]) -> str:
    builds = data["meta"].get("builds")
    if not builds:
        return "pure Python, from src/ (`pollhttp`)"
    return "; ".join(
        f"`{b['client']}` = {b['name']}, "
        f"{'compiled with mypyc' if b.get('compiled') else 'pure Python'} "
        f"({b.get('root') or b.get('python')})"
        for b in builds
    )


def onecall_section(s: Summary, data: dict[str, Any]) -> list[str]:
    scenario = "onecall_1000"
    n = data["meta"]["config"].get("onecall_n", 1000)
    out = [f"## One call per request: {n:,} GETs of /small (issue 13)", ""]
    out += [
        "Each library's one-call API, as a script writes it; `connections` = what nginx",
        "accepted during the timed part (median over rounds; a pool keeps it at 0 or 1).",
        "",
    ]
    reference = "pollhttp"
    rows = []
    for client in s.clients:
        if (scenario, client) not in s.values and (scenario, client) not in s.failed:
            continue
        median, spread = s.median(scenario, client), s.spread(scenario, client)
        text = _fmt(median) + (f" ({spread * 100:.0f}%)" if spread is not None else "")
        opened = s.connections(scenario, client)
        rows.append(
            [
                f"`{s.call(scenario, client)}`",
                client,
                _cell(s, scenario, client, text),
                _fmt(s.ratio(scenario, client, reference), 2),
                DASH if opened is None else f"{opened:,.0f}",
            ]
        )
    out += _table(
        ["call", "client", "req/s", f"{X} {reference}", "connections"], rows, right_from=2
    )
    out += [""]
    return out


def console_summary(data: dict[str, Any]) -> str:
    """The numbers, plain, for the terminal: printed whether or not the run is published."""
    s = Summary(data)
    meta = data["meta"]
    width = max([len(c) for c in s.clients] + [6])
    lines = ["", "median over rounds (spread = (max - min) / median):"]
    for scenario in s.scenarios:
        lines.append(f"  {scenario} ({UNITS[scenario]})")
        for client in s.clients:
            if (scenario, client) not in s.values and (scenario, client) not in s.failed:
                continue
            if (scenario, client) in s.failed and (scenario, client) not in s.values:
                lines.append(f"    {client:<{width}}  FAILED")
                continue
            spread = s.spread(scenario, client)
            ratios = []
            for label, kind in subjects(data):
                if client == label and scenario in TARGETS[kind]:
                    reference, least = TARGETS[kind][scenario]
                    ratio = s.ratio(scenario, client, reference)
                    if ratio is not None:
                        ratios.append(f"{ratio:.2f} x {reference} (target {least:.2f})")
            opened = s.connections(scenario, client)
            lines.append(
                f"    {client:<{width}} {s.median(scenario, client) or 0:>12,.0f}"
                + (f"  spread {spread:6.1%}" if spread is not None else "")
                + (f"  {opened:,.0f} connections" if opened is not None else "")
                + (f"  {'; '.join(ratios)}" if ratios else "")
            )
    load = meta.get("load") or {}
    lines.append(
        f"load average {meta.get('loadavg_start')} at the start, {meta.get('loadavg_end')} at "
        f"the end on {load.get('cores', meta['machine'].get('cores'))} cores; the harness used "
        f"{load.get('harness_cores', '?')} cores, everything else "
        f"{load.get('other_cores', '?')}"
    )
    lines.append(guard_sentence(data))
    return "\n".join(lines)


# -- the README's table ---------------------------------------------------------------------

#: The peers the README's table shows, when they ran.
README_PEERS = ("http.client", "urllib3", "httpx", "aiohttp", "pycurl")
README_ROWS = {
    "seq_small": "seq_small: {seq_n:,} GETs, one connection",
    "tls_small": "tls_small: the same over TLS",
    "concurrent": "concurrent: {conc_connections} connections {X} {conc_requests}, one thread",
    "download_100m": "download_100m",
    "chunked_50m": "chunked_50m",
    "upload_50m": "upload_50m",
}


def readme_table(data: dict[str, Any]) -> str:
    """The README's table: ratios per scenario for each build and the peers, the one-call
    row, and a line saying which run (accepted by the guard) it comes from."""
    s = Summary(data)
    meta = data["meta"]
    config = meta["config"]
    builds = [label for label, _ in subjects(data)]
    peers = [p for p in README_PEERS if p in s.clients]
    header = [
        "scenario",
        *("pollhttp" if b == "pollhttp" else f"pollhttp ({build_of(b)})" for b in builds),
        *peers,
    ]
    rows = []
    for scenario, title in README_ROWS.items():
        if scenario not in s.scenarios:
            continue
        reference = REFERENCE[scenario]
        name = "pycurl" if reference == "pycurl" else "raw socket"
        cells = [title.format(X=X, **config) + f" ({X} {name})"]
        for b in builds:
            text = _fmt(s.ratio(scenario, b, reference), 2)
            polled = b.replace("pollhttp", "pollhttp-nb", 1)
            ratio = s.ratio(scenario, polled, reference)
            if ratio is not None:
                text += f" ({ratio:.2f} polled)"
            cells.append(text)
        cells += [_fmt(s.ratio(scenario, p, reference), 2) for p in peers]
        rows.append(cells)
    out = [README_START, ""]
    out += _table(header, rows, right_from=1)
    if "onecall_1000" in s.scenarios:
        n = config.get("onecall_n", 1000)
        calls = [
            f"`{s.call('onecall_1000', c)}`"
            + (f" ({build_of(c)} build)" if build_of(c) else "")
            + f" {_fmt(s.median('onecall_1000', c))} req/s"
            + (
                f" ({s.connections('onecall_1000', c):,.0f} connections)"
                if s.connections("onecall_1000", c) is not None
                else ""
            )
            for c in s.clients
            if ("onecall_1000", c) in s.values
        ]
        out += ["", f"{n:,} one-call GETs: " + "; ".join(calls) + "."]
    verdict = data.get("guard") or guard(data)
    load = meta.get("load") or {}
    out += [
        "",
        f"From `{meta['command'].strip()}` on {meta['date']}: {meta['rounds']} interleaved "
        f"rounds on {load.get('cores', meta['machine'].get('cores'))} cores, load average "
        f"{meta.get('loadavg_start')} at the start and {meta.get('loadavg_end')} at the end, "
        f"largest spread of any scenario's rounds "
        f"{_fmt(None if verdict['largest_spread'] is None else verdict['largest_spread'] * 100)}"
        f"%; {'accepted' if verdict['accepted'] else 'REFUSED'} by the harness's guard "
        f"(at most {MAX_LOAD_PER_CORE} load per core, {MAX_SPREAD:.0%} spread).",
        "",
        README_END,
    ]
    return "\n".join(out)


def write_readme_table(data: dict[str, Any], path: Path) -> bool:
    """Replace the table between the README's markers; False if it has none."""
    try:
        text = path.read_text()
    except OSError:
        return False
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return False
    path.write_text(text[:start] + readme_table(data) + text[end + len(README_END) :])
    return True
