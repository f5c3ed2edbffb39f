"""Arrange a plan into parts: drums, bass, keys, pad and melody, then humanise them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from lofi_assets.music.bass import compose_bass
from lofi_assets.music.drums import compose_drums
from lofi_assets.music.harmony import compose_keys, compose_pad
from lofi_assets.music.humanize import humanize
from lofi_assets.music.melody import compose_melody
from lofi_assets.music.plan import SketchPlan, SketchRequest, resolve_plan
from lofi_assets.music.progressions import ChordEvent, harmonic_timeline
from lofi_assets.music.score import Part, Section
from lofi_assets.music.styles import Instrument, Style
from lofi_assets.music.theory import Key
from lofi_assets.seeding import derived_rng

PART_ORDER = ("keys", "bass", "melody", "drums", "pad")
DRUM_KIT_NAME = "Standard Kit"


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
    instruments = style.instruments
    parts = {
        "keys": compose_keys(
            timeline, plan.keys_pattern, plan.swing, instruments["keys"], derived_rng(seed, "keys")
        ),
        "bass": compose_bass(
            sections,
            timeline,
            plan.key,
            plan.bass_pattern,
            plan.swing,
            instruments["bass"],
            derived_rng(seed, "bass"),
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
            DRUM_KIT_NAME,
            derived_rng(seed, "drums"),
        ),
        "pad": compose_pad(timeline, instruments["pad"], derived_rng(seed, "pad")),
    }
    ordered = [parts[name] for name in PART_ORDER]
    return Sketch(plan, tuple(timeline), tuple(humanize(ordered, style, seed)), dict(melody_source))


def compose_sketch(request: SketchRequest, melody_writer: MelodyWriter | None = None) -> Sketch:
    """Validate the request, plan the track and arrange every part."""
    return arrange(resolve_plan(request), melody_writer)
