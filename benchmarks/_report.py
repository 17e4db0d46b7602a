"""Turns the rows of a run (results.json) into docs/benchmarks.md and docs/benchmarks.png."""

from __future__ import annotations

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
    "httpx",
    "httpx-async",
    "aiohttp",
    "pycurl",
    "h11",
    "curl-cli",
    "raw-socket",
)
#: The issue's targets: scenario -> (reference client, least ratio).
TARGETS = {
    "seq_small": ("pycurl", 1.0),
    "tls_small": ("pycurl", 1.0),
    "concurrent": ("pycurl", 1.0),
    "download_100m": ("raw-socket", 0.95),
    "chunked_50m": ("raw-socket", 0.95),
    "upload_50m": ("raw-socket", 0.95),
}
RSS_TARGET_MIB = 5.0
MIB = 1024 * 1024
# Typography for the tables (kept out of the literals for the linter).
X, DASH, MINUS = "\u00d7", "\u2013", "\u2212"


def throughput(row: dict[str, Any], scenario: str) -> float:
    seconds = max(float(row["seconds"]), 1e-9)
    if UNITS[scenario] == "MiB/s":
        return float(row["units"]) / seconds / MIB
    return float(row["units"]) / seconds


def role(client: str) -> str:
    return ROLES.get(client, "peer")


class Summary:
    """Medians, spreads and per-round ratios of one run."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.rows = data["rows"]
        present = {row["client"] for row in self.rows}
        self.clients = [c for c in ORDER if c in present] + sorted(present - set(ORDER))
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
        """Half the min-max range of the rounds, relative to the median."""
        values = list(self.values.get((scenario, client), {}).values())
        if len(values) < 2:
            return None
        return (max(values) - min(values)) / 2 / statistics.median(values)

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
        " (1, 5, 15 min): a load near or above the number of cores means the numbers are noisy.",
        f"- CPU pinning: {meta['pinning']}; nginx worker CPUs: {meta['nginx_worker_cpus']}.",
        "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        f"- Per run: seq_small and tls_small {config['seq_n']:,} requests; concurrent "
        f"{config['conc_connections']} connections {X} {config['conc_requests']} requests; "
        f"download_100m {config['download_n']} {X} 100 MiB; chunked_50m {config['chunked_n']} {X} "
        f"50 MiB; upload_50m {config['upload_n']} {X} 50 MiB; streaming read size "
        f"{config['read_size'] // 1024} KiB.",
        "",
    ]

    out += ["## Targets (issue 8)", ""]
    rows = []
    for scenario in s.scenarios:
        reference, least = TARGETS[scenario]
        ratio = s.ratio(scenario, "pollhttp", reference)
        met = DASH if ratio is None else ("yes" if ratio >= least else "**no**")
        rows.append([scenario, f"≥ {least:.2f} {X} {reference}", _fmt(ratio, 2), met])
    rss = s.rss("pollhttp")
    if rss is not None:
        met = "yes" if rss[2] <= RSS_TARGET_MIB else "**no**"
        rows.append(
            [
                "peak RSS, download_100m",
                f"≤ +{RSS_TARGET_MIB:g} MiB",
                f"+{rss[2]:.1f} MiB",
                met,
            ]
        )
    imports = data.get("imports")
    if imports:
        mine, theirs = imports["pollhttp"]["importtime_s"], imports["urllib3"]["importtime_s"]
        rows.append(
            [
                "import time",
                "≤ import urllib3",
                f"{mine * 1000:.1f} ms vs {theirs * 1000:.1f} ms",
                "yes" if mine <= theirs else "**no**",
            ]
        )
    out += _table(["what", "target", "pollhttp", "met"], rows, right_from=2)
    out += [""]

    out += ["## Throughput, median over rounds (higher is better)", ""]
    out += [f"`±x%` = half the min{DASH}max range of the rounds, relative to the median.", ""]
    rows = []
    for client in s.clients:
        cells = [client, role(client)]
        for scenario in s.scenarios:
            median, spread = s.median(scenario, client), s.spread(scenario, client)
            text = _fmt(median) + (f" ±{spread * 100:.0f}%" if spread is not None else "")
            cells.append(_cell(s, scenario, client, text))
        rows.append(cells)
    out += _table(_scenario_header(s), rows)
    out += [""]

    for reference, title in (
        ("raw-socket", "Ratio to the raw-socket loop"),
        ("pycurl", "Ratio to pycurl"),
    ):
        out += [f"## {title} (client ÷ {reference}, per-round pairs, median)", ""]
        rows = []
        for client in s.clients:
            cells = [client, role(client)]
            for scenario in s.scenarios:
                cells.append(
                    _cell(s, scenario, client, _fmt(s.ratio(scenario, client, reference), 2))
                )
            rows.append(cells)
        out += _table(_scenario_header(s), rows)
        out += [""]

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
            for name in ("pollhttp", "urllib3")
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
        "- Ratios are medians of per-round ratios (client ÷ reference in the same round).",
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
    for ax, scenario in zip(axes, s.scenarios, strict=False):
        names = [c for c in s.clients if s.median(scenario, c) is not None][::-1]
        values = [s.median(scenario, c) or 0.0 for c in names]
        bar_colors = [colors.get(role(c), "#7f7f7f") for c in names]
        ax.barh(names, values, color=bar_colors)
        for y, value in enumerate(values):
            ax.text(value, y, f" {value:,.0f}", va="center", fontsize=7)
        reference, least = TARGETS[scenario]
        ratio = s.ratio(scenario, "pollhttp", reference)
        ax.set_title(
            f"{scenario} ({UNITS[scenario]})\npollhttp = {_fmt(ratio, 2)} {X} {reference}"
            f" (target ≥ {least:.2f})",
            fontsize=9,
        )
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
