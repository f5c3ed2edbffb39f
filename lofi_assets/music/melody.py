"""Melody: call-and-answer phrases, stepwise contours, syncopation and triplets.

A phrase is a rhythm (one cell per bar) and a walk over a scale system: mostly steps, a few
leaps, and every leap answered by a step the other way. Strong beats land on chord tones;
a call ends open (on the 2nd or 5th), its answer echoes the call's first bar and closes on
a stable tone. A′ restates A's theme with light ornament, B brings new material.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from lofi_assets.music.progressions import ChordEvent, chord_at
from lofi_assets.music.score import BEATS_PER_BAR, NoteEvent, Part, Section
from lofi_assets.music.styles import Instrument, Style
from lofi_assets.music.theory import SCALES, Key, scale_pitch_classes

MELODY_RANGE = (60, 84)  # C4–C6, above the keys
MELODY_CHANNEL = 3
LEAP_STEPS = 2  # two scale steps or more is a leap in the contour
LEAP_SEMITONES = 4  # wider than a major third sounds as a leap and wants resolving

Cell = tuple[tuple[float, float], ...]  # (start, duration) in beats within one bar
RHYTHM_CELLS: dict[str, Cell] = {
    "long": ((0, 1.5), (1.5, 0.5), (2, 2)),
    "syncopated": ((0, 0.75), (0.75, 0.75), (1.5, 1), (2.5, 1.5)),
    "pickup": ((0.5, 0.5), (1, 1.5), (2.5, 0.5), (3, 1)),
    "dotted": ((0, 0.75), (0.75, 0.25), (1, 0.75), (1.75, 0.25), (2, 1.5)),
    "rest_start": ((1, 0.5), (1.5, 1), (2.5, 1.5)),
    "sparse": ((0, 3), (3.5, 0.5)),
    "running": ((0, 0.5), (0.5, 0.5), (1, 0.5), (1.5, 0.5), (2, 1), (3, 1)),
    "anticipation": ((0, 1), (1.5, 1), (2.5, 0.5), (3.5, 0.5)),
}
TRIPLET_CELLS: dict[str, Cell] = {
    "triplet_head": ((0, 1 / 3), (1 / 3, 1 / 3), (2 / 3, 1 / 3), (1, 1), (2, 2)),
    "triplet_tail": ((0, 1), (1, 1), (2, 2 / 3), (8 / 3, 2 / 3), (10 / 3, 2 / 3)),
}
CADENCE_CELLS: dict[str, Cell] = {
    "hold": ((0, 0.5), (0.5, 0.5), (1, 2.5)),
    "settle": ((0, 1), (1, 2.5)),
    "sigh": ((0, 0.75), (0.75, 0.75), (1.5, 2)),
}


@dataclass(frozen=True)
class Motif:
    """A phrase shape independent of pitch: rhythm plus scale-step movements."""

    rhythm: tuple[tuple[float, float], ...]  # (start, duration) from the phrase start
    steps: tuple[int, ...]  # scale steps from the previous note, one per rhythm entry
    ending: str  # "open" (a question) or "closed" (an answer)


def melody_scale(key: Key, style: Style) -> frozenset[int]:
    """The pitch classes a melody draws from: the key's pentatonic subset or the full mode."""
    if style.melody_scale_system == "pentatonic":
        pentatonic = "minor_pentatonic" if key.is_minor else "major_pentatonic"
        pcs = scale_pitch_classes(key.tonic_pc, pentatonic)
        if pcs <= key.scale_pcs:
            return pcs
    return key.scale_pcs


def _swung(position: float, swing: float) -> float:
    sixteenths = position * 4
    if abs(sixteenths - round(sixteenths)) < 1e-9 and round(sixteenths) % 2 == 1:
        return (round(sixteenths) - 1) / 4 + swing * 0.5
    return position


def _choose_cell(cells: dict[str, Cell], density: float, rng: random.Random) -> Cell:
    names = sorted(cells)
    # Busier cells get more weight as density rises; sparse ones as it falls.
    weights = [max(0.3, 1 + 4 * density * (len(cells[name]) - 3) / 3) for name in names]
    return cells[rng.choices(names, weights=weights, k=1)[0]]


