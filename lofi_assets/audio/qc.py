"""Everything the mastered_wav checks judge, measured once from the file on disk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lofi_assets.audio import measure
from lofi_assets.audio.tempo import estimated_bpm
from lofi_assets.audio.wav import read_wav

# A 24-bit file cannot hold 1.0: anything this close to full scale is a clipped sample.
CLIP_LEVEL = 1.0 - 2.0**-20


@dataclass(frozen=True)
class MasterQc:
    integrated_lufs: float
    true_peak_dbtp: float
    loudness_range_lu: float
    duration_s: float
    stereo_correlation: float
    mono_fold_down_loss_lu: float
    clipped_samples: int
    non_finite_samples: int
    dc_offset_dbfs: float
    silence: measure.SilenceReport
    octave_bands_db: dict[int, float]
    estimated_bpm: float


def measure_master(path: Path | str) -> tuple[MasterQc, np.ndarray, int]:
    audio, sample_rate_hz = read_wav(path)
    report = measure.loudness_report(audio, sample_rate_hz)
    qc = MasterQc(
        integrated_lufs=report.integrated_lufs,
        true_peak_dbtp=report.true_peak_dbtp,
        loudness_range_lu=report.loudness_range_lu,
        duration_s=report.duration_s,
        stereo_correlation=report.stereo_correlation,
        mono_fold_down_loss_lu=measure.mono_fold_down_loss_lu(audio, sample_rate_hz),
        clipped_samples=measure.clipped_samples(audio, CLIP_LEVEL),
        non_finite_samples=measure.non_finite_samples(audio),
        dc_offset_dbfs=measure.dc_offset_dbfs(audio),
        silence=measure.silence(audio, sample_rate_hz),
        octave_bands_db=measure.octave_band_levels_db(audio, sample_rate_hz),
        estimated_bpm=estimated_bpm(audio, sample_rate_hz),
    )
    return qc, audio, sample_rate_hz
