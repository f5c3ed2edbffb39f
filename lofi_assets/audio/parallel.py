"""How many threads one step's audio work may use, and a map over them.

FluidSynth, pedalboard, scipy's filters and most numpy work release the GIL, so a step that
runs alone (the daily release: one track step at a time) renders on every core. A backfill
runs several partitions at once and gets its parallelism from them instead; there each step
should keep to its share of the cores, or the steps only fight over them. Set
``LOFI_STEP_THREADS`` on the machines that run backfills (1 per concurrent run is right for
CPU-bound steps). Results never depend on it: work is split the same way, only scheduled
differently.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

STEP_THREADS_ENV = "LOFI_STEP_THREADS"

Item = TypeVar("Item")
Result = TypeVar("Result")


def step_threads() -> int:
    """``LOFI_STEP_THREADS`` when set, else every core."""
    value = os.environ.get(STEP_THREADS_ENV, "").strip()
    if not value:
        return os.cpu_count() or 1
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{STEP_THREADS_ENV} must be a whole number ≥ 1, not {value!r}")
    return int(value)


def thread_map(function: Callable[[Item], Result], items: Iterable[Item]) -> list[Result]:
    """``[function(item) for item in items]`` on up to ``step_threads()`` threads, in order."""
    items = list(items)
    threads = min(step_threads(), len(items))
    if threads <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(function, items))
