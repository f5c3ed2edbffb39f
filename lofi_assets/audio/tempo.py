"""Tempo of rendered audio by beat tracking (librosa), and whether it agrees with a plan."""

from __future__ import annotations

import numpy as np
from scipy import signal

ANALYSIS_RATE_HZ = 22_050
TEMPO_TOLERANCE = 0.03  # ±3 %


def estimated_bpm(audio: np.ndarray, sample_rate_hz: int) -> float:
    import librosa  # heavy import, only where tempo is measured

    mono = signal.resample_poly(audio.mean(axis=0), ANALYSIS_RATE_HZ, sample_rate_hz).astype(
        np.float32
    )
    tempo, _ = librosa.beat.beat_track(y=mono, sr=ANALYSIS_RATE_HZ, hop_length=512)
    return float(np.atleast_1d(tempo)[0])


def tempo_agrees(
    measured_bpm: float, planned_bpm: float, tolerance: float = TEMPO_TOLERANCE
) -> bool:
    """Within ±3 % of the plan, or of half or double it (beat trackers pick a metrical level)."""
    return any(
        abs(measured_bpm - planned_bpm * factor) <= tolerance * planned_bpm * factor
        for factor in (0.5, 1.0, 2.0)
    )
