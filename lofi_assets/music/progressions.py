"""Lo-fi chord progressions: a template, then the colour a producer adds by ear.

A template from ``assets_library/progressions.yaml`` gives four bars of diatonic function;
the composer then borrows chords from the parallel mode (iv, bVII), inserts secondary
dominants (V/V, vii°/V), swaps dominants for their tritone substitutes and stacks
extensions — all within a chromatic budget so the track still sits in its key.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from lofi_assets.music.score import BEATS_PER_BAR, Section
from lofi_assets.music.styles import ProgressionTemplate, Style, load_progressions
from lofi_assets.music.theory import Chord, Key, parse_roman

# Share of chord-tone time that may fall outside the key. Above ~10 % the chromatic
# colour stops sounding like colour and the track loses its tonal centre.
CHROMATIC_BUDGET = 0.10


@dataclass(frozen=True)
class ChordEvent:
    """A chord over a span of beats: within a progression cycle, or absolute in a timeline."""

    chord: Chord
    start_beats: float
    duration_beats: float

    @property
    def end_beats(self) -> float:
        return self.start_beats + self.duration_beats


@dataclass(frozen=True)
class Progression:
    template: str
    events: tuple[ChordEvent, ...]  # one cycle, starting at beat 0

    @property
    def cycle_beats(self) -> float:
        return self.events[-1].end_beats

    @property
    def romans(self) -> list[str]:
        return [event.chord.roman for event in self.events]

    def symbols(self, prefer_flats: bool) -> list[str]:
        return [event.chord.symbol(prefer_flats) for event in self.events]


def out_of_key_share(events: list[ChordEvent] | tuple[ChordEvent, ...], key: Key) -> float:
    """Duration-weighted share of chord tones that are not in the key's scale."""
    total = sum(event.duration_beats for event in events)
    outside = sum(
        event.duration_beats
        * len(event.chord.pitch_classes - key.scale_pcs)
        / len(event.chord.pitch_classes)
        for event in events
    )
    return outside / total


def tonic_chord(key: Key) -> Chord:
    token = {"mixolydian": "I7", "harmonic_minor": "i6", "melodic_minor": "i6"}.get(
        key.mode, "i7" if key.is_minor else "Imaj7"
    )
    return parse_roman(token, key)


def _weighted_choice(rng: random.Random, weights: dict[str, float]) -> str:
    names = sorted(weights)
    return rng.choices(names, weights=[weights[name] for name in names], k=1)[0]


def _template_weights(style: Style, key: Key, exclude: str | None) -> dict[str, float]:
    templates = load_progressions()
    fits_mode = {name for name, template in templates.items() if key.mode in template.modes}
    weights = {
        name: weight
        for name, weight in style.progression_weights.items()
        if name in fits_mode and name != exclude and weight > 0
    }
    if not weights:  # a mode the style never asks for (a config override): any fitting template
        weights = {name: 1.0 for name in fits_mode if name != exclude}
    if not weights:  # an exotic mode no template names: the major or minor family
        family = "aeolian" if key.is_minor else "ionian"
        weights = {
            name: 1.0
            for name, template in templates.items()
            if family in template.modes and name != exclude
        }
    return weights


def _plain_numeral(chord: Chord) -> str | None:
    """The bare numeral a secondary chord can point at, or None for applied/substitute chords."""
    if "/" in chord.numeral or chord.numeral.startswith("sub"):
        return None
    return chord.numeral


def _split(events: list[ChordEvent], index: int, second: Chord) -> list[ChordEvent]:
    """Give the second half of ``events[index]`` to ``second``."""
    event = events[index]
    half = event.duration_beats / 2
    return [
        *events[:index],
        replace(event, duration_beats=half),
        ChordEvent(second, event.start_beats + half, half),
        *events[index + 1 :],
    ]


def _borrow(events: list[ChordEvent], key: Key, rng: random.Random) -> list[ChordEvent]:
    """Modal interchange: one chord taken from the parallel mode."""
    options: list[tuple[int, str]] = []
    for index, event in enumerate(events):
        numeral = event.chord.numeral
        if key.is_minor:
            if numeral == "iv":
                options.append((index, "IV7"))  # the dorian IV in a minor key
            if numeral == "v":
                options.append((index, "V7"))  # harmonic-minor dominant
        else:
            if numeral == "IV":
                options += [(index, "iv7"), (index, "iv6")]  # the minor iv
            if numeral == "vi":
                options.append((index, "bVImaj7"))
            nxt = events[(index + 1) % len(events)].chord.numeral
            if nxt == "I" and numeral != "I":
                options.append((index, "bVII7"))  # the backdoor dominant
    if not options:
        return events
    index, token = rng.choice(options)
    borrowed = events[:]
    borrowed[index] = replace(events[index], chord=parse_roman(token, key))
    return borrowed


def _add_secondary_dominant(
    events: list[ChordEvent], key: Key, rng: random.Random
) -> list[ChordEvent]:
    """Approach a diatonic chord through its own dominant (V/x) or leading-tone chord."""
    targets = []
    for index in range(1, len(events)):
        target, before = events[index].chord, events[index - 1].chord
        numeral = _plain_numeral(target)
        if numeral is None or numeral.upper() == "I" or target.quality in ("m7b5", "dim7"):
            continue
        if before.is_dominant or events[index - 1].duration_beats < BEATS_PER_BAR:
            continue
        targets.append(index)
    if not targets:
        return events
    index = rng.choice(targets)
    numeral = events[index].chord.numeral
    token = f"vii°7/{numeral}" if numeral == "V" and rng.random() < 0.35 else f"V7/{numeral}"
    return _split(events, index - 1, parse_roman(token, key))