def _rhythm(bars: int, style: Style, density: float, rng: random.Random) -> list[tuple]:
    rhythm = []
    for bar in range(bars):
        if bar == bars - 1:
            cell = _choose_cell(CADENCE_CELLS, density, rng)
        elif rng.random() < style.triplet_probability:
            cell = _choose_cell(TRIPLET_CELLS, density, rng)
        else:
            cell = _choose_cell(RHYTHM_CELLS, density, rng)
        rhythm += [(bar * BEATS_PER_BAR + start, duration) for start, duration in cell]
    return rhythm


def _contour_steps(count: int, rng: random.Random) -> list[int]:
    """Mostly steps, some repeats and leaps; a leap is always resolved by a step back."""
    steps: list[int] = []
    for index in range(count):
        rising = rng.random() < (0.62 if index < count / 2 else 0.38)  # an arch
        direction = 1 if rising else -1
        if steps and abs(steps[-1]) >= LEAP_STEPS:
            steps.append(-1 if steps[-1] > 0 else 1)
            continue
        roll = rng.random()
        if roll < 0.6:
            steps.append(direction)
        elif roll < 0.72:
            steps.append(0)
        else:
            steps.append(direction * rng.choice((2, 2, 3, 4)))
    return steps


def _motif(bars: int, ending: str, style: Style, density: float, rng: random.Random) -> Motif:
    rhythm = _rhythm(bars, style, density, rng)
    return Motif(tuple(rhythm), tuple(_contour_steps(len(rhythm), rng)), ending)


def _answer(call: Motif, bars: int, style: Style, density: float, rng: random.Random) -> Motif:
    """An answer echoes the call's first bar (rhythm and shape), then closes."""
    echo = [(start, duration) for start, duration in call.rhythm if start < BEATS_PER_BAR]
    echo_steps = list(call.steps[: len(echo)])
    if bars == 1:
        return _motif(1, "closed", style, density, rng)
    rest = _rhythm(bars - 1, style, density, rng)
    rest = [(start + BEATS_PER_BAR, duration) for start, duration in rest]
    steps = echo_steps + _contour_steps(len(rest), rng)
    return Motif(tuple(echo + rest), tuple(steps), "closed")


def _vary(motif: Motif, rng: random.Random) -> Motif:
    """Ornament a restatement: a few steps nudged, rhythm and ending kept."""
    steps = [
        step + rng.choice((-1, 1)) if rng.random() < 0.2 and abs(step) < LEAP_STEPS else step
        for step in motif.steps
    ]
    return Motif(motif.rhythm, tuple(steps), motif.ending)


class _Realizer:
    """Turns motifs into pitches over the harmony, remembering where the line left off."""

    def __init__(self, key: Key, style: Style, timeline: list[ChordEvent], swing: float):
        self.key = key
        self.timeline = timeline
        self.swing = swing
        pcs = melody_scale(key, style)
        self.pitches = [p for p in range(MELODY_RANGE[0], MELODY_RANGE[1] + 1) if p % 12 in pcs]
        steps = SCALES[key.mode]
        self.open_pcs = {(key.tonic_pc + steps[1]) % 12, (key.tonic_pc + steps[4]) % 12}
        self.index = len(self.pitches) // 2

    def _nearest_index(self, allowed_pcs: set[int] | frozenset[int], around: int) -> int | None:
        options = [i for i, p in enumerate(self.pitches) if p % 12 in allowed_pcs]
        if not options:
            return None
        return min(options, key=lambda i: (abs(i - around), i))

    def realize(self, motif: Motif, phrase_start: float) -> list[NoteEvent]:
        notes: list[NoteEvent] = []
        last = len(motif.rhythm) - 1
        for position, ((start, duration), step) in enumerate(
            zip(motif.rhythm, motif.steps, strict=True)
        ):
            absolute = phrase_start + start
            chord = chord_at(self.timeline, absolute).chord
            stable = set(chord.chord_tone_pcs & self.key.scale_pcs)
            previous = notes[-2].pitch if len(notes) >= 2 else None
            leaped = previous is not None and abs(notes[-1].pitch - previous) > LEAP_SEMITONES
            if leaped:
                # Resolve a leap by a step in the opposite direction, whatever the motif says.
                index = self.index + (-1 if notes[-1].pitch > previous else 1)
            else:
                index = self.index + step
                if index < 0 or index >= len(self.pitches):
                    index = self.index - step  # reflect off the edge of the range
            index = max(0, min(len(self.pitches) - 1, index))
            if position == last:
                target = self.open_pcs if motif.ending == "open" else stable | {self.key.tonic_pc}
                index = self._settle(index, target, leaped)
            elif not leaped and abs(start % 2) < 1e-9:  # beats one and three want a chord tone
                candidate = self._nearest_index(stable, index)
                if candidate is not None and abs(candidate - index) <= 1:
                    index = candidate
            self.index = index
            arch = 1 - abs(position / max(last, 1) - 0.5)  # louder toward the phrase middle
            notes.append(
                NoteEvent(
                    phrase_start + _swung(start, self.swing),
                    duration * 0.95,
                    self.pitches[index],
                    int(70 + 14 * arch),
                    "melody",
                )
            )
        return notes

    def _settle(self, index: int, target_pcs: set[int], keep_direction: bool) -> int:
        """The phrase's last note: the nearest target tone, by step after a leap."""
        if keep_direction and self.pitches[index] % 12 in target_pcs:
            return index
        candidate = self._nearest_index(target_pcs, index)
        if candidate is None or (keep_direction and abs(candidate - index) > 0):
            return index
        return candidate


