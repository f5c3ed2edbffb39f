"""Drums in the lo-fi idiom: a 1–2-bar loop that repeats with subtle variation.

A track's groove is a two-bar loop (kick pattern, backbeat, ghost notes, swung hats) drawn
once from the seed, as a producer chops one break and loops it; each bar replays it with
fresh dynamics and, now and then, one small change that then stays in the loop (a ghost
note added or left out, a hat opened, a pickup kick) until the next section starts over. Sections choose how much of the kit plays (``Section.drums``); fills
are drop-outs, snare variations and reversed cymbals, with a rare tom fill; a crash marks
only a section that truly starts over.
"""

from __future__ import annotations

import random

from lofi_assets.music.score import (
    BEATS_PER_BAR,
    DRUM_CHANNEL,
    SIXTEENTHS_PER_BAR,
    NoteEvent,
    Part,
    Section,
    swing_position,
)
from lofi_assets.music.styles import DRUM_KITS, KICK_PATTERNS, Style

# General MIDI percussion key map.
KICK, SIDE_STICK, SNARE = 36, 37, 38
CLOSED_HAT, PEDAL_HAT, OPEN_HAT = 42, 44, 46
RIDE = 51
CRASH, TAMBOURINE, SHAKER = 49, 54, 82
# No GM2 kit maps a reversed cymbal, so it has a key of its own outside the GM2 drum map
# (27–87): a GM player leaves it silent (the fill becomes a drop-out), the sampled kits play a
# reversed crash that swells to the note's end — the downbeat the track comes back on.
REVERSE_CYMBAL = 119
HIGH_BONGO, LOW_BONGO = 60, 61
TOMS = (50, 48, 47, 45)  # high to low, for fills rolling down the kit
HAT_PITCHES = frozenset({CLOSED_HAT, PEDAL_HAT, OPEN_HAT, RIDE})  # what keeps time

BACKBEAT = (4, 12)  # beats two and four
GHOST_SLOTS = (3, 6, 7, 9, 14, 15)
GHOST_VELOCITY = (25, 45)  # quiet enough to be felt rather than heard
BONGO_PATTERN = ((3, HIGH_BONGO), (6, LOW_BONGO), (11, HIGH_BONGO), (14, LOW_BONGO))
# A jazz ride pattern ("ding, ding-da-a ding, ding-da-a"): the ride on every beat and on the
# "and" of two and four, a swung skip note after it, the pedal hat closing on two and four.
# Jazz and brush kits keep time this way rather than with 12–14 closed hats a bar.
RIDE_BEATS = (0, 4, 6, 8, 12, 14)
RIDE_SKIPS = (15,)
RIDE_EXTRA_SKIPS = (7, 3)  # added by the style's hat density, as a drummer varies the skip
# Snare fills as 16th indices: each spans the bar's last two beats (slots 8–15), so the fill
# is heard as a fill (one extra ghost note is not), and includes the backbeat on four.
SNARE_FILLS = (
    (8, 10, 12, 14, 15),
    (8, 11, 12, 14, 15),
    (8, 10, 12, 13, 14, 15),
    (9, 10, 12, 13, 15),
    (8, 10, 12, 14),
)
VARIATION_PROBABILITY = 0.08  # a bar's chance of one small change to the loop (it then sticks)

# One hit of the loop: (16th index, pitch, velocity, voice, length in beats).
Hit = tuple[int, int, int, str, float]


def _hit(sixteenth: int, bar_start: float, swing: float) -> float:
    return bar_start + swing_position(sixteenth, swing)


