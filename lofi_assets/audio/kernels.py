"""Compile librosa's numba kernels once, in one process, before anything runs them in parallel.

librosa caches its numba kernels on disk beside its sources (``cache=True``). When two
processes compile the same ``@guvectorize`` kernel at the same moment, the kernel's two cache
files can come from different processes, and the next process that loads the pair dies with
SIGSEGV (numba/numba#10128, seen here as a crashed test worker in ``piptrack``). Setup calls
this once after installing packages (``python -m lofi_assets.audio.kernels``), so parallel
steps and test workers only ever read a complete cache.
"""

from __future__ import annotations

import numpy as np

from lofi_assets.audio.fingerprint import chroma_fingerprint
from lofi_assets.audio.tempo import estimated_bpm


def compile_analysis_kernels(sample_rate_hz: int = 44_100) -> None:
    """Run every librosa analysis the product uses on a few seconds of noise."""
    noise = np.random.default_rng(0).standard_normal((2, 6 * sample_rate_hz)).astype(np.float32)
    chroma_fingerprint(0.1 * noise, sample_rate_hz)
    estimated_bpm(0.1 * noise, sample_rate_hz)


if __name__ == "__main__":
    compile_analysis_kernels()