def _phrase_pairs(
    section: Section, style: Style, density: float, rng: random.Random
) -> list[tuple[float, Motif]]:
    """Call and answer motifs tiling a section in groups of up to four bars."""
    motifs: list[tuple[float, Motif]] = []
    bar = 0
    theme: tuple[Motif, Motif | None] | None = None
    while bar < section.bars:
        group = min(4, section.bars - bar)
        start = section.start_beats + bar * BEATS_PER_BAR
        call_bars = group // 2
        if theme is not None and rng.random() < 0.5 and _fits(theme, group):
            call, answer = _vary(theme[0], rng), theme[1]
        elif call_bars == 0:
            call, answer = _motif(group, "closed", style, density, rng), None
        else:
            call = _motif(call_bars, "open", style, density, rng)
            answer = _answer(call, group - call_bars, style, density, rng)
        motifs.append((start, call))
        if answer is not None:
            motifs.append((start + call_bars * BEATS_PER_BAR, answer))
        if theme is None:
            theme = (call, answer)
        bar += group
    return motifs


def _fits(theme: tuple[Motif, Motif | None], group_bars: int) -> bool:
    length = sum(1 for motif in theme if motif is not None)
    return group_bars == 4 and length == 2


def compose_melody(
    sections: list[Section],
    timeline: list[ChordEvent],
    key: Key,
    style: Style,
    swing: float,
    instrument: Instrument,
    rng: random.Random,
) -> Part:
    realizer = _Realizer(key, style, timeline, swing)
    notes: list[NoteEvent] = []
    motifs_by_section: dict[str, list[tuple[float, Motif]]] = {}
    for section in sections:
        if section.name in ("intro", "outro"):
            continue
        if section.name == "A2" and "A" in motifs_by_section:
            # A′ restates A's phrases, ornamented, shifted to where A′ starts.
            a_start = next(s.start_beats for s in sections if s.name == "A")
            restated = [
                (section.start_beats + start - a_start, _vary(motif, rng))
                for start, motif in motifs_by_section["A"]
                if start - a_start + _motif_length(motif) <= section.bars * BEATS_PER_BAR
            ]
            motifs = restated or _phrase_pairs(section, style, style.melody_density, rng)
        else:
            density = min(1.0, style.melody_density + (0.15 if section.name == "B" else 0.0))
            motifs = _phrase_pairs(section, style, density, rng)
        motifs_by_section[section.name] = motifs
        for start, motif in motifs:
            notes += realizer.realize(motif, start)
    return Part("melody", instrument.program, instrument.name, MELODY_CHANNEL, notes)


def _motif_length(motif: Motif) -> float:
    last_start, last_duration = motif.rhythm[-1]
    bars = int(last_start // BEATS_PER_BAR) + 1
    return max(bars * BEATS_PER_BAR, last_start + last_duration)
