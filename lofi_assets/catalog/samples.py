"""Samples cut from a track's stems: drum one-shots found by transient detection and 2- and
4-bar loops at the track's tempo, trimmed, faded and peak-normalized; and the measures the
sample pack's checks judge (loop length in whole bars, clipping, loudness range).

Audio is float32 shaped (channels, samples) at the stems' rate (44.1 kHz).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lofi_assets.audio.measure import integrated_lufs
from lofi_assets.audio.wav import read_wav, write_wav

BEATS_PER_BAR = 4  # lofi composes 4/4 only (music/plan_record.py)
LOOP_BARS = (2, 4)
LOOP_PEAK_DBFS = -1.0  # every sample peak-normalized here: headroom for a producer's chain
# Click-free edges: 2 ms is below what the ear hears as a fade, above one cycle at 500 Hz.
LOOP_FADE_S, ONE_SHOT_FADE_S = 0.002, 0.010
ONE_SHOT_MAX_S = 0.6
MAX_ONE_SHOTS = 8
SILENCE_DBFS = -60.0  # one-shots trimmed where their tail falls below this
# The checks' limits (README "Packs"): a loop is whole bars long to ±1 ms, never reaches
# -0.1 dBFS, and its integrated loudness lies between -36 and -6 LUFS. Peak-normalized to
# -1 dBFS, a sparse drum loop measures about -25 LUFS and a bass or keys loop about -13;
# quieter than -36 is a near-empty stem, louder than -6 a loop squashed into distortion.
LOOP_LENGTH_TOLERANCE_MS = 1.0
CLIPPING_CEILING_DBFS = -0.1
LOOP_LOUDNESS_RANGE_LUFS = (-36.0, -6.0)
MIN_LOOP_LEVEL_DBFS = -50.0  # a loop quieter than this (RMS) is skipped as silence


@dataclass(frozen=True)
class Sample:
    """A sample written to ``path``: a loop (``bars`` > 0) or a one-shot (``bars`` 0)."""

    path: Path
    kind: str  # loop | one_shot
    stem: str
    bpm: float
    key: str
    bars: int
    duration_s: float


@dataclass(frozen=True)
class LoopMeasure:
    """What the checks read of one loop file."""

    name: str
    bpm: float
    duration_s: float
    bars_error_ms: float  # distance from the nearest whole number (≥ 1) of bars
    peak_dbfs: float
    loudness_lufs: float


def bar_s(bpm: float) -> float:
    """Seconds in one 4/4 bar at ``bpm``."""
    return 60.0 / bpm * BEATS_PER_BAR


def slug(text: str) -> str:
    """File-name-safe text: ``F# dorian`` → ``Fsharp-dorian``."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text.replace("#", "sharp")).strip("-")


def loop_name(style: str, bpm: float, key: str, stem: str, bars: int, index: int) -> str:
    return f"{slug(style)}_{bpm:g}bpm_{slug(key)}_{stem}_{bars}bar_{index:02d}.wav"


def peak_dbfs(audio: np.ndarray) -> float:
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return float(20 * np.log10(peak)) if peak > 0 else -120.0  # digital silence


