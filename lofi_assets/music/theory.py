"""Pitch, scale, key and chord vocabulary, and voice-led rootless voicings.

Pitches are MIDI note numbers; pitch classes are 0–11 with C = 0. Roman numerals are read
relative to the *major* scale of the tonic (so ``bVII`` and ``iv`` mean the same in any mode),
which is how jazz and lo-fi producers write borrowed chords.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import cached_property

from lofi_assets.errors import InvalidKeyError

SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
PITCH_CLASS_BY_NAME: dict[str, int] = {
    **{name: pc for pc, name in enumerate(SHARP_NAMES)},
    **{name: pc for pc, name in enumerate(FLAT_NAMES)},
    "Cb": 11,
    "B#": 0,
    "E#": 5,
    "Fb": 4,
}
# Keys whose signatures use flats, for readable spelling in plans and titles.
FLAT_TONICS = frozenset({"F", "Bb", "Eb", "Ab", "Db", "Gb"})

# The twelve scales the engine knows: seven church modes, the two jazz minors and the
# pentatonic/blues systems that lo-fi melodies lean on.
SCALES: dict[str, tuple[int, ...]] = {
    "ionian": (0, 2, 4, 5, 7, 9, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "aeolian": (0, 2, 3, 5, 7, 8, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "melodic_minor": (0, 2, 3, 5, 7, 9, 11),
    "major_pentatonic": (0, 2, 4, 7, 9),
    "minor_pentatonic": (0, 3, 5, 7, 10),
    "blues": (0, 3, 5, 6, 7, 10),
}
# Heptatonic modes a key can be in (the pentatonic systems are melody vocabularies).
KEY_MODES = tuple(name for name, steps in SCALES.items() if len(steps) == 7)
MODE_ALIASES = {"major": "ionian", "minor": "aeolian", "natural_minor": "aeolian"}
MINOR_MODES = frozenset(
    {"dorian", "phrygian", "aeolian", "locrian", "harmonic_minor", "melodic_minor"}
)


def parse_mode(mode: str) -> str:
    """Normalise a mode name ("Minor", "harmonic minor") to a key of ``SCALES``."""
    normalized = mode.strip().lower().replace(" ", "_").replace("-", "_")
    normalized = MODE_ALIASES.get(normalized, normalized)
    if normalized not in KEY_MODES:
        raise InvalidKeyError(
            f"Unknown mode {mode!r}: use one of {', '.join(KEY_MODES)} (or major/minor)"
        )
    return normalized


def parse_pitch_class(name: str) -> int:
    """Pitch class of a note name such as ``C``, ``F#`` or ``Bb``."""
    cleaned = name.strip()
    cleaned = cleaned[:1].upper() + cleaned[1:]
    if cleaned not in PITCH_CLASS_BY_NAME:
        raise InvalidKeyError(
            f"Unknown key {name!r}: use a note name such as C, F#, Bb (A–G, optional # or b)"
        )
    return PITCH_CLASS_BY_NAME[cleaned]


@dataclass(frozen=True)
class Key:
    """A tonic and a heptatonic mode."""

    tonic_pc: int
    mode: str

    @classmethod
    def parse(cls, tonic: str, mode: str = "ionian") -> Key:
        return cls(parse_pitch_class(tonic), parse_mode(mode))

    @property
    def is_minor(self) -> bool:
        return self.mode in MINOR_MODES

    @property
    def tonic_name(self) -> str:
        return pitch_class_name(self.tonic_pc, prefer_flats=self.prefers_flats)

    @property
    def prefers_flats(self) -> bool:
        # A minor key borrows its relative major's signature (C minor is spelled like Eb major).
        relative_major_pc = (self.tonic_pc + 3) % 12 if self.is_minor else self.tonic_pc
        return FLAT_NAMES[relative_major_pc] in FLAT_TONICS

    @property
    def name(self) -> str:
        return f"{self.tonic_name} {self.mode.replace('_', ' ')}"

    @cached_property
    def scale_pcs(self) -> frozenset[int]:
        return scale_pitch_classes(self.tonic_pc, self.mode)

    def contains(self, pitch: int) -> bool:
        return pitch % 12 in self.scale_pcs


def pitch_class_name(pc: int, prefer_flats: bool = False) -> str:
    return (FLAT_NAMES if prefer_flats else SHARP_NAMES)[pc % 12]


def scale_pitch_classes(tonic_pc: int, scale: str) -> frozenset[int]:
    return frozenset((tonic_pc + step) % 12 for step in SCALES[scale])


# --- chords ---------------------------------------------------------------------------

