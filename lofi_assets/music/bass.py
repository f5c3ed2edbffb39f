"""Bass: root-following, walking lines with chromatic approaches, and syncopated grooves."""

from __future__ import annotations

import itertools
import random

from lofi_assets.music.progressions import ChordEvent
from lofi_assets.music.score import BEATS_PER_BAR, NoteEvent, Part, Section, swing_position
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


def _held_to_rest(rows: list[tuple[float, float, int, int]], length: float) -> list[tuple]:
    """A chord's line before the bass rests: no approach note leading nowhere. The first half
    of the bar as written, then the root held through to the edge (a half-bar chord: the
    root alone)."""
    root = rows[0][2]
    half = length / 2 if length >= BEATS_PER_BAR else 0.0
    kept = [(start, min(duration, half - start), pitch, v) for start, duration, pitch, v in rows]
    kept = [row for row in kept if row[0] < half]
    if kept and kept[-1][2] == root:  # the root already sounding: let it ring on
        start, _, pitch, velocity = kept.pop()
        return [*kept, (start, length - start - 0.05, pitch, velocity)]
    return [*kept, (half, length - half - 0.05, root, 88)]


def _rest_edges(sections: list[Section] | None) -> set[float]:
    """Beats where a section with bass hands over to one without."""
    if not sections:
        return set()
    return {
        section.end_beats
        for section, following in itertools.pairwise(sections)
        if section.plays("bass") and not following.plays("bass")
    }


def compose_bass(
    timeline: list[ChordEvent],
    key: Key,
    pattern: str,
    swing: float,
    instrument: Instrument,
    rng: random.Random,
    sections: list[Section] | None = None,
) -> Part:
    """The bass line under every chord but the last, which gets the tonic, held.

    Which sections the bass actually plays is the arrangement's choice (``Section.parts``);
    the line is written throughout so it is continuous wherever it enters. Before a section
    without bass (given ``sections``) the line holds the root to the edge instead of leaning
    into a chord it will not play.
    """
    notes: list[NoteEvent] = []
    previous_pitch = (BASS_LOW + BASS_HIGH) // 2
    rest_edges = _rest_edges(sections)
    for index, chord in enumerate(timeline[:-1]):
        next_root_pc = timeline[index + 1].chord.root_pc
        rows = _line_for_chord(pattern, chord, next_root_pc, previous_pitch, key, swing, rng)
        chord_end = chord.start_beats + chord.duration_beats
        if any(abs(chord_end - edge) < 1e-6 for edge in rest_edges):
            rows = _held_to_rest(rows, chord.duration_beats)
        for start, duration, pitch, velocity in rows:
            notes.append(NoteEvent(chord.start_beats + start, duration, pitch, velocity, "bass"))
            previous_pitch = pitch
    final = timeline[-1]  # the tonic under the last bar, held
    notes.append(
        NoteEvent(
            final.start_beats, final.duration_beats, _nearest(final.chord.root_pc, 40), 90, "bass"
        )
    )
    return Part("bass", instrument.program, instrument.name, BASS_CHANNEL, notes)
