"""Arrange a plan into parts: drums, bass, keys, pad and melody, then humanise them.

The plan's sections say which parts play where and how hard (``Section.parts``,
``Section.energy``); every part is written over the whole form by its composer and then
arranged: notes (and pedal) in sections that drop the part are left out, and velocities
follow the section's energy, so breakdowns are softer as well as sparser.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from lofi_assets.music.bass import compose_bass
from lofi_assets.music.drums import compose_drums
from lofi_assets.music.harmony import compose_keys, compose_pad
from lofi_assets.music.humanize import humanize
from lofi_assets.music.melody import MELODY_RANGE, compose_melody
from lofi_assets.music.plan import SketchPlan, SketchRequest, resolve_plan
from lofi_assets.music.progressions import ChordEvent, harmonic_timeline
from lofi_assets.music.score import Part, Section
from lofi_assets.music.styles import Instrument, Style
from lofi_assets.music.theory import Key
from lofi_assets.seeding import derived_rng

PART_ORDER = ("keys", "bass", "melody", "drums", "pad")
# Velocity scale at energy 0 (1.0 at energy 1): a breakdown at 0.3 plays at ~0.5 of full.
# Measured on full-length masters (bench/sound.py): at 0.45 the busiest styles' breakdowns
# (rain under keys and pad) sat only 2.7 LU under the loudest section; at 0.3, with the bass
# resting too, 4.2–4.7 LU (the target is ≥ 3).
MIN_ENERGY_VELOCITY_SCALE = 0.3


@dataclass(frozen=True)
class Sketch:
    plan: SketchPlan
    timeline: tuple[ChordEvent, ...]
    parts: tuple[Part, ...]  # humanised, in PART_ORDER
    # Which generator wrote the melody ("engine" or "model"), and why the engine did when the
    # model was asked for and failed.
    melody_source: Mapping[str, Any] = field(default_factory=lambda: {"generator": "engine"})

    def part(self, name: str) -> Part:
        return next(part for part in self.parts if part.name == name)


class MelodyWriter(Protocol):
    """Another melody generator (the trained model): a part, or None and the reason."""

    def write(
        self,
        sections: list[Section],
        timeline: list[ChordEvent],
        key: Key,
        style: Style,
        instrument: Instrument,
        seed: int,
    ) -> tuple[Part | None, dict[str, Any]]: ...


def arrange(plan: SketchPlan, melody_writer: MelodyWriter | None = None) -> Sketch:
    """Every part of the plan; the melody from ``melody_writer`` when the style asks for the
    model and one is given, from the engine otherwise (or when the model fails)."""
    sections = list(plan.sections)
    timeline = harmonic_timeline(sections, plan.progressions, plan.key)
    style, seed = plan.style, plan.seed
    melody, melody_source = None, {"generator": "engine"}
    if style.melody_generator == "model":
        if melody_writer is None:
            melody_source["reason"] = "no melody_model is materialized"
        else:
            melody, melody_source = melody_writer.write(
                sections, timeline, plan.key, style, style.instruments["melody"], seed
            )
    if melody is not None:
        melody = _model_melody_in_register(melody, sections)
    instruments = style.instruments
    parts = {
        "keys": compose_keys(
            timeline, plan.keys_pattern, plan.swing, instruments["keys"], derived_rng(seed, "keys")
        ),
        "bass": compose_bass(
            timeline,
            plan.key,
            plan.bass_pattern,
            plan.swing,
            instruments["bass"],
            derived_rng(seed, "bass"),
            sections,
        ),
        "melody": melody
        or compose_melody(
            sections,
            timeline,
            plan.key,
            style,
            plan.swing,
            instruments["melody"],
            derived_rng(seed, "melody"),
        ),
        "drums": compose_drums(
            sections,
            style,
            plan.kick_pattern,
            plan.swing,
            derived_rng(seed, "drums"),
        ),
        "pad": compose_pad(timeline, instruments["pad"], derived_rng(seed, "pad")),
    }
    ordered = [arrange_part(parts[name], sections) for name in PART_ORDER]
    return Sketch(plan, tuple(timeline), tuple(humanize(ordered, style, seed)), dict(melody_source))


def _section_index(sections: list[Section]):
    starts = [section.start_beats for section in sections]

    def at(beat: float) -> Section:
        return sections[max(0, bisect.bisect_right(starts, beat + 1e-9) - 1)]

    return at


def velocity_scale(energy: float) -> float:
    return MIN_ENERGY_VELOCITY_SCALE + (1 - MIN_ENERGY_VELOCITY_SCALE) * energy


def arrange_part(part: Part, sections: list[Section]) -> Part:
    """``part`` as the sections play it: dropped where a section leaves it out (the drum
    composer treats its sections itself), velocities scaled by each section's energy."""
    section_at = _section_index(sections)
    notes = []
    for note in part.notes:
        section = section_at(note.start_beats)
        if part.name != "drums" and not section.plays(part.name):
            continue
        velocity = max(1, min(127, round(note.velocity * velocity_scale(section.energy))))
        notes.append(replace(note, velocity=velocity))
    pedal = [span for span in part.pedal if section_at(span.down_beats).plays(part.name)]
    return replace(part, notes=notes, pedal=pedal)


def _model_melody_in_register(melody: Part, sections: list[Section]) -> Part:
    """A model-written melody moved by octaves into the melody register (above the pad)."""
    if not melody.notes:
        return melody
    pitches = sorted(note.pitch for note in melody.notes)
    median = pitches[len(pitches) // 2]
    centre = (MELODY_RANGE[0] + MELODY_RANGE[1]) / 2
    shift = 12 * round((centre - median) / 12)
    return replace(melody, notes=[replace(n, pitch=n.pitch + shift) for n in melody.notes])


def compose_sketch(request: SketchRequest, melody_writer: MelodyWriter | None = None) -> Sketch:
    """Validate the request, plan the track and arrange every part."""
    return arrange(resolve_plan(request), melody_writer)
