"""Melody: call-and-answer phrases with space between them, in a register of its own.

A phrase is a rhythm (one cell per bar) and a walk over a scale system: mostly steps, a few
leaps, and every leap answered by a step the other way. Strong beats land on chord tones;
a call ends open (on the 2nd or 5th), its answer echoes the call's first bar and closes on
a stable tone. Phrases breathe: every phrase ends by beat three of its last bar, sparse
styles leave whole bars (and now and then a whole four-bar group) empty, and the style's
density sets how busy the cells are. A′ (and B2) restate A's (B's) phrases, ornamented,
from the pitch A (B) started on; the melody rests wherever the arrangement drops it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from lofi_assets.music.progressions import ChordEvent, chord_at
from lofi_assets.music.score import BEATS_PER_BAR, NoteEvent, Part, Section
from lofi_assets.music.styles import Instrument, Style
from lofi_assets.music.theory import SCALES, Key, scale_pitch_classes

MELODY_RANGE = (69, 88)  # A4–E6: above the pad (harmony.PAD_RANGE tops out at G4)
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
# A phrase's last bar holds its final note 1.5–3 beats (a singer's breath-long last note,
# not a clipped 8th). A call (an open phrase) rings to beat three or four, a beat or so
# before its answer; an answer (a closed phrase) is done by beat three, so the melody
# breathes at least two beats before the next call.
CADENCE_CELLS: dict[str, Cell] = {
    "hold": ((0, 0.5), (0.5, 0.5), (1, 2)),
    "settle": ((0, 3),),
    "sigh": ((0, 0.75), (0.75, 0.75), (1.5, 1.5)),
    "lean": ((0, 1), (1, 1.5)),
    "turn": ((0, 0.5), (0.5, 0.5), (1, 0.5), (1.5, 1.5)),
    "float": ((0, 0.5), (0.5, 2)),
}
CLOSING_CELLS: dict[str, Cell] = {
    "settle": ((0, 2),),
    "lean": ((0, 0.5), (0.5, 1.5)),
    "grace": ((0, 0.25), (0.25, 0.25), (0.5, 1.5)),
    "scoop": ((0, 0.25), (0.25, 1.75)),
}
ARTICULATION = 0.88  # notes inside a phrase sound 88 % of their value; the last one 98 %
MAX_REPEATS = 2  # the same pitch at most twice in a row (a third is moved a step)


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


def notes_per_bar_target(density: float) -> float:
    """How many notes a bar of a phrase aims at: 2.4 at density 0.4, 5.4 at 0.65."""
    return 1.2 + 12.0 * (density - 0.3)


def _choose_cell(cells: dict[str, Cell], density: float, rng: random.Random) -> Cell:
    names = sorted(cells)
    # Cells near the density's note count are likeliest (a Gaussian in the note count).
    target = notes_per_bar_target(density)
    weights = [math.exp(-((len(cells[name]) - target) ** 2) / 2.0) + 0.02 for name in names]
    return cells[rng.choices(names, weights=weights, k=1)[0]]


def _rhythm(
    bars: int, style: Style, density: float, rng: random.Random, ending: str = "open"
) -> list[tuple]:
    rhythm = []
    for bar in range(bars):
        if bar == bars - 1:
            cell = _choose_cell(CADENCE_CELLS if ending == "open" else CLOSING_CELLS, density, rng)
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
    rhythm = _rhythm(bars, style, density, rng, ending)
    return Motif(tuple(rhythm), tuple(_contour_steps(len(rhythm), rng)), ending)


def _answer(call: Motif, bars: int, style: Style, density: float, rng: random.Random) -> Motif:
    """An answer echoes the call's first bar (rhythm and shape), then closes."""
    echo = [(start, duration) for start, duration in call.rhythm if start < BEATS_PER_BAR]
    echo_steps = list(call.steps[: len(echo)])
    if bars == 1:
        return _motif(1, "closed", style, density, rng)
    rest = _rhythm(bars - 1, style, density, rng, "closed")
    rest = [(start + BEATS_PER_BAR, duration) for start, duration in rest]
    steps = echo_steps + _contour_steps(len(rest), rng)
    return Motif(tuple(echo + rest), tuple(steps), "closed")


