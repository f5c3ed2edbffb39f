"""One set of measurements for any melodies: corpus, engine or model.

A melody here is a sequence of (pitch, start beats, duration beats). The n-gram originality
test looks at runs of 8 consecutive (interval, duration) pairs: a generated melody must not
repeat any run found in the training corpus.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

NGRAM = 8
C_MAJOR = frozenset({0, 2, 4, 5, 7, 9, 11})  # also A natural minor: the normalized corpus key
MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)

Note = tuple[int, float, float]


def _features(notes: Sequence[Note]) -> list[tuple[int, int]]:
    ordered = sorted(notes, key=lambda n: (n[1], -n[0]))
    return [
        (b[0] - a[0], round(b[2] * 12))  # interval, duration in twelfths of a beat
        for a, b in itertools.pairwise(ordered)
    ]


def _hash(run: tuple) -> int:
    digest = hashlib.blake2b(repr(run).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def ngram_hashes(notes: Sequence[Note], n: int = NGRAM) -> np.ndarray:
    features = _features(notes)
    return np.array(
        sorted({_hash(tuple(features[i : i + n])) for i in range(len(features) - n + 1)}),
        dtype=np.int64,
    )


def originality_rate(notes: Sequence[Note], corpus_hashes: np.ndarray) -> float:
    """Share of the melody's 8-note runs that are not in the corpus (1.0: nothing copied)."""
    hashes = ngram_hashes(notes)
    if hashes.size == 0:
        return 1.0
    return float(1.0 - np.isin(hashes, corpus_hashes).mean())


def pitch_class_entropy(notes: Sequence[Note]) -> float:
    counts = Counter(p % 12 for p, _, _ in notes)
    total = sum(counts.values())
    return -sum(c / total * math.log2(c / total) for c in counts.values()) if total else 0.0


def in_key_rate(notes: Sequence[Note], scale_pcs: frozenset[int] = C_MAJOR) -> float:
    return sum(p % 12 in scale_pcs for p, _, _ in notes) / len(notes) if notes else 1.0


def scale_consistency(notes: Sequence[Note]) -> float:
    """The best in-scale share over the 12 major scales (their relative minors share them)."""
    return max(
        in_key_rate(notes, frozenset((tonic + s) % 12 for s in MAJOR_STEPS)) for tonic in range(12)
    )


def empty_beat_rate(notes: Sequence[Note]) -> float:
    if not notes:
        return 1.0
    first = math.floor(min(s for _, s, _ in notes))
    last = math.ceil(max(s + d for _, s, d in notes))
    sounding = set()
    for _, start, duration in notes:
        sounding.update(range(math.floor(start), math.ceil(start + duration)))
    beats = range(first, last)
    return sum(beat not in sounding for beat in beats) / max(1, len(beats))


WINDOW_BEATS = 32.0  # metrics compare melodies over their first 8 bars: entropy grows with length


def window(notes: Sequence[Note], beats: float = WINDOW_BEATS) -> list[Note]:
    if not notes:
        return []
    first = min(s for _, s, _ in notes)
    return [(p, s - first, d) for p, s, d in notes if s - first < beats]


def melody_metrics(
    notes: Sequence[Note], corpus_hashes: np.ndarray, scale_pcs: frozenset[int] = C_MAJOR
) -> dict[str, float]:
    """Every measurement over the melody's first WINDOW_BEATS, so lengths compare fairly."""
    notes = window(notes)
    pitches = [p for p, _, _ in notes]
    return {
        "pitch_class_entropy": pitch_class_entropy(notes),
        "scale_consistency": scale_consistency(notes),
        "in_key_rate": in_key_rate(notes, scale_pcs),
        "pitch_range": float(max(pitches) - min(pitches)) if pitches else 0.0,
        "empty_beat_rate": empty_beat_rate(notes),
        "originality_rate": originality_rate(notes, corpus_hashes),
    }


def summarize(rows: Iterable[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Mean and standard deviation of every metric over a set of melodies."""
    rows = list(rows)
    if not rows:
        return {}
    return {
        name: {
            "mean": round(statistics.fmean(r[name] for r in rows), 4),
            "sd": round(statistics.pstdev(r[name] for r in rows), 4),
        }
        for name in rows[0]
    }