def _loop(
    kick_pattern: tuple[tuple[int, ...], tuple[int, ...]], style: Style, rng: random.Random
) -> tuple[list[Hit], list[Hit]]:
    """A two-bar loop: kick, backbeat, ghost notes and swung hats, drawn once."""
    feel = style.drums
    backbeat = SIDE_STICK if feel.backbeat == "side_stick" else SNARE
    bars: list[list[Hit]] = []
    for bar in range(2):
        hits: list[Hit] = [
            (s, KICK, 112 if s == 0 else rng.randint(92, 106), "kick", 0.25)
            for s in kick_pattern[bar]
        ]
        if backbeat == SIDE_STICK:  # a light cross-stick, no ghost notes: felt, not driven
            hits += [(s, SIDE_STICK, rng.randint(62, 74), "snare", 0.25) for s in BACKBEAT]
        else:
            hits += [(s, SNARE, rng.randint(98, 108), "snare", 0.25) for s in BACKBEAT]
            hits += [
                (s, SNARE, rng.randint(*GHOST_VELOCITY), "ghost", 0.25)
                for s in GHOST_SLOTS
                if rng.random() < feel.ghost_note_density
            ]
        if feel.timekeeper == "ride":
            hits += [
                (s, RIDE, 88 if s % 8 == 0 else 80 if s % 4 == 0 else 68, "hats", 0.25)
                for s in RIDE_BEATS
            ]
            skips = list(RIDE_SKIPS) + [
                s for s in RIDE_EXTRA_SKIPS if rng.random() < feel.hat_density / 2
            ]
            hits += [(s, RIDE, rng.randint(56, 66), "hats", 0.25) for s in sorted(skips)]
            hits += [(s, PEDAL_HAT, 64, "hats", 0.25) for s in BACKBEAT]
            bars.append(hits)
            continue
        # Hats on every 8th plus swung 16ths by density; at least one off-beat 16th a bar
        # so the swing is always audible (and measurable).
        odd = [s for s in range(1, SIXTEENTHS_PER_BAR, 2) if rng.random() < feel.hat_density]
        odd = odd or [rng.choice((7, 15))]
        open_slot = 14 if rng.random() < feel.open_hat_probability else None
        for s in range(0, SIXTEENTHS_PER_BAR, 2):
            if s == open_slot:
                hits.append((s, OPEN_HAT, 80, "hats", 0.5))
            else:
                hits.append((s, CLOSED_HAT, 92 if s % 4 == 0 else 74, "hats", 0.25))
        hits += [(s, CLOSED_HAT, rng.randint(50, 64), "hats", 0.25) for s in odd]
        bars.append(hits)
    return bars[0], bars[1]


def _vary(hits: list[Hit], rng: random.Random) -> list[Hit]:
    """One small change a drummer makes on a repeat: a ghost note, an open hat, a pickup."""
    hits = list(hits)
    kind = rng.randrange(4)
    ghosts = [hit for hit in hits if hit[3] == "ghost"]
    taken = {hit[0] for hit in hits if hit[1] in (SNARE, SIDE_STICK)}
    if kind <= 1 and any(hit[1] == SIDE_STICK for hit in hits):
        kind = 3  # a cross-stick groove takes no ghost notes: a pickup kick instead
    if kind == 0 and ghosts:
        hits.remove(rng.choice(ghosts))
    elif kind <= 1:
        free = [s for s in GHOST_SLOTS if s not in taken]
        if free:
            hits.append((rng.choice(free), SNARE, rng.randint(*GHOST_VELOCITY), "ghost", 0.25))
    elif kind == 2:
        hits = [
            (14, OPEN_HAT, 80, "hats", 0.5) if hit[0] == 14 and hit[1] == CLOSED_HAT else hit
            for hit in hits
        ]
    elif not any(hit[0] == 15 and hit[1] == KICK for hit in hits):
        hits.append((15, KICK, rng.randint(80, 94), "kick", 0.25))
    return hits


def _treated(hits: list[Hit], treatment: str) -> list[Hit]:
    """What of the loop a section plays: all, kick and hats (light), hats only, nothing."""
    if treatment == "full":
        return hits
    if treatment == "light":
        return [hit for hit in hits if hit[3] in ("kick", "hats")]
    if treatment == "hats":
        return [hit for hit in hits if hit[3] == "hats"]
    return []


def _percussion(layers: tuple[str, ...], rng: random.Random) -> list[Hit]:
    hits: list[Hit] = []
    for layer in layers:
        if layer == "shaker":
            hits += [
                (s, SHAKER, 58 if s % 2 == 0 else 40, "percussion", 0.25)
                for s in range(SIXTEENTHS_PER_BAR)
            ]
        elif layer == "tambourine":
            hits += [(s, TAMBOURINE, rng.randint(54, 66), "percussion", 0.25) for s in BACKBEAT]
        elif layer == "bongos":
            hits += [(s, p, rng.randint(50, 70), "percussion", 0.25) for s, p in BONGO_PATTERN]
    return hits


