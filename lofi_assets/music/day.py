"""A day with contrast: the slots of one date get different styles, keys and tempos.

Each track is seeded on its own, so left alone two slots of a day can land on the same style,
key and tempo (measured: 9 of 20 days repeated a style, one had two slots in the same style,
key and tempo). A listener who plays the day's release back to back hears that as one track
twice. The day is therefore planned first, from its own seed: styles drawn without
replacement by the channel's weights, a different tonic for every slot, and tempos at least
``MIN_TEMPO_GAP_BPM`` apart. Each slot's plan then pins those three and decides the rest from
the slot's own seed.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lofi_assets.music.styles import Style, get_style

MIN_TEMPO_GAP_BPM = 4  # tempos closer than this read as "the same groove" back to back
# How far a slot may leave its style's tempo range when the day's other slots crowd it: a
# few BPM keep the style's feel, and guarantee room for a gap with any three styles.
TEMPO_STRETCH_BPM = 8
TONICS = 12


@dataclass(frozen=True)
class SlotChoice:
    """What the day pins for one slot: style name, tonic pitch class (0 = C) and tempo."""

    style: str
    tonic_pc: int
    bpm: int


def plan_day(
    seed: int, slots: Sequence[str], style_weights: Mapping[str, float]
) -> dict[str, SlotChoice]:
    """Contrasting choices for every slot of one day, in slot order, from ``seed``.

    Styles are drawn by weight without replacement (repeating only when fewer styles than
    slots have a positive weight); tonics never repeat within a day; every pair of tempos is
    at least MIN_TEMPO_GAP_BPM apart, inside each style's range where possible.
    """
    rng = random.Random(seed)
    remaining = {name: weight for name, weight in style_weights.items() if weight > 0}
    choices: dict[str, SlotChoice] = {}
    for slot in slots:
        if not remaining:  # fewer weighted styles than slots: draw from all of them again
            remaining = {name: weight for name, weight in style_weights.items() if weight > 0}
        names = sorted(remaining)
        style_name = rng.choices(names, weights=[remaining[name] for name in names], k=1)[0]
        del remaining[style_name]
        used_tonics = {choice.tonic_pc for choice in choices.values()}
        tonic_pc = rng.choice([pc for pc in range(TONICS) if pc not in used_tonics] or [0])
        bpm = _contrasting_tempo(
            get_style(style_name), [choice.bpm for choice in choices.values()], rng
        )
        choices[slot] = SlotChoice(style_name, tonic_pc, bpm)
    return choices


def _contrasting_tempo(style: Style, taken_bpm: list[int], rng: random.Random) -> int:
    def clear(bpm: int) -> bool:
        return all(abs(bpm - other) >= MIN_TEMPO_GAP_BPM for other in taken_bpm)

    in_range = [bpm for bpm in range(style.bpm_min, style.bpm_max + 1) if clear(bpm)]
    if in_range:
        return rng.choice(in_range)
    stretched = range(style.bpm_min - TEMPO_STRETCH_BPM, style.bpm_max + TEMPO_STRETCH_BPM + 1)
    nearest = sorted(
        (bpm for bpm in stretched if clear(bpm)),
        key=lambda bpm: (max(style.bpm_min - bpm, bpm - style.bpm_max), bpm),
    )
    if nearest:
        return nearest[0]
    # Only reachable with many slots: the widest gap available wins.
    return max(stretched, key=lambda bpm: (min(abs(bpm - t) for t in taken_bpm), -bpm))
