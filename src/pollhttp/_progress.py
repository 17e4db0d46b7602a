"""Progress bars for the command: one per transfer, with speed and ETA.

`make_display` picks `rich` when it is installed (the ``cli`` extra) and a plain ANSI
fallback otherwise; ``POLLHTTP_PROGRESS=plain`` forces the fallback. Every display also
carries the command's messages (`Display.log`), printed above the bars so they never mix.
The caller drives it from its own loop (`Display.refresh`): nothing here starts a thread.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import deque
from typing import Any, TextIO

__all__ = ["Display", "format_bytes", "make_display"]

_REFRESH = 0.1  # seconds between redraws
_WINDOW = 3.0  # seconds of samples behind the speed


def format_bytes(count: float) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def _format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    return (
        f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
        if hours
        else f"{rest // 60:02d}:{rest % 60:02d}"
    )


class _Meter:
    """Bytes done, the total (-1: unknown), and a speed over the last few seconds."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.done = 0
        self.total = -1
        self.finished = False
        self.ok = True
        self.samples: deque[tuple[float, int]] = deque([(time.monotonic(), 0)])

    def update(self, done: int, total: int) -> None:
        now = time.monotonic()
        self.done, self.total = done, total
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[0][0] > _WINDOW:
            self.samples.popleft()

    def speed(self) -> float:
        (t0, d0), (t1, d1) = self.samples[0], self.samples[-1]
        if not self.finished:
            t1 = time.monotonic()
        return (d1 - d0) / (t1 - t0) if t1 > t0 else 0.0

    def eta(self) -> float | None:
        speed = self.speed()
        if self.total < 0 or speed <= 0:
            return None
        return max(0.0, (self.total - self.done) / speed)


class Display:
    """No bars: messages go straight to the stream. The base of the two real displays."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._meters: list[_Meter] = []

    def add(self, label: str) -> int:
        """Start a bar; returns its id."""
        self._meters.append(_Meter(label))
        return len(self._meters) - 1

    def update(self, task: int, done: int, total: int) -> None:
        """Bytes done and the total (-1 when unknown)."""
        self._meters[task].update(done, total)

    def finish(self, task: int, ok: bool) -> None:
        """The transfer ended (``ok`` False: it failed)."""
        meter = self._meters[task]
        meter.finished, meter.ok = True, ok

    def log(self, text: str) -> None:
        """Print a line (above the bars, when there are bars)."""
        self.stream.write(text + "\n")
        self.stream.flush()

    def refresh(self, force: bool = False) -> None:
        """Redraw if the last redraw is old enough (or ``force``)."""

    def close(self) -> None:
        """Draw the final state and leave the cursor below it."""


class _PlainDisplay(Display):
    """Bars drawn with ANSI cursor movement, one line per transfer."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._drawn = 0  # lines of bars on the screen below the messages
        self._last = 0.0

    def _line(self, meter: _Meter, width: int) -> str:
        speed = f"{format_bytes(meter.speed())}/s"
        if meter.total >= 0:
            fraction = min(1.0, meter.done / meter.total) if meter.total else 1.0
            amounts = f"{format_bytes(meter.done)}/{format_bytes(meter.total)}"
            percent = f"{fraction * 100:3.0f}%"
        else:
            fraction = -1.0
            amounts, percent = format_bytes(meter.done), " ..."
        if meter.finished:
            tail = "done" if meter.ok else "failed"
        else:
            tail = f"ETA {_format_eta(meter.eta())}"
        info = f" {percent} {amounts} {speed} {tail}"
        label = meter.label if len(meter.label) <= 24 else "…" + meter.label[-23:]
        room = max(10, width - len(info) - len(label) - 4)
        if fraction < 0:
            pos = int(time.monotonic() * 8) % room
            bar = "".join("=" if abs(i - pos) < 3 else " " for i in range(room))
        else:
            filled = int(room * fraction)
            bar = "#" * filled + "-" * (room - filled)
        return f"{label} [{bar}]{info}"[: width - 1]

    def _erase(self) -> None:
        if self._drawn:
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0

    def _draw(self) -> None:
        width = shutil.get_terminal_size((80, 24)).columns
        for meter in self._meters:
            self.stream.write("\x1b[2K" + self._line(meter, width) + "\n")
        self._drawn = len(self._meters)
        self._last = time.monotonic()
        self.stream.flush()

    def log(self, text: str) -> None:
        self._erase()
        self.stream.write(text + "\n")
        self._draw()

    def refresh(self, force: bool = False) -> None:
        if self._meters and (force or time.monotonic() - self._last >= _REFRESH):
            self._erase()
            self._draw()

    def close(self) -> None:
        self.refresh(force=True)
        self._drawn = 0  # the final bars stay; later messages go below them
        self._meters = []


class _RichDisplay(Display):
    """Bars drawn by ``rich.progress``, refreshed from the caller's loop."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        from rich.console import Console  # noqa: PLC0415 - optional: the cli extra
        from rich.progress import (  # noqa: PLC0415
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress: Any = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(file=stream, force_terminal=True),
            auto_refresh=False,
        )
        self._tasks: list[Any] = []
        self._last = 0.0
        self._progress.start()

    def add(self, label: str) -> int:
        self._tasks.append(self._progress.add_task(label, total=None))
        return super().add(label)

    def update(self, task: int, done: int, total: int) -> None:
        super().update(task, done, total)
        self._progress.update(
            self._tasks[task], completed=done, total=total if total >= 0 else None
        )

    def finish(self, task: int, ok: bool) -> None:
        super().finish(task, ok)
        meter = self._meters[task]
        if ok:  # a finished bar is full, even when the size was not known in advance
            total = meter.total if meter.total >= 0 else meter.done
            self._progress.update(self._tasks[task], total=total)
        else:
            self._progress.update(self._tasks[task], description=f"{meter.label} (failed)")
        self._progress.stop_task(self._tasks[task])

    def log(self, text: str) -> None:
        self._progress.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def refresh(self, force: bool = False) -> None:
        if force or time.monotonic() - self._last >= _REFRESH:
            self._progress.refresh()
            self._last = time.monotonic()

    def close(self) -> None:
        self._progress.refresh()
        self._progress.stop()


def make_display(stream: TextIO, bars: bool) -> Display:
    """A display with bars (rich if installed, else plain) when ``bars``, else none."""
    if not bars:
        return Display(stream)
    if os.environ.get("POLLHTTP_PROGRESS", "").lower() != "plain":
        try:
            return _RichDisplay(stream)
        except ImportError:
            pass
    return _PlainDisplay(stream)
