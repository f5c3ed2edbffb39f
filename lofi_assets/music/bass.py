"""Bass: root-following, walking lines with chromatic approaches, and syncopated grooves."""

from __future__ import annotations

import random

from lofi_assets.music.progressions import ChordEvent
from lofi_assets.music.score import BEATS_PER_BAR, NoteEvent, Part, swing_position
from lofi_assets.music.styles import Instrument
from lofi_assets.music.theory import QUALITY_INTERVALS, Key

BASS_LOW, BASS_HIGH = 33, 47  # A1–B2: the register a bass guitar lives in under a Rhodes
BASS_CHANNEL = 1


def _nearest(pc: int, reference: int, low: int = BASS_LOW, high: int = BASS_HIGH) -> int:
    candidates = [pitch for pitch in range(low, high + 1) if pitch % 12 == pc]
    return min(candidates, key=lambda pitch: (abs(pitch - reference), pitch))


def _approach(target: int, key: Key, rng: random.Random) -> int:
    """A note one step from ``target``: chromatic half the time, diatonic otherwise."""
    if rng.random() < 0.5:
        return target + rng.choice((-1, 1))
    below = [p for p in range(target - 2, target) if key.contains(p)]
    above = [p for p in range(target + 1, target + 3) if key.contains(p)]
    options = below[-1:] + above[:1]
    return rng.choice(options) if options else target - 1


def _chord_tone(chord: ChordEvent, index: int) -> int:
    return (chord.chord.root_pc + QUALITY_INTERVALS[chord.chord.quality][index]) % 12


def _line_for_chord(
    pattern: str,
    chord: ChordEvent,
    next_root_pc: int,
    previous_pitch: int,
    key: Key,
    swing: float,
    rng: random.Random,
) -> list[tuple[float, float, int, int]]:
    """(start, duration, pitch, velocity) rows for one chord, relative to the chord start."""
    root = _nearest(chord.chord.root_pc, previous_pitch)
    next_root = _nearest(next_root_pc, root)
    length = chord.duration_beats
    if length < BEATS_PER_BAR:  # a half-bar chord: root, then lean into the next chord
        return [
            (0.0, length - 0.5, root, 96),
            (length - 0.5, 0.45, _approach(next_root, key, rng), 80),
        ]
    if pattern == "walking":
        third = _nearest(_chord_tone(chord, 1), root + 4)
        fifth = _nearest(_chord_tone(chord, 2), third + 3)
        middle = rng.choice((third, fifth))
        upper = fifth if middle == third else _nearest(_chord_tone(chord, 3), fifth + 3)
        return [
            (0.0, 0.95, root, 98),
            (1.0, 0.95, middle, 84),
            (2.0, 0.95, upper, 88),
            (3.0, 0.95, _approach(next_root, key, rng), 80),
        ]
    if pattern == "syncopated":
        fifth = _nearest(_chord_tone(chord, 2), root + 7)
        return [
            (0.0, 0.7, root, 100),
            (swing_position(3, swing), 0.6, root, 76),
            (1.5, 1.0, root + 12 if root + 12 <= BASS_HIGH + 5 else root, 86),
            (swing_position(11, swing), 0.5, fifth, 80),
            (3.5, 0.45, _approach(next_root, key, rng), 78),
        ]
    fifth = _nearest(_chord_tone(chord, 2), root + 7)
    return [
        (0.0, 2.4, root, 100),
        (2.5, 0.9, fifth, 84),
        (3.5, 0.45, _approach(next_root, key, rng), 76),
    ]


def compose_bass(
    timeline: list[ChordEvent],
    key: Key,
    pattern: str,
    swing: float,
    instrument: Instrument,
    rng: random.Random,
) -> Part:
    """The bass line under every chord but the last, which gets the tonic, held.

    Which sections the bass actually plays is the arrangement's choice (``Section.parts``);
    the line is written throughout so it is continuous wherever it enters.
    """
    notes: list[NoteEvent] = []
    previous_pitch = (BASS_LOW + BASS_HIGH) // 2
    for index, chord in enumerate(timeline[:-1]):
        next_root_pc = timeline[index + 1].chord.root_pc
        for start, duration, pitch, velocity in _line_for_chord(
            pattern, chord, next_root_pc, previous_pitch, key, swing, rng
        ):
            notes.append(NoteEvent(chord.start_beats + start, duration, pitch, velocity, "bass"))
            previous_pitch = pitch
    final = timeline[-1]  # the tonic under the last bar, held
    notes.append(
        NoteEvent(
            final.start_beats, final.duration_beats, _nearest(final.chord.root_pc, 40), 90, "bass"
        )
    )
    return Part("bass", instrument.program, instrument.name, BASS_CHANNEL, notes)
