"""Harmony parts: Rhodes/piano comping, arpeggiated stabs, finger-picked guitar and pads.

Every chord is voiced rootless (the bass has the root) and voice-led from the previous one,
so the inner voices move by the smallest steps — the smooth sound of lo-fi keys. Block
chords are held legato up to the next hit; a keyboard player pedals block chords and
arpeggios, lifting the pedal as the next chord is struck and catching it just after, so
each chord rings into the next without blurring two harmonies. Stabs stay short on purpose.
The harmony sits under the melody: the pad's top voice never reaches the melody's register.
"""

from __future__ import annotations

import random

from lofi_assets.music.progressions import ChordEvent
from lofi_assets.music.score import BEATS_PER_BAR, NoteEvent, Part, PedalSpan, swing_position
from lofi_assets.music.styles import Instrument
from lofi_assets.music.theory import QUALITY_INTERVALS, voice_lead

KEYS_RANGE = (50, 72)  # D3–C5: warm, clear of the bass and mostly under the melody
PAD_RANGE = (48, 67)  # C3–G4: a bed below the melody (melody.MELODY_RANGE starts at A4)
THUMB_RANGE = (40, 52)  # a guitarist's thumb on the low strings
KEYS_CHANNEL, PAD_CHANNEL = 2, 4

# (start, duration) rhythms for a bar of comping; pushes on the "and" are the lo-fi lilt.
BLOCK_RHYTHMS = (
    ((0.0, 3.8),),
    ((0.0, 1.4), (1.5, 2.3)),
    ((0.0, 2.4), (2.5, 1.3)),
    ((0.0, 1.9), (2.0, 1.4), (3.5, 0.4)),
)
STAB_SLOTS = (0, 3, 6, 10, 13)  # 16th-note indices, swung when odd
ROLL_BEATS = 0.03  # an arpeggiated stab rolls its notes upward, about 20 ms apart
# The pedal is caught this long after a chord change (an eighth of a beat, ~80 ms at 90
# BPM): later than any humanised onset of the new chord (≤ 45 ms), so it catches the new
# chord and none of the old one.
PEDAL_CATCH_BEATS = 0.125
PEDALLED_PATTERNS = frozenset({"block", "arpeggio"})
KEYBOARD_PROGRAMS = range(0, 8)  # GM pianos and electric pianos: the instruments with a pedal


def _block(voicing: tuple[int, ...], length: float, rng: random.Random) -> list[tuple]:
    """Block chords on the bar's rhythm, each held legato until the next (or the change)."""
    rhythm = rng.choice(BLOCK_RHYTHMS) if length >= BEATS_PER_BAR else ((0.0, length),)
    starts = [start for start, _ in rhythm]
    rows = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else length
        velocity = rng.randint(64, 78) if start == 0 else rng.randint(54, 68)
        rows += [(start, end - start, pitch, velocity) for pitch in voicing]
    return rows


def _stabs(voicing: tuple[int, ...], length: float, swing: float, rng: random.Random) -> list:
    slots = [s for s in STAB_SLOTS if swing_position(s, swing) < length]
    chosen = [slots[0]] + [s for s in slots[1:] if rng.random() < 0.6]
    rows = []
    for slot in chosen:
        start = swing_position(slot, swing)
        velocity = rng.randint(62, 80)
        for voice, pitch in enumerate(voicing):
            rows.append((start + voice * ROLL_BEATS, 0.45, pitch, velocity - 2 * voice))
    return rows


def _arpeggio(voicing: tuple[int, ...], length: float, rng: random.Random) -> list:
    order = list(range(len(voicing))) + list(range(len(voicing) - 2, 0, -1))
    if rng.random() < 0.5:
        order = order[::-1]
    rows = []
    steps = int(length / 0.5)
    for step in range(steps):
        pitch = voicing[order[step % len(order)]]
        velocity = 70 if step % 2 == 0 else 60
        rows.append((step * 0.5, 0.6, pitch, velocity + rng.randint(-4, 4)))
    return rows


def _fingerpick(chord: ChordEvent, voicing: tuple[int, ...], rng: random.Random) -> list:
    """Travis picking: the thumb alternates root and fifth on the beat, fingers answer between."""
    root_pc = chord.chord.root_pc
    fifth_pc = (root_pc + QUALITY_INTERVALS[chord.chord.quality][2]) % 12
    thumb = next(p for p in range(*THUMB_RANGE) if p % 12 == root_pc)
    thumb_fifth = next(p for p in range(thumb, thumb + 12) if p % 12 == fifth_pc)
    rows = []
    for beat in range(int(chord.duration_beats)):
        rows.append((float(beat), 0.95, thumb if beat % 2 == 0 else thumb_fifth, 72))
        upper = voicing[-2:] if beat % 2 == 0 else voicing[1:2]
        for pitch in upper:
            rows.append((beat + 0.5, 0.9, pitch, 60 + rng.randint(-4, 4)))
    return rows


def compose_keys(
    timeline: list[ChordEvent],
    pattern: str,
    swing: float,
    instrument: Instrument,
    rng: random.Random,
) -> Part:
    """The comping part; keyboards pedal block chords and arpeggios (``Part.pedal``)."""
    pedalled = pattern in PEDALLED_PATTERNS and instrument.program in KEYBOARD_PROGRAMS
    pedal: list[PedalSpan] = []
    notes: list[NoteEvent] = []
    voicing: tuple[int, ...] | None = None
    for index, chord in enumerate(timeline):
        voicing = voice_lead(chord.chord, voicing, *KEYS_RANGE)
        is_final = index == len(timeline) - 1
        length = chord.duration_beats
        if is_final:
            rows = [(0.0, length, pitch, 66) for pitch in voicing]
        elif pattern == "stabs":
            rows = _stabs(voicing, length, swing, rng)
        elif pattern == "arpeggio":
            rows = _arpeggio(voicing, length, rng)
        elif pattern == "fingerpick" and length >= 2:
            rows = _fingerpick(chord, voicing, rng)
        else:
            rows = _block(voicing, length, rng)
        notes += [
            NoteEvent(chord.start_beats + start, duration, pitch, velocity, "keys")
            for start, duration, pitch, velocity in rows
        ]
        if (pedalled or is_final) and instrument.program in KEYBOARD_PROGRAMS:
            end = chord.start_beats + length
            pedal.append(PedalSpan(chord.start_beats + PEDAL_CATCH_BEATS, end))
    return Part("keys", instrument.program, instrument.name, KEYS_CHANNEL, notes, pedal)


def compose_pad(timeline: list[ChordEvent], instrument: Instrument, rng: random.Random) -> Part:
    """A three-voice pad sustaining every chord: the bed the rest of the track sits on."""
    notes: list[NoteEvent] = []
    voicing: tuple[int, ...] | None = None
    for chord in timeline:
        voicing = voice_lead(chord.chord, voicing, *PAD_RANGE, voices=3)
        velocity = rng.randint(46, 58)
        notes += [
            NoteEvent(chord.start_beats, chord.duration_beats, pitch, velocity, "pad")
            for pitch in voicing
        ]
    return Part("pad", instrument.program, instrument.name, PAD_CHANNEL, notes)