def _substitute_tritone(events: list[ChordEvent], rng: random.Random) -> list[ChordEvent]:
    """Swap a resolving dominant for the dominant a tritone away (same 3rd and 7th)."""
    candidates = []
    for index, event in enumerate(events):
        nxt = events[(index + 1) % len(events)].chord
        resolves = (nxt.root_pc - event.chord.root_pc) % 12 == 5
        if event.chord.is_dominant and resolves and not event.chord.numeral.startswith("sub"):
            candidates.append(index)
    if not candidates:
        return events
    index = rng.choice(candidates)
    chord = events[index].chord
    substitute = Chord((chord.root_pc + 6) % 12, "7", "sub" + chord.numeral)
    substituted = events[:]
    substituted[index] = replace(events[index], chord=substitute)
    return substituted


def _extend(chord: Chord, key: Key, style: Style, rng: random.Random) -> Chord:
    """Stack 9ths, 11ths or 13ths that stay in the key (an out-of-key tension sounds wrong)."""
    if rng.random() >= style.extension_probability:
        return chord
    fitting = [
        extension
        for extension in chord.available_extensions
        if extension > 7
        and chord.with_extension(extension).pitch_classes - chord.pitch_classes <= key.scale_pcs
    ]
    if not fitting:
        return chord
    extension = max(fitting) if rng.random() < 0.6 else rng.choice(fitting)
    return chord.with_extension(extension)


def _template_events(template: ProgressionTemplate, key: Key) -> list[ChordEvent]:
    return [
        ChordEvent(parse_roman(token, key), bar * BEATS_PER_BAR, BEATS_PER_BAR)
        for bar, token in enumerate(template.chords)
    ]


def chromatic_allowance(template: ProgressionTemplate, key: Key) -> float:
    """How chromatic a progression may get: the budget, or the template's own share if higher."""
    return max(CHROMATIC_BUDGET, out_of_key_share(_template_events(template, key), key))


def compose_progression(
    key: Key, style: Style, rng: random.Random, exclude_template: str | None = None
) -> Progression:
    """One 8-bar progression cycle: a coloured template and its turnaround variation."""
    weights = _template_weights(style, key, exclude_template)
    template = load_progressions()[_weighted_choice(rng, weights)]
    events = _template_events(template, key)
    allowance = chromatic_allowance(template, key)
    colourings = (
        (style.borrowed_chord_probability, lambda ev: _borrow(ev, key, rng)),
        (style.secondary_dominant_probability, lambda ev: _add_secondary_dominant(ev, key, rng)),
        (style.tritone_substitution_probability, lambda ev: _substitute_tritone(ev, rng)),
    )
    for probability, colour in colourings:
        if rng.random() < probability:
            coloured = colour(events)
            if out_of_key_share(coloured, key) <= allowance:
                events = coloured
    events = [replace(event, chord=_extend(event.chord, key, style, rng)) for event in events]

    # The second four bars repeat the first with a turnaround into bar one.
    first = events[0].chord
    numeral = _plain_numeral(first)
    shift = len(template.chords) * BEATS_PER_BAR
    second_half = [replace(event, start_beats=event.start_beats + shift) for event in events]
    if numeral is not None and second_half[-1].duration_beats >= BEATS_PER_BAR:
        token = "V7" if numeral.upper() == "I" else f"V7/{numeral}"
        turnaround = _split(second_half, len(second_half) - 1, parse_roman(token, key))
        if out_of_key_share(events + turnaround, key) <= allowance:
            second_half = turnaround
    return Progression(template.name, tuple(events + second_half))


def harmonic_timeline(
    sections: list[Section], progressions: dict[str, Progression], key: Key
) -> list[ChordEvent]:
    """Lay the progressions over the form; the final bar resolves to the tonic."""
    timeline: list[ChordEvent] = []
    for section in sections:
        progression = progressions[section.progression_name]
        cycle = progression.cycle_beats
        position = 0.0
        length = section.bars * BEATS_PER_BAR
        while position < length:
            for event in progression.events:
                start = position + event.start_beats
                if start >= length:
                    break
                duration = min(event.duration_beats, length - start)
                timeline.append(ChordEvent(event.chord, section.start_beats + start, duration))
            position += cycle
    last_bar_start = sections[-1].end_beats - BEATS_PER_BAR
    timeline = [chord for chord in timeline if chord.start_beats < last_bar_start]
    timeline = [
        replace(chord, duration_beats=min(chord.duration_beats, last_bar_start - chord.start_beats))
        for chord in timeline
    ]
    timeline.append(ChordEvent(tonic_chord(key), last_bar_start, BEATS_PER_BAR))
    return timeline


def chord_at(timeline: list[ChordEvent], beat: float) -> ChordEvent:
    """The chord sounding at ``beat`` (timeline is sorted and gap-free)."""
    low, high = 0, len(timeline) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if timeline[middle].start_beats <= beat:
            low = middle
        else:
            high = middle - 1
    return timeline[low]
