"""glibc's malloc set to keep freed memory in the process, for PyTorch on a CPU.

PyTorch's CPU allocator gives every tensor back to malloc as soon as it is freed, and glibc by
default returns large blocks to the kernel: those above its (adaptive) mmap threshold at once, the
top of the heap once more than the trim threshold is free. A cnn step allocates and frees tens of
megabytes of activations, so the next step gets fresh pages that the kernel must fault in and zero.
On the idle 2-core Intel Xeon a critic step of the w trainer on the cnn (batch 256, gradient
penalty, one thread) spent 0.63 s of system time beside 2.55 s of user time that way, and 0.02 s
with the settings below: 3.20 → 2.64 s a step (``benchmarks/malloc_speed.py``). The price: up to 1 GiB of
freed memory stays with the process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

# mallopt parameters (glibc's malloc.h)
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
SETTINGS = {
    M_MMAP_THRESHOLD: 32 << 20,  # glibc's largest: blocks up to 32 MiB come from the heap, not from mmap
    M_TRIM_THRESHOLD: 1 << 30,  # keep up to 1 GiB free at the heap's top instead of returning it
    M_TOP_PAD: 256 << 20,  # and grow the heap in steps of 256 MiB
}
ENV = "LATENTRW_KEEP_MEMORY"  # "0": leave malloc as it is


def keep_freed_memory() -> bool:
    """Set glibc's malloc (through ``mallopt``) to keep freed memory for the next allocation instead
    of returning it to the kernel. Returns whether it applied: not off Linux, not with another C
    library, not with ``LATENTRW_KEEP_MEMORY=0``. The same as starting the process with
    ``MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_TOP_PAD_=268435456``."""
    if os.environ.get(ENV, "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in SETTINGS.items())