# Chord tones from the root, then the tensions that sound good on each quality (no avoid
# notes: no natural 11 over a major third, no 9 on a half-diminished chord).
QUALITY_INTERVALS: dict[str, tuple[int, ...]] = {
    "maj7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10),
    "7": (0, 4, 7, 10),
    "m7b5": (0, 3, 6, 10),
    "dim7": (0, 3, 6, 9),
    "6": (0, 4, 7, 9),
    "m6": (0, 3, 7, 9),
}
QUALITY_TENSIONS: dict[str, dict[int, tuple[int, ...]]] = {
    "maj7": {7: (), 9: (14,), 13: (14, 21)},
    "m7": {7: (), 9: (14,), 11: (14, 17)},
    "7": {7: (), 9: (14,), 13: (14, 21)},
    "m7b5": {7: (), 11: (17,)},
    "dim7": {7: ()},
    "6": {7: (), 9: (14,)},
    "m6": {7: (), 9: (14,)},
}
# How each quality is written after a chord letter and after a Roman numeral.
_SYMBOL_SUFFIX = {
    ("maj7", 7): "maj7", ("maj7", 9): "maj9", ("maj7", 13): "maj13",
    ("m7", 7): "m7", ("m7", 9): "m9", ("m7", 11): "m11",
    ("7", 7): "7", ("7", 9): "9", ("7", 13): "13",
    ("m7b5", 7): "m7b5", ("m7b5", 11): "m11b5",
    ("dim7", 7): "dim7",
    ("6", 7): "6", ("6", 9): "6/9",
    ("m6", 7): "m6", ("m6", 9): "m6/9",
}  # fmt: skip
_ROMAN_SUFFIX = {
    ("maj7", 7): "maj7", ("maj7", 9): "maj9", ("maj7", 13): "maj13",
    ("m7", 7): "7", ("m7", 9): "9", ("m7", 11): "11",
    ("7", 7): "7", ("7", 9): "9", ("7", 13): "13",
    ("m7b5", 7): "ø7", ("m7b5", 11): "ø11",
    ("dim7", 7): "°7",
    ("6", 7): "6", ("6", 9): "6/9",
    ("m6", 7): "6", ("m6", 9): "6/9",
}  # fmt: skip


@dataclass(frozen=True)
class Chord:
    """A chord with its function: ``root_pc`` is absolute, ``numeral`` is relative to the key.

    ``numeral`` is the Roman numeral without quality suffix (``ii``, ``bVII``, ``V/V``,
    ``subV/ii``); ``extension`` is the highest stacked tension (7, 9, 11 or 13).
    """

    root_pc: int
    quality: str
    numeral: str
    extension: int = 7

    def __post_init__(self) -> None:
        if self.extension not in QUALITY_TENSIONS[self.quality]:
            raise ValueError(f"{self.quality} chords take no {self.extension}th")

    @property
    def intervals(self) -> tuple[int, ...]:
        return QUALITY_INTERVALS[self.quality] + QUALITY_TENSIONS[self.quality][self.extension]

    @property
    def pitch_classes(self) -> frozenset[int]:
        return frozenset((self.root_pc + interval) % 12 for interval in self.intervals)

    @property
    def chord_tone_pcs(self) -> frozenset[int]:
        """Root, third, fifth and seventh: the stable melody targets on strong beats."""
        return frozenset((self.root_pc + i) % 12 for i in QUALITY_INTERVALS[self.quality])

    @property
    def is_dominant(self) -> bool:
        return self.quality == "7"

    @property
    def available_extensions(self) -> tuple[int, ...]:
        return tuple(QUALITY_TENSIONS[self.quality])

    def with_extension(self, extension: int) -> Chord:
        return Chord(self.root_pc, self.quality, self.numeral, extension)

    def symbol(self, prefer_flats: bool = False) -> str:
        root = pitch_class_name(self.root_pc, prefer_flats)
        return root + _SYMBOL_SUFFIX[(self.quality, self.extension)]

    @property
    def roman(self) -> str:
        """Roman-numeral label with quality, e.g. ``ii9``, ``V13/V``, ``bVIImaj7``."""
        base, _, target = self.numeral.partition("/")
        label = base + _ROMAN_SUFFIX[(self.quality, self.extension)]
        return f"{label}/{target}" if target else label


_NUMERAL_STEPS = {"I": 0, "II": 2, "III": 4, "IV": 5, "V": 7, "VI": 9, "VII": 11}
_ROMAN_RE = re.compile(
    r"^(?P<sub>sub)?(?P<acc>[b#]?)(?P<numeral>VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)"
    r"(?P<suffix>maj7|ø7|°7|7|6)?$"
)


