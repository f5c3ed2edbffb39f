"""Chroma fingerprints: does a new master repeat one already in the catalog?

A fingerprint is the track's chroma (librosa) averaged over 2-second segments, with each
pitch class centred over time so the shared key profile of two songs in the same key does
not count as likeness — only the movement of harmony and melody does. Similarity is the best
mean cosine between aligned segments over every time offset that overlaps at least half of
the shorter track.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

SEGMENT_S = 2.0
ANALYSIS_RATE_HZ = 22_050
# Measured here: a re-render of one sketch (even by an older version of the chain) scores
# 0.99; six sketches in the same style, key and tempo scored at most 0.42 against each other
# (mean 0.25), different styles about 0.1. 0.9 leaves a wide margin both ways; the test
# test_fingerprints_flag_a_duplicate_but_not_a_different_track guards both sides.
DUPLICATE_SIMILARITY = 0.9


def chroma_fingerprint(audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """(12, segments) float32, each segment unit length."""
    import librosa  # heavy import, only where fingerprints are made

    mono = signal.resample_poly(audio.mean(axis=0), ANALYSIS_RATE_HZ, sample_rate_hz).astype(
        np.float32
    )
    hop = 2_048
    chroma = librosa.feature.chroma_stft(y=mono, sr=ANALYSIS_RATE_HZ, n_fft=4_096, hop_length=hop)
    frames_per_segment = max(1, int(SEGMENT_S * ANALYSIS_RATE_HZ / hop))
    segments = chroma.shape[1] // frames_per_segment
    if segments == 0:
        return np.zeros((12, 0), dtype=np.float32)
    pooled = (
        chroma[:, : segments * frames_per_segment]
        .reshape(12, segments, frames_per_segment)
        .mean(axis=2)
    )
    centred = pooled - pooled.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=0, keepdims=True)
    return (centred / np.maximum(norms, 1e-9)).astype(np.float32)


def fingerprint_similarity(first: np.ndarray, second: np.ndarray) -> float:
    """Best mean cosine similarity over time offsets that overlap half the shorter track."""
    n, m = first.shape[1], second.shape[1]
    if n == 0 or m == 0:
        return 0.0
    cosines = first.T @ second  # (n, m)
    minimum_overlap = max(1, min(n, m) // 2)
    best = -1.0
    for offset in range(-(n - 1), m):
        diagonal = np.diagonal(cosines, offset=offset)
        if diagonal.size >= minimum_overlap:
            best = max(best, float(diagonal.mean()))
    return best
