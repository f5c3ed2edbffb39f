"""The score: notes on a beat grid, grouped into instrument parts, plus the song form.

Positions are in beats (quarter notes) from the start of the track. ``start_beats`` already
includes swing and deliberate rolls; ``offset_ms`` is the humanised deviation a player adds on
top, kept separate so the groove can be measured against the grid it was played from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

BEATS_PER_BAR = 4  # every style is in 4/4
SIXTEENTHS_PER_BAR = 16
DRUM_CHANNEL = 9  # General MIDI percussion channel (10 when counted from one)


@dataclass(frozen=True, slots=True)
class NoteEvent:
    start_beats: float
    duration_beats: float
    pitch: int
    velocity: int
    voice: str  # drum voice ("kick", "snare", "ghost", "hats" …) or the part name
    offset_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class PedalSpan:
    """The sustain pedal (CC64) held from ``down_beats`` to ``up_beats``."""

    down_beats: float
    up_beats: float


@dataclass
class Part:
    name: str
    program: int
    instrument_name: str
    channel: int
    notes: list[NoteEvent] = field(default_factory=list)
    pedal: list[PedalSpan] = field(default_factory=list)  # sorted, non-overlapping

    @property
    def is_drums(self) -> bool:
        return self.channel == DRUM_CHANNEL


# The parts a section can switch on or off, in the order the arrangement builds them.
PART_NAMES = ("keys", "bass", "melody", "drums", "pad")

# The section vocabulary. Every name maps to one of the plan's two progressions
# (``Section.progression_name``): "B"-like sections play B's changes, the rest A's.
#   intro      the opening: a few parts that build towards the first A
#   A          the main theme (first statement)
#   B          the contrasting section (its own progression)
#   breakdown  a stripped-down A: drums out or light, melody resting, softer
#   bridge     a short B-progression passage between B and A′ (drums out or light)
#   A2         A′: the theme returns, varied, in A's register
#   B2         B returns after A′ (its progression, its phrases varied)
#   outro      parts leave one by one
SECTION_NAMES = ("intro", "A", "B", "breakdown", "bridge", "A2", "B2", "outro")
B_PROGRESSION_SECTIONS = frozenset({"B", "B2", "bridge"})

# How the drums play a section: the full groove, a light one (kick and hats, no backbeat
# snare, no percussion), only the hats (a "drop-out" of the kick and snare), or not at all.
DRUM_TREATMENTS = ("full", "light", "hats", "none")
# How the drums end a section: nothing, a drop-out (the last beats left empty), a snare
# variation, a reversed cymbal swelling into the next section, or (rarely) a tom fill.
FILL_KINDS = ("none", "dropout", "snare", "reverse_cymbal", "toms")


@dataclass(frozen=True)
class Section:
    """One section of the arrangement: where it sits and how the band plays it.

    ``parts`` names the parts that play (a subset of ``PART_NAMES``); ``energy`` (0–1) scales
    velocities and densities (1.0 is the loudest statement of the theme); ``drums`` is one of
    ``DRUM_TREATMENTS``; ``fill`` (one of ``FILL_KINDS``) is how the drums lead out of the
    section; ``crash`` marks a section that truly starts over with a crash cymbal.
    """

    name: str  # one of SECTION_NAMES
    start_bar: int
    bars: int
    parts: tuple[str, ...] = PART_NAMES
    energy: float = 1.0
    drums: str = "full"
    fill: str = "none"
    crash: bool = False

    @property
    def end_bar(self) -> int:
        return self.start_bar + self.bars

    @property
    def start_beats(self) -> float:
        return float(self.start_bar * BEATS_PER_BAR)

    @property
    def end_beats(self) -> float:
        return float(self.end_bar * BEATS_PER_BAR)

    @property
    def progression_name(self) -> str:
        """Which progression the section plays: B, B2 and the bridge play B's, the rest A's."""
        return "B" if self.name in B_PROGRESSION_SECTIONS else "A"

    def plays(self, part: str) -> bool:
        return part in self.parts

    def to_document(self) -> dict[str, Any]:
        """The section as JSON-safe data (``plan.json``); ``from_document`` reads it back."""
        return {
            "name": self.name,
            "start_bar": self.start_bar,
            "bars": self.bars,
            "parts": list(self.parts),
            "energy": self.energy,
            "drums": self.drums,
            "fill": self.fill,
            "crash": self.crash,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Section:
        """The section ``to_document`` wrote (exact round trip).

        Documents from before the arrangement fields existed (only name, start_bar, bars)
        read with the defaults: every part, full energy, full drums, no fill, no crash.
        Raises ValueError naming the field when a value is missing or invalid.
        """
        try:
            name, start_bar, bars = document["name"], document["start_bar"], document["bars"]
        except KeyError as missing:
            raise ValueError(f"section document lacks {missing}: {dict(document)!r}") from None
        parts = tuple(document.get("parts", PART_NAMES))
        section = cls(
            name=str(name),
            start_bar=int(start_bar),
            bars=int(bars),
            parts=parts,
            energy=float(document.get("energy", 1.0)),
            drums=str(document.get("drums", "full")),
            fill=str(document.get("fill", "none")),
            crash=bool(document.get("crash", False)),
        )
        section.validate()
        return section

    def validate(self) -> None:
        """Raise ValueError naming the first field outside its vocabulary or range."""
        problems = []
        if self.name not in SECTION_NAMES:
            problems.append(f"name {self.name!r} is not one of {SECTION_NAMES}")
        if self.start_bar < 0 or self.bars < 1:
            problems.append(f"bars {self.start_bar}+{self.bars} must be start >= 0, length >= 1")
        unknown = [part for part in self.parts if part not in PART_NAMES]
        if unknown:
            problems.append(f"parts {unknown} are not in {PART_NAMES}")
        if not 0.0 <= self.energy <= 1.0:
            problems.append(f"energy {self.energy} is outside 0–1")
        if self.drums not in DRUM_TREATMENTS:
            problems.append(f"drums {self.drums!r} is not one of {DRUM_TREATMENTS}")
        if self.fill not in FILL_KINDS:
            problems.append(f"fill {self.fill!r} is not one of {FILL_KINDS}")
        if problems:
            raise ValueError(
                f"section {self.name!r} at bar {self.start_bar}: " + "; ".join(problems)
            )


def swing_position(sixteenth: int, swing: float) -> float:
    """Beat position of a 16th-note index with 16th swing.

    ``swing`` is the share of each 8th note taken by its first 16th: 0.5 is straight,
    0.58 pushes every off-beat 16th late by 8 % of an 8th.
    """
    eighth, odd = divmod(sixteenth, 2)
    return eighth * 0.5 + (swing * 0.5 if odd else 0.0)