def _numeral_offset(accidental: str, numeral: str) -> int:
    step = _NUMERAL_STEPS[numeral.upper()]
    return step + {"": 0, "b": -1, "#": 1}[accidental]


def parse_roman(token: str, key: Key) -> Chord:
    """Build a chord from a Roman numeral such as ``ii7``, ``bVIImaj7``, ``V7/V``, ``subV7``.

    Upper case is a major third, lower case a minor third; no suffix means the lo-fi
    default of a seventh chord (``maj7`` on upper case, ``m7`` on lower case).
    """
    head, _, target = token.partition("/")
    match = _ROMAN_RE.match(head)
    if not match:
        raise ValueError(f"Cannot read Roman numeral {token!r}")
    target_offset = 0
    if target:
        target_match = _ROMAN_RE.match(target)
        if not target_match:
            raise ValueError(f"Cannot read secondary target in {token!r}")
        target_offset = _numeral_offset(target_match["acc"], target_match["numeral"])
    numeral, suffix = match["numeral"], match["suffix"] or ""
    upper = numeral.isupper()
    quality = {
        "maj7": "maj7",
        "ø7": "m7b5",
        "°7": "dim7",
        "7": "7" if upper else "m7",
        "6": "6" if upper else "m6",
        "": "maj7" if upper else "m7",
    }[suffix]
    offset = target_offset + _numeral_offset(match["acc"], numeral)
    if match["sub"]:
        # Tritone substitution: the dominant a tritone away shares its 3rd and 7th.
        offset += 6
        quality = "7"
    numeral_label = ("sub" if match["sub"] else "") + match["acc"] + numeral
    if target:
        numeral_label += "/" + target
    return Chord((key.tonic_pc + offset) % 12, quality, numeral_label)


# --- voicings ------------------------------------------------------------------------


def rootless_pitch_classes(chord: Chord, voices: int = 4) -> list[int]:
    """Pitch classes of a rootless voicing: guide tones first, then colour, then fill."""
    root = chord.root_pc
    tones = QUALITY_INTERVALS[chord.quality]
    tensions = QUALITY_TENSIONS[chord.quality][chord.extension]
    third, fifth, seventh = tones[1], tones[2], tones[3]
    ordered = [third, seventh]
    if fifth != 7:  # an altered fifth (b5) is part of the chord's identity
        ordered.append(fifth)
    ordered += [*tensions, fifth, 0]
    unique: list[int] = []
    for interval in ordered:
        pc = (root + interval) % 12
        if pc not in unique:
            unique.append(pc)
    return unique[:voices]


def _close_voicings(pcs: list[int], low: int, high: int) -> list[tuple[int, ...]]:
    """All close-position voicings (every inversion, every octave) inside ``[low, high]``."""
    voicings: set[tuple[int, ...]] = set()
    for order in itertools.permutations(pcs):
        for bottom in range(low, low + 12):
            if bottom % 12 != order[0]:
                continue
            for octave_shift in range(0, high - low + 1, 12):
                notes = [bottom + octave_shift]
                for pc in order[1:]:
                    nxt = notes[-1] + ((pc - notes[-1]) % 12 or 12)
                    notes.append(nxt)
                if notes[-1] - notes[0] <= 14 and notes[-1] <= high:
                    voicings.add(tuple(notes))
    return sorted(voicings)


def voice_lead(
    chord: Chord,
    previous: tuple[int, ...] | None,
    low: int,
    high: int,
    voices: int = 4,
) -> tuple[int, ...]:
    """Choose the voicing of ``chord`` that moves least from ``previous``.

    Movement is the summed semitone distance between sorted voices; with no previous chord
    the voicing nearest the middle of the range wins. Ties break on the lower voicing so the
    choice is deterministic.
    """
    candidates = _close_voicings(rootless_pitch_classes(chord, voices), low, high)
    if not candidates:
        raise ValueError(f"No voicing of {chord.symbol()} fits between {low} and {high}")
    centre = (low + high) / 2

    def cost(voicing: tuple[int, ...]) -> tuple[float, tuple[int, ...]]:
        drift = abs(sum(voicing) / len(voicing) - centre)
        if previous is None or len(previous) != len(voicing):
            return (drift, voicing)
        movement = sum(abs(a - b) for a, b in zip(voicing, previous, strict=True))
        return (movement + 0.1 * drift, voicing)

    return min(candidates, key=cost)


def voice_leading_distance(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    return sum(abs(x - y) for x, y in zip(sorted(a), sorted(b), strict=True))
