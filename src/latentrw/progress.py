"""A progress bar with an ETA over a known number of steps, and the wall and CPU time they took.

On a terminal the bar is redrawn in place under the lines printed above it; elsewhere (a log
file, a pipe) each step prints one line, so a log keeps the whole history.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from typing import TextIO


def clock(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) of a duration."""
    seconds = max(0, round(seconds))
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


def machine() -> str:
    """``AMD EPYC, 2 cores``: the CPU model (Linux's /proc/cpuinfo) and the cores this process may use."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {cores} cores"


class Stopwatch:
    """Wall and CPU time (all threads of this process) since it was made."""

    def __init__(self):
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()

    def elapsed(self) -> float:
        return time.perf_counter() - self.wall0

    def summary(self) -> str:
        """``wall 4:12, CPU 7:58 (1.9 cores busy)``."""
        wall, cpu = self.elapsed(), time.process_time() - self.cpu0
        return f"wall {clock(wall)}, CPU {clock(cpu)} ({cpu / max(wall, 1e-9):.1f} cores busy)"


class Progress:
    """``total`` steps: :meth:`advance` after each one with a line to print, :meth:`close` at
    the end. The ETA is the mean time of the steps done so far times the steps left."""

    def __init__(self, total: int, echo: Callable[[str], None] | None = None, stream: TextIO | None = None,
                 width: int = 24):
        self.total, self.done, self.width = total, 0, width
        self.stream = stream or sys.stdout
        self.echo = echo or (lambda line: print(line, file=self.stream, flush=True))
        self.tty = echo is None and self.stream.isatty()
        self.watch = Stopwatch()

    def bar(self) -> str:
        """``[#####.....] 12/90  0:45 elapsed, ETA 4:10``."""
        elapsed = self.watch.elapsed()
        filled = self.width * self.done // max(self.total, 1)
        eta = clock(elapsed / self.done * (self.total - self.done)) if self.done else "…"
        return (f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} "
                f"{clock(elapsed)} elapsed, ETA {eta}")

    def note(self, line: str) -> None:
        """Print a line without advancing (e.g. a sampler that does not apply)."""
        if self.tty:
            self.stream.write("\r\033[K")
        self.echo(line)
        if self.tty:
            self.stream.write(self.bar())
            self.stream.flush()

    def advance(self, line: str) -> None:
        """One step done: print ``line`` and the bar."""
        self.done = min(self.total, self.done + 1)
        if self.tty:
            self.note(line)
        else:
            self.echo(f"{self.bar()}  {line}")

    def close(self) -> None:
        """Clear the bar (on a terminal) so that the next line starts clean."""
        if self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()
