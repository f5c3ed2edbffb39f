"""Arrange a plan into parts: drums, bass, keys, pad and melody, then humanise them."""

from __future__ import annotations

from dataclasses import dataclass

from lofi_assets.music.bass import compose_bass
from lofi_assets.music.drums import compose_drums
from lofi_assets.music.harmony import compose_keys, compose_pad
from lofi_assets.music.humanize import humanize
from lofi_assets.music.melody import compose_melody
from lofi_assets.music.plan import SketchPlan, SketchRequest, resolve_plan
from lofi_assets.music.progressions import ChordEvent, harmonic_timeline
from lofi_assets.music.score import Part
from lofi_assets.seeding import derived_rng

PART_ORDER = ("keys", "bass", "melody", "drums", "pad")
DRUM_KIT_NAME = "Standard Kit"


@dataclass(frozen=True)
class Sketch:
    plan: SketchPlan
    timeline: tuple[ChordEvent, ...]
    parts: tuple[Part, ...]  # humanised, in PART_ORDER

    def part(self, name: str) -> Part:
        return next(part for part in self.parts if part.name == name)


def arrange(plan: SketchPlan) -> Sketch:
    sections = list(plan.sections)
    timeline = harmonic_timeline(sections, plan.progressions, plan.key)
    style, seed = plan.style, plan.seed
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
        "melody": compose_melody(
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
    return Sketch(plan, tuple(timeline), tuple(humanize(ordered, style, seed)))


def compose_sketch(request: SketchRequest) -> Sketch:
    """Validate the request, plan the track and arrange every part."""
    return arrange(resolve_plan(request))
