"""The score: notes on a beat grid, grouped into instrument parts, plus the song form.

Positions are in beats (quarter notes) from the start of the track. ``start_beats`` already
includes swing and deliberate rolls; ``offset_ms`` is the humanised deviation a player adds on
top, kept separate so the groove can be measured against the grid it was played from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass
class Part:
    name: str
    program: int
    instrument_name: str
    channel: int
    notes: list[NoteEvent] = field(default_factory=list)

    @property
    def is_drums(self) -> bool:
        return self.channel == DRUM_CHANNEL


@dataclass(frozen=True)
class Section:
    name: str  # intro, A, B, A2 (A′), outro
    start_bar: int
    bars: int

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
        """Which progression the section plays: B has its own, the rest share A's."""
        return "B" if self.name == "B" else "A"


def swing_position(sixteenth: int, swing: float) -> float:
    """Beat position of a 16th-note index with 16th swing.

    ``swing`` is the share of each 8th note taken by its first 16th: 0.5 is straight,
    0.58 pushes every off-beat 16th late by 8 % of an 8th.
    """
    eighth, odd = divmod(sixteenth, 2)
    return eighth * 0.5 + (swing * 0.5 if odd else 0.0)
