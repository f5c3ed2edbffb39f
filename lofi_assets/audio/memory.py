"""Keep freed memory in the process for reuse: audio work allocates many 60 MB arrays.

glibc hands every large allocation back to the kernel on free, so the next array of the same
size is faulted in again page by page; in a virtual machine that first touch can cost more
than the DSP itself (measured here: wow/flutter on 3 minutes, 1.5 s cold vs 0.4 s warm).
Processes that produce audio call ``reuse_freed_memory()`` once, at start. Peak memory is
unchanged; the process simply keeps its peak until it exits.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX, M_ARENA_MAX = -1, -2, -4, -8


@functools.cache
def reuse_freed_memory() -> bool:
    """Tell glibc's malloc to serve big arrays from its heap and keep them; False elsewhere."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl, macOS: no mallopt, nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # One arena: render threads hand memory back to a pool the next thread can reuse.
    return bool(
        mallopt(M_ARENA_MAX, 1)
        and mallopt(M_MMAP_MAX, 0)
        and mallopt(M_TRIM_THRESHOLD, 2**31 - 1)
        and mallopt(M_TOP_PAD, 64 * 2**20)
    )