def _fill_bar(hits: list[Hit], kind: str, rng: random.Random) -> list[Hit]:
    """The section's last bar, ending in its fill (a reversed cymbal is added separately)."""
    if kind == "dropout":
        if rng.random() < 0.5:
            return [hit for hit in hits if hit[0] < 8]  # the band stops on beat three
        return [hit for hit in hits if hit[3] == "hats" and hit[0] < 12]  # kick and snare out
    if kind == "snare":
        # The last two beats: snare (or cross-stick) and ghosts out, a crescendo figure in.
        pitch = SIDE_STICK if any(hit[1] == SIDE_STICK for hit in hits) else SNARE
        kept = [hit for hit in hits if hit[0] < 8 or hit[3] in ("hats", "kick")]
        slots = rng.choice(SNARE_FILLS)
        rise = 40 / max(1, len(slots) - 1)
        kept += [(s, pitch, round(62 + rise * step), "snare", 0.25) for step, s in enumerate(slots)]
        return kept
    if kind == "toms":
        snare = SIDE_STICK if any(hit[1] == SIDE_STICK for hit in hits) else SNARE
        kept = [hit for hit in hits if hit[0] < 10 and hit[3] != "ghost"]
        pitches = (snare, snare, *TOMS)
        kept += [
            (s, p, 70 + 7 * step, "snare" if p == snare else "toms", 0.25)
            for step, (s, p) in enumerate(zip(range(10, 16), pitches, strict=True))
        ]
        return kept
    return hits


def compose_drums(
    sections: list[Section],
    style: Style,
    kick_pattern_name: str,
    swing: float,
    rng: random.Random,
) -> Part:
    """The drum part over the whole form, on the style's GM2 kit (its program number).

    Each section plays the loop as its treatment says (``Section.drums``), percussion layers
    join in B and the returns (A′, B2), the last bar carries the section's fill
    (``Section.fill``) and a crash opens a section marked ``crash``.
    """
    kick_pattern = KICK_PATTERNS[kick_pattern_name]
    loop = _loop(kick_pattern, style, rng)
    notes: list[NoteEvent] = []

    def play(hits: list[Hit], bar_start: float) -> None:
        for sixteenth, pitch, velocity, voice, length in hits:
            jitter = 0 if voice == "ghost" else rng.randint(-4, 4)
            notes.append(
                NoteEvent(
                    _hit(sixteenth, bar_start, swing), length, pitch, velocity + jitter, voice
                )
            )

    for section in sections:
        percussion = style.drums.percussion if section.name in ("B", "A2", "B2") else ()
        layer = _percussion(percussion, rng)
        playing = list(loop)  # each section starts from the loop as it was chopped
        for bar in range(section.bars):
            bar_start = section.start_beats + bar * BEATS_PER_BAR
            if bar >= 2 and rng.random() < VARIATION_PROBABILITY:
                # The change sticks, as a producer edits the loop: it repeats from here on.
                playing[bar % 2] = _vary(playing[bar % 2], rng)
            hits = _treated(playing[bar % 2], section.drums)
            if section.drums == "full":
                hits = hits + layer
            if bar == section.bars - 1 and section.drums != "none":
                hits = _fill_bar(hits, section.fill, rng)
            play(hits, bar_start)
        if section.fill == "reverse_cymbal":
            swell_beats = 2.0 if rng.random() < 0.5 else float(BEATS_PER_BAR)
            notes.append(
                NoteEvent(
                    section.end_beats - swell_beats,
                    swell_beats,
                    REVERSE_CYMBAL,
                    84,
                    "reverse_cymbal",
                )
            )
        if section.crash:
            notes.append(NoteEvent(section.start_beats, 2.0, CRASH, 88, "crash"))
    notes.sort(key=lambda note: (note.start_beats, note.pitch))
    program, kit_name = DRUM_KITS[style.drums.kit]
    return Part("drums", program, kit_name, DRUM_CHANNEL, notes)
