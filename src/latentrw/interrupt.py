"""Ctrl-C between steps, never inside one."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[Callable[[], bool]]:
    """While active, Ctrl-C (SIGINT) only raises a flag that the loop checks between steps,
    so a step is never cut in half. Outside the main thread (no signals) it does nothing."""
    hit = []
    try:
        previous = signal.signal(signal.SIGINT, lambda *_: hit.append(True))
    except ValueError:  # not the main thread
        yield lambda: False
        return
    try:
        yield lambda: bool(hit)
    finally:
        signal.signal(signal.SIGINT, previous)
