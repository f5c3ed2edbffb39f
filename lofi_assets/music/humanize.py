"""Structured humanisation: each player's habitual timing plus random jitter and dynamics.

A lazy snare sits behind the beat, hats push slightly ahead, keys drag a touch; on top of
that every onset gets Gaussian jitter (4–15 ms sd per style) and every velocity a spread.
Nothing moves more than ``MAX_DEVIATION_MS`` from the grid: beyond ~50 ms a note stops
sounding late and starts sounding wrong.
"""

from __future__ import annotations

import random
from dataclasses import replace

from lofi_assets.music.drums import GHOST_VELOCITY
from lofi_assets.music.score import NoteEvent, Part
from lofi_assets.music.styles import Style
from lofi_assets.seeding import derived_rng

MAX_DEVIATION_MS = 45.0
JITTER_CLIP_SD = 2.5  # a Gaussian truncated here keeps outliers musical

# Which player's habits a note voice follows.
HUMANIZED_VOICE = {
    "kick": "kick",
    "snare": "snare",
    "ghost": "snare",
    "toms": "snare",
    "hats": "hats",
    "crash": "hats",
    "reverse_cymbal": "hats",
    "percussion": "percussion",
    "bass": "bass",
    "keys": "keys",
    "melody": "melody",
    "pad": "pad",
}


def humanize_note(note: NoteEvent, style: Style, rng: random.Random) -> NoteEvent:
    player = HUMANIZED_VOICE[note.voice]
    jitter_sd = style.timing_jitter_ms[player]
    jitter = max(
        -JITTER_CLIP_SD * jitter_sd, min(JITTER_CLIP_SD * jitter_sd, rng.gauss(0, jitter_sd))
    )
    offset_ms = style.timing_offsets_ms[player] + jitter
    offset_ms = max(-MAX_DEVIATION_MS, min(MAX_DEVIATION_MS, offset_ms))
    velocity = round(note.velocity + rng.gauss(0, style.velocity_sd))
    low, high = GHOST_VELOCITY if note.voice == "ghost" else (1, 127)
    return replace(note, offset_ms=round(offset_ms, 3), velocity=max(low, min(high, velocity)))


def humanize(parts: list[Part], style: Style, seed: int) -> list[Part]:
    """Humanised copies of ``parts``; each part draws from its own stream of the seed."""
    humanized = []
    for part in parts:
        rng = derived_rng(seed, f"humanize:{part.name}")
        notes = [humanize_note(note, style, rng) for note in part.notes]
        humanized.append(replace(part, notes=notes))
    return humanized