def faded_and_normalized(audio: np.ndarray, fade_s: float, rate: int) -> np.ndarray:
    """``audio`` with linear fades of ``fade_s`` at both ends, peak-normalized to
    ``LOOP_PEAK_DBFS``."""
    audio = audio.astype(np.float32).copy()
    fade = min(int(fade_s * rate), audio.shape[1] // 2)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        audio[:, :fade] *= ramp
        audio[:, -fade:] *= ramp[::-1]
    peak = float(np.max(np.abs(audio)))
    if peak > 0:
        audio *= np.float32(10 ** (LOOP_PEAK_DBFS / 20) / peak)
    return audio


def cut_loops(
    stem: Path, stem_name: str, folder: Path, *, style: str, bpm: float, key: str
) -> list[Sample]:
    """One loop of each length in ``LOOP_BARS`` from ``stem``: the first span of whole bars
    (from a bar line, counting from the track's start) loud enough to be music, exactly
    ``bars`` × ``bar_s(bpm)`` long (rounded to the sample), faded and normalized."""
    audio, rate = read_wav(stem)
    samples = []
    for bars in LOOP_BARS:
        length = round(bars * bar_s(bpm) * rate)
        for start_bar in range(1, int(audio.shape[1] / rate / bar_s(bpm)) - bars + 1):
            start = round(start_bar * bar_s(bpm) * rate)
            span = audio[:, start : start + length]
            rms_db = 10 * np.log10(float(np.mean(span.astype(np.float64) ** 2)) + 1e-20)
            if span.shape[1] == length and rms_db > MIN_LOOP_LEVEL_DBFS:
                path = folder / loop_name(style, bpm, key, stem_name, bars, start_bar)
                write_wav(path, faded_and_normalized(span, LOOP_FADE_S, rate), rate)
                samples.append(Sample(path, "loop", stem_name, bpm, key, bars, length / rate))
                break
    return samples


def cut_one_shots(drums: Path, folder: Path, prefix: str) -> list[Sample]:
    """Up to ``MAX_ONE_SHOTS`` drum hits of ``drums``: onsets found by librosa's spectral-flux
    onset detector (backtracked to the preceding energy minimum), each cut until the next
    onset or ``ONE_SHOT_MAX_S``, its tail trimmed below ``SILENCE_DBFS``, faded, normalized."""
    import librosa  # slow to import: only the sample pack needs it

    audio, rate = read_wav(drums)
    mono = audio.mean(axis=0)
    onsets = librosa.onset.onset_detect(
        y=mono, sr=rate, units="samples", backtrack=True, hop_length=512
    )
    samples: list[Sample] = []
    floor = 10 ** (SILENCE_DBFS / 20) * max(float(np.max(np.abs(mono))), 1e-9)
    for index, start in enumerate(onsets):
        end = onsets[index + 1] if index + 1 < len(onsets) else mono.size
        end = min(int(end), int(start) + int(ONE_SHOT_MAX_S * rate))
        hit = audio[:, int(start) : end]
        audible = np.nonzero(np.max(np.abs(hit), axis=0) > floor)[0]
        if audible.size == 0 or audible[-1] < 0.03 * rate:  # too short to be a hit
            continue
        hit = hit[:, : audible[-1] + 1]
        path = folder / f"{prefix}_hit_{len(samples) + 1:02d}.wav"
        write_wav(path, faded_and_normalized(hit, ONE_SHOT_FADE_S, rate), rate)
        samples.append(Sample(path, "one_shot", "drums", 0.0, "", 0, hit.shape[1] / rate))
        if len(samples) == MAX_ONE_SHOTS:
            break
    return samples


def measure_loop(path: Path, bpm: float) -> LoopMeasure:
    """Length against whole bars at ``bpm``, sample peak and integrated loudness of a loop."""
    audio, rate = read_wav(path)
    duration_s = audio.shape[1] / rate
    bars = max(1, round(duration_s / bar_s(bpm)))
    return LoopMeasure(
        name=path.name,
        bpm=bpm,
        duration_s=duration_s,
        bars_error_ms=float(abs(duration_s - bars * bar_s(bpm)) * 1000),
        peak_dbfs=peak_dbfs(audio),
        loudness_lufs=float(integrated_lufs(audio, rate)),
    )


def loop_length_problems(measures: Sequence[LoopMeasure]) -> list[str]:
    return [
        f"{m.name}: {m.duration_s:.4f} s is {m.bars_error_ms:.2f} ms off whole bars at {m.bpm:g} BPM"
        for m in measures
        if m.bars_error_ms > LOOP_LENGTH_TOLERANCE_MS
    ]


def clipping_problems(peaks_dbfs: dict[str, float]) -> list[str]:
    return [
        f"{name}: peak {peak:.2f} dBFS reaches {CLIPPING_CEILING_DBFS} dBFS"
        for name, peak in peaks_dbfs.items()
        if peak >= CLIPPING_CEILING_DBFS
    ]


def loudness_problems(measures: Sequence[LoopMeasure]) -> list[str]:
    low, high = LOOP_LOUDNESS_RANGE_LUFS
    return [
        f"{m.name}: {m.loudness_lufs:.1f} LUFS is outside {low:g}…{high:g} LUFS"
        for m in measures
        if not low <= m.loudness_lufs <= high
    ]
