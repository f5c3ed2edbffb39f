"""Drums: boom-bap kicks, a backbeat with ghost notes, swung hats, percussion and fills."""

from __future__ import annotations

import random

from lofi_assets.music.score import (
    BEATS_PER_BAR,
    DRUM_CHANNEL,
    SIXTEENTHS_PER_BAR,
    NoteEvent,
    Part,
    Section,
    swing_position,
)
from lofi_assets.music.styles import Style

# General MIDI percussion key map.
KICK, SIDE_STICK, SNARE = 36, 37, 38
CLOSED_HAT, PEDAL_HAT, OPEN_HAT = 42, 44, 46
CRASH, TAMBOURINE, SHAKER = 49, 54, 82
HIGH_BONGO, LOW_BONGO = 60, 61
TOMS = (50, 48, 47, 45)  # high to low, for fills rolling down the kit
HAT_PITCHES = frozenset({CLOSED_HAT, PEDAL_HAT, OPEN_HAT})

# Kick placements as 16th-note indices for a two-bar phrase. Boom bap keeps the kick on one
# and lands the second hit late in the bar (the "and of three"), never on the backbeat.
KICK_PATTERNS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "boom_bap": ((0, 10), (0, 7, 10)),
    "boom_bap_push": ((0, 3, 10), (0, 8, 10, 15)),
    "lazy": ((0, 11), (0, 6, 10)),
    "double": ((0, 2, 10), (0, 7, 9)),
    "sparse": ((0,), (0, 10)),
}
BACKBEAT = (4, 12)  # beats two and four
GHOST_SLOTS = (3, 6, 7, 9, 14, 15)
GHOST_VELOCITY = (25, 45)  # quiet enough to be felt rather than heard
BONGO_PATTERN = ((3, HIGH_BONGO), (6, LOW_BONGO), (11, HIGH_BONGO), (14, LOW_BONGO))


def kick_pattern_names() -> tuple[str, ...]:
    return tuple(KICK_PATTERNS)


def _hit(sixteenth: int, bar_start: float, swing: float) -> float:
    return bar_start + swing_position(sixteenth, swing)


def _groove_bar(
    bar_start: float,
    bar_in_phrase: int,
    kick_pattern: tuple[tuple[int, ...], tuple[int, ...]],
    style: Style,
    swing: float,
    percussion: tuple[str, ...],
    rng: random.Random,
    last_sixteenth: int = SIXTEENTHS_PER_BAR,
) -> list[NoteEvent]:
    feel = style.drums
    notes: list[NoteEvent] = []

    def add(sixteenth: int, pitch: int, velocity: int, voice: str, length: float = 0.25) -> None:
        if sixteenth < last_sixteenth:
            notes.append(
                NoteEvent(_hit(sixteenth, bar_start, swing), length, pitch, velocity, voice)
            )

    for sixteenth in kick_pattern[bar_in_phrase % 2]:
        add(sixteenth, KICK, 112 if sixteenth == 0 else rng.randint(92, 106), "kick")
    for sixteenth in BACKBEAT:
        add(sixteenth, SNARE, rng.randint(96, 110), "snare")
    for sixteenth in GHOST_SLOTS:
        if rng.random() < feel.ghost_note_density:
            add(sixteenth, SNARE, rng.randint(*GHOST_VELOCITY), "ghost")

    # Hats: every 8th, plus swung 16ths by density. At least one off-beat 16th per bar so
    # the swing is always audible (and measurable).
    odd_slots = [s for s in range(1, SIXTEENTHS_PER_BAR, 2) if rng.random() < feel.hat_density]
    if not odd_slots:
        odd_slots = [rng.choice((7, 15))]
    open_slot = 14 if rng.random() < feel.open_hat_probability else None
    for sixteenth in range(0, SIXTEENTHS_PER_BAR, 2):
        accent = 92 if sixteenth % 4 == 0 else 74
        if sixteenth == open_slot:
            add(sixteenth, OPEN_HAT, 80, "hats", 0.5)
        else:
            add(sixteenth, CLOSED_HAT, rng.randint(accent - 6, accent + 6), "hats")
    for sixteenth in odd_slots:
        add(sixteenth, CLOSED_HAT, rng.randint(48, 66), "hats")

    for layer in percussion:
        if layer == "shaker":
            for sixteenth in range(SIXTEENTHS_PER_BAR):
                add(sixteenth, SHAKER, 58 if sixteenth % 2 == 0 else 40, "percussion")
        elif layer == "tambourine":
            for sixteenth in BACKBEAT:
                add(sixteenth, TAMBOURINE, rng.randint(54, 66), "percussion")
        elif layer == "bongos":
            for sixteenth, pitch in BONGO_PATTERN:
                add(sixteenth, pitch, rng.randint(50, 70), "percussion")
    return notes


def _fill(bar_start: float, swing: float, rng: random.Random) -> list[NoteEvent]:
    """A two-beat fill: snare and toms rolling down the kit with a crescendo."""
    notes = [NoteEvent(_hit(8, bar_start, swing), 0.25, KICK, 100, "kick")]
    pitches = [SNARE, SNARE, *TOMS] if rng.random() < 0.6 else [SNARE] * 6
    slots = range(10, 16)
    for step, (sixteenth, pitch) in enumerate(zip(slots, pitches, strict=True)):
        voice = "snare" if pitch == SNARE else "toms"
        notes.append(
            NoteEvent(_hit(sixteenth, bar_start, swing), 0.25, pitch, 70 + 7 * step, voice)
        )
    return notes


def compose_drums(
    sections: list[Section],
    style: Style,
    kick_pattern_name: str,
    swing: float,
    kit_name: str,
    rng: random.Random,
) -> Part:
    """The drum part over the whole form.

    The intro and the second half of the outro are left to the keys; percussion layers join
    in B and A′ to lift the energy; each body section ends on a fill and the next opens with
    a crash.
    """
    kick_pattern = KICK_PATTERNS[kick_pattern_name]
    notes: list[NoteEvent] = []
    for section in sections:
        if section.name == "intro":
            continue
        percussion = style.drums.percussion if section.name in ("B", "A2") else ()
        playing_bars = section.bars if section.name != "outro" else max(1, section.bars // 2)
        ends_with_fill = section.name != "outro" and rng.random() < style.drums.fill_probability
        for bar_in_section in range(playing_bars):
            bar_start = section.start_beats + bar_in_section * BEATS_PER_BAR
            is_fill_bar = ends_with_fill and bar_in_section == section.bars - 1
            notes += _groove_bar(
                bar_start,
                bar_in_section,
                kick_pattern,
                style,
                swing,
                percussion,
                rng,
                last_sixteenth=8 if is_fill_bar else SIXTEENTHS_PER_BAR,
            )
            if is_fill_bar:
                notes += _fill(bar_start, swing, rng)
        if section.name in ("A", "B", "A2"):
            notes.append(NoteEvent(section.start_beats, 2.0, CRASH, 88, "crash"))
    notes.sort(key=lambda note: (note.start_beats, note.pitch))
    return Part("drums", 0, kit_name, DRUM_CHANNEL, notes)