def _vary(motif: Motif, rng: random.Random) -> Motif:
    """Ornament a restatement: a few steps nudged; rhythm, first note and ending kept."""
    steps = [
        step + rng.choice((-1, 1))
        if index and rng.random() < 0.2 and abs(step) < LEAP_STEPS
        else step
        for index, step in enumerate(motif.steps)
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
            if (
                position != last
                and len(notes) >= MAX_REPEATS
                and all(n.pitch == self.pitches[index] for n in notes[-MAX_REPEATS:])
            ):
                # A third repeat: step on in the phrase's direction (or back from the edge).
                index += 1 if index + 1 < len(self.pitches) and position < last / 2 else -1
            self.index = index
            arch = 1 - abs(position / max(last, 1) - 0.5)  # louder toward the phrase middle
            notes.append(
                NoteEvent(
                    phrase_start + _swung(start, self.swing),
                    duration * (0.98 if position == last else ARTICULATION),
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


# How a four-bar group is phrased: (bar offset, bars) of the call, then of the answer. Calls
# and answers differ in length (call and response), so phrases do not all span one length.
GROUP_LAYOUTS: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "pair": ((0, 2), (2, 2)),  # a two-bar call, a two-bar answer
    "long_short": ((0, 3), (3, 1)),  # a long call, a short tag
    "short_long": ((0, 1), (2, 2)),  # a short call, an empty bar, a longer answer
    "spaced": ((0, 1), (2, 1)),  # one-bar call and answer, each followed by an empty bar
}


def _group_layout(density: float, first: bool, last: bool, rng: random.Random) -> str:
    """A layout of ``GROUP_LAYOUTS`` or "rest" (no melody). Denser styles phrase in the long
    layouts more often, sparse ones leave more space; a section neither opens nor ends on a
    resting group (a theme does not trail off into four empty bars)."""
    dense = min(0.9, max(0.1, 0.1 + 2.0 * (density - 0.35)))
    rest = 0.0 if first or last else max(0.0, 0.6 * (0.65 - density))
    roll = rng.random()
    if roll < rest:
        return "rest"
    if roll < rest + dense:
        return "pair" if rng.random() < 0.6 else "long_short"
    return "short_long" if rng.random() < 0.55 else "spaced"


Phrases = list[tuple[float, Motif]]  # (start in beats, motif)


def _call_and_answer(
    layout: str, style: Style, density: float, rng: random.Random
) -> tuple[Motif, Motif]:
    (_, call_bars), (_, answer_bars) = GROUP_LAYOUTS[layout]
    call = _motif(call_bars, "open", style, density, rng)
    return call, _answer(call, answer_bars, style, density, rng)


def _phrases(
    section: Section, style: Style, density: float, rng: random.Random, breathe: bool = False
) -> Phrases:
    """Call and answer motifs tiling a section in groups of up to four bars, with space.

    ``breathe``: the section's last bar stays empty (the melody is leaving for a while)."""
    motifs: Phrases = []
    theme: dict[str, tuple[Motif, Motif]] = {}
    bar = 0
    while bar < section.bars:
        group = min(4, section.bars - bar)
        start = section.start_beats + bar * BEATS_PER_BAR
        last = bar + group >= section.bars
        layout = _group_layout(density, bar == 0, last, rng) if group == 4 else "short"
        if breathe and last and layout in ("pair", "long_short"):
            layout = "spaced"
        if layout == "rest" or (layout == "short" and breathe and group < 2):
            bar += group
            continue
        if layout == "short":  # before a drop-out the last bar stays empty
            bars = group - 1 if breathe else group
            motifs.append((start, _motif(bars, "closed", style, density, rng)))
            bar += group
            continue
        if layout in theme and rng.random() < 0.5:  # the theme again, ornamented
            call, answer = _vary(theme[layout][0], rng), theme[layout][1]
        else:
            call, answer = _call_and_answer(layout, style, density, rng)
            theme.setdefault(layout, (call, answer))
        (call_bar, _), (answer_bar, _) = GROUP_LAYOUTS[layout]
        motifs += [
            (start + call_bar * BEATS_PER_BAR, call),
            (start + answer_bar * BEATS_PER_BAR, answer),
        ]
        bar += group
    return motifs


def _restated(
    phrases: Phrases,
    source: Section,
    target: Section,
    style: Style,
    density: float,
    rng: random.Random,
) -> Phrases:
    """``source``'s phrases moved to ``target`` and ornamented, repeated if it is longer, and
    completed where they stop short: a four-bar group they leave empty gets the opening call
    and a fresh answer, and a last phrase ending more than a bar before the section's end is
    followed by an answer that closes in the section's last bar (a shorter restatement must
    not leave the climax without its melody)."""
    span = source.bars * BEATS_PER_BAR
    length = target.bars * BEATS_PER_BAR
    out: Phrases = []
    for cycle in range(math.ceil(length / span)):
        for start, motif in phrases:
            position = cycle * span + start - source.start_beats
            if position + _motif_length(motif) <= length:
                out.append((target.start_beats + position, _vary(motif, rng)))
    if not phrases:
        return out
    opening = phrases[0][1]
    for group_start in range(0, target.bars * BEATS_PER_BAR, 4 * BEATS_PER_BAR):
        group_beats = min(4 * BEATS_PER_BAR, length - group_start)
        begin = target.start_beats + group_start
        if group_beats < 2 * BEATS_PER_BAR or any(begin <= s < begin + group_beats for s, _ in out):
            continue
        call = _vary(opening, rng)
        call_beats = _motif_length(call)
        if call_beats + BEATS_PER_BAR <= group_beats:
            bars = int((group_beats - call_beats) // BEATS_PER_BAR)
            out += [
                (begin, call),
                (begin + call_beats, _answer(call, bars, style, density, rng)),
            ]
        else:
            out.append((begin, _motif(group_beats // BEATS_PER_BAR, "closed", style, density, rng)))
    out.sort(key=lambda row: row[0])
    covered = max(s + _motif_length(m) for s, m in out) if out else target.start_beats
    free_bars = int((target.end_beats - covered) // BEATS_PER_BAR)
    if free_bars >= 1:
        bars = min(4, free_bars)
        answer_start = target.end_beats - bars * BEATS_PER_BAR
        answer = (
            _answer(opening, bars, style, density, rng)
            if bars >= 2
            else _motif(1, "closed", style, density, rng)
        )
        out.append((answer_start, answer))
    return out


def compose_melody(
    sections: list[Section],
    timeline: list[ChordEvent],
    key: Key,
    style: Style,
    swing: float,
    instrument: Instrument,
    rng: random.Random,
) -> Part:
    """The melody over the sections that play it (``Section.parts``).

    A and B get their own phrases (B a touch busier); A2 and B2 restate them, ornamented,
    starting from the pitch their source started on, and are completed with an answering
    phrase where the restatement is shorter than the section; an outro that keeps the melody
    plays A's first phrase once more (or a short closing phrase where that does not fit).
    """
    realizer = _Realizer(key, style, timeline, swing)
    notes: list[NoteEvent] = []
    written: dict[str, tuple[Section, Phrases, int]] = {}  # source phrases and start index
    for index, section in enumerate(sections):
        if not section.plays("melody") or section.name == "intro":
            continue
        following = sections[index + 1] if index + 1 < len(sections) else None
        breathe = following is not None and not following.plays("melody")
        source = {"A2": "A", "B2": "B", "outro": "A"}.get(section.name)
        density = min(1.0, style.melody_density + (0.1 if section.name == "B" else 0.0))
        if source in written:
            origin, phrases, index = written[source]
            if section.name == "outro":  # a farewell: A's opening phrase once, if it fits
                fits = [(s, m) for s, m in phrases[:1] if _motif_length(m) <= section.bars * 4]
                phrases = [(section.start_beats, _vary(m, rng)) for _, m in fits] or [
                    (
                        section.start_beats,
                        _motif(min(2, section.bars), "closed", style, density, rng),
                    )
                ]
            else:
                phrases = _restated(phrases, origin, section, style, density, rng)
            realizer.index = index  # in the source's register, not wherever the line wandered
        else:
            phrases = _phrases(section, style, density, rng, breathe)
        if section.name not in written:
            written[section.name] = (section, phrases, realizer.index)
        for start, motif in phrases:
            notes += realizer.realize(motif, start)
    return Part("melody", instrument.program, instrument.name, MELODY_CHANNEL, notes)


def _motif_length(motif: Motif) -> float:
    last_start, last_duration = motif.rhythm[-1]
    bars = int(last_start // BEATS_PER_BAR) + 1
    return max(bars * BEATS_PER_BAR, last_start + last_duration)
