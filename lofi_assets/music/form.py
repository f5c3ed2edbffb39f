"""Song form and arrangement: which sections, how long, and which parts play in each.

A track is framed by an intro that builds (parts enter over its two halves) and an outro that
strips down (parts leave); the body states the theme (A), contrasts it (B), drops out (a
breakdown or a bridge without drums or melody) and brings the theme back (A′, sometimes B
again). Which body template a track gets is drawn from the style's weights; which parts play
in the intro, A, the breakdown and the outro is drawn from the seed, so tracks of one style
differ in layout as well as in notes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import replace

from lofi_assets.errors import ConfigError
from lofi_assets.music.score import BEATS_PER_BAR, PART_NAMES, Section

MIN_BARS = 5  # one bar each for intro, A, B, A′ and outro

# Body templates (between intro and outro), by name; styles weight them (``arrangement.forms``).
FORM_TEMPLATES: dict[str, tuple[str, ...]] = {
    "breakdown": ("A", "B", "breakdown", "A2"),
    "bridge": ("A", "B", "bridge", "A2"),
    "early_break": ("A", "breakdown", "B", "A2"),
    "return_b": ("A", "B", "breakdown", "A2", "B2"),
    "late_break": ("A", "B", "A2", "breakdown", "B2"),
}
SHORT_BODY = ("A", "B", "A2")  # tracks too short for a drop-out section

# Section energy (0–1): velocities and densities scale with it. Drop-outs are the softest so
# the track breathes (the target: quietest body section ≥ 3 LU under the loudest).
ENERGY = {
    "intro": 0.5,
    "A": 0.8,
    "B": 0.9,
    "breakdown": 0.3,
    "bridge": 0.3,
    "A2": 1.0,
    "B2": 0.95,
    "outro": 0.6,
}

# How the intro's first half may sound: (parts, drum treatment). Its second half adds parts.
INTRO_OPENINGS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("keys",), "none"),
    (("keys", "pad"), "none"),
    (("keys", "drums"), "hats"),
    (("pad", "keys", "bass"), "none"),
)
INTRO_ENTRIES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("bass", "pad"), "none"),
    (("drums",), "hats"),
    (("bass", "drums"), "light"),
    (("pad", "drums"), "hats"),
)
# The outro's last step: keys and pad always ring across into it (and out of the track).
OUTRO_ENDINGS: tuple[tuple[str, ...], ...] = (("keys", "pad"), ("pad", "keys", "bass"))
MAX_PARTS_ENTERING_A = 2  # the melody and one more; the rest enter during the intro


def bar_duration_s(bpm: float) -> float:
    return BEATS_PER_BAR * 60.0 / bpm


def bars_for_duration(target_duration_s: float, bpm: float) -> int:
    """Whole bars closest to the target, so the track lands within half a bar of it."""
    bars = round(target_duration_s / bar_duration_s(bpm))
    if bars < MIN_BARS:
        raise ConfigError(
            f"A {target_duration_s:.1f} s track at {bpm} BPM has fewer than {MIN_BARS} bars: "
            "ask for a longer duration or a faster tempo"
        )
    return bars


def _ordered(parts: set[str] | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name for name in PART_NAMES if name in parts)


def _lengths(template: tuple[str, ...], units: int, unit: int) -> list[int]:
    """Units per body section: drop-outs four bars (eight in long tracks), B about 30 %."""
    drop_units = (2 if units >= 16 else 1) if unit >= 4 else 2
    b_total = max(1, round(units * 0.3))
    lengths: dict[str, int] = {}
    if "breakdown" in template:
        lengths["breakdown"] = drop_units
    if "bridge" in template:
        lengths["bridge"] = 1 if unit >= 4 else 2
    if "B2" in template:
        lengths["B2"] = max(1, b_total // 3)
        b_total = max(1, b_total - lengths["B2"])
    lengths["B"] = b_total
    left = units - sum(lengths.values())
    lengths["A"] = math.ceil(left / 2)
    lengths["A2"] = left - lengths["A"]
    return [lengths[name] for name in template]


def plan_form(
    total_bars: int,
    form_weights: Mapping[str, float] | None = None,
    rng: random.Random | None = None,
    fill_probability: float = 0.7,
) -> list[Section]:
    """The arranged form of a ``total_bars`` track: sections that add up to it exactly.

    Intro and outro frame the track (each split in two halves when 4 bars or longer, so
    parts can enter and leave); the body is cut into phrase units (4 bars when there is
    room, shorter for short tracks) laid out by a template drawn from ``form_weights``
    (names of ``FORM_TEMPLATES``; all equally likely when None); whatever does not fill a
    unit extends the outro. ``fill_probability`` (the style's) is the chance that the drums
    mark a section end with a fill. ``rng`` (the plan's "form" stream) draws the template and the
    parts; without one the first template and the fullest choices are taken. Raises
    ConfigError for fewer than ``MIN_BARS`` bars or an unknown template name.
    """
    if total_bars < MIN_BARS:
        raise ConfigError(f"A track needs at least {MIN_BARS} bars, got {total_bars}")
    weights = dict(form_weights) if form_weights else dict.fromkeys(FORM_TEMPLATES, 1.0)
    unknown = sorted(set(weights) - set(FORM_TEMPLATES))
    if unknown:
        raise ConfigError(f"Unknown form templates {unknown}: choose from {list(FORM_TEMPLATES)}")
    names = sorted(name for name, weight in weights.items() if weight > 0)
    if rng is None:
        template_name = names[0]
        rng = random.Random(0)
    else:
        template_name = rng.choices(names, weights=[weights[n] for n in names], k=1)[0]

    frame = 4 if total_bars >= 32 else 2 if total_bars >= 12 else 1
    intro_bars = 8 if total_bars >= 64 and rng.random() < 0.3 else frame
    body = total_bars - intro_bars - frame
    unit = 4 if body >= 24 else 2 if body >= 6 else 1
    units, remainder = divmod(body, unit)
    template = FORM_TEMPLATES[template_name]
    counts = _lengths(template, units, unit)
    if units * unit < 16 or min(counts) < 1:  # too short for a four-bar drop-out
        template = SHORT_BODY
        counts = _lengths(template, units, unit)
    lengths = [count * unit for count in counts]

    sections: list[Section] = []
    start = 0

    def add(name: str, bars: int, parts, drums: str, energy: float | None = None) -> None:
        nonlocal start
        parts = set(parts)
        if drums == "none":
            parts.discard("drums")
        else:
            parts.add("drums")
        sections.append(
            Section(
                name,
                start,
                bars,
                _ordered(parts),
                ENERGY[name] if energy is None else energy,
                drums,
            )
        )
        start += bars

    # Intro: a sparse opening, then parts enter; A brings in the melody and at most one more
    # part, so the texture builds in steps rather than four parts landing on one downbeat.
    opening_parts, opening_drums = rng.choice(INTRO_OPENINGS)
    entry_parts, entry_drums = rng.choice(INTRO_ENTRIES)
    pad_waits = rng.random() < 0.35  # the pad joins in B, so A is thinner
    if intro_bars >= 2:
        add("intro", intro_bars // 2, opening_parts, opening_drums, 0.45)
        parts = {*opening_parts, *entry_parts}
        drums = entry_drums if opening_drums == "none" or entry_drums != "none" else opening_drums
        pad_waits = pad_waits and "pad" not in parts
        a_parts = set(PART_NAMES) - ({"pad"} if pad_waits else set())
        waiting = [name for name in ("drums", "bass", "pad") if name in a_parts]
        waiting = [
            name
            for name in waiting
            if name not in parts and not (name == "drums" and drums != "none")
        ]
        if rng.random() < 0.3:  # usually the hats lead in; sometimes the bass or pad first
            rng.shuffle(waiting)
        while len(waiting) > MAX_PARTS_ENTERING_A - 1:  # the melody always enters at A
            name = waiting.pop(0)
            parts.add(name)
            drums = "hats" if name == "drums" else drums
        add("intro", intro_bars - intro_bars // 2, parts, drums, 0.6)
    else:
        add("intro", intro_bars, opening_parts, opening_drums)
        pad_waits = pad_waits and "pad" not in opening_parts

    # Body.
    for name, bars in zip(template, lengths, strict=True):
        if name == "A":
            parts = set(PART_NAMES) - ({"pad"} if pad_waits else set())
            add(name, bars, parts, "full")
        elif name in ("B", "A2", "B2"):
            add(name, bars, PART_NAMES, "full")
        elif name == "breakdown":
            add(name, bars, {"keys", "pad"}, "none")  # a true breakdown: the rhythm section rests
        else:  # bridge
            add(name, bars, {"keys", "bass", "pad"}, "none")

    # Outro in two steps: the drums thin to hats (or kick and hats) and the melody may say
    # goodbye, then the keys and pad (sometimes with the bass) ring the track out, so no edge
    # stops everything at once.
    outro_bars = frame + remainder
    ending = rng.choice(OUTRO_ENDINGS)
    if outro_bars >= 2:
        first = outro_bars // 2
        keeps_melody = rng.random() < 0.5
        if keeps_melody:  # the melody's farewell and the drums stop; the bass stays a step
            ending = ("pad", "keys", "bass")
        parts = {"keys", "bass", "pad"} | ({"melody"} if keeps_melody else set())
        add("outro", first, parts, rng.choice(("light", "hats")), 0.6)
        add("outro", outro_bars - first, ending, "none", 0.45)
    else:
        add("outro", outro_bars, ending, "none")

    sections = _with_drum_transitions(sections, rng, fill_probability)
    if sections[-1].end_bar != total_bars:
        raise AssertionError(f"form of {sections[-1].end_bar} bars, asked for {total_bars}")
    return sections


def _with_drum_transitions(
    sections: list[Section], rng: random.Random, fill_probability: float
) -> list[Section]:
    """Fills at section ends and crashes where the groove truly starts over (≤ 2 a track).

    A crash marks the drums' return after a drop-out (and, sometimes, the first full groove
    after a drum-less intro); fills are lo-fi idiom — a drop-out of the last beats, a snare
    variation, a reversed cymbal swelling out of a drop-out — with at most one tom fill.
    """
    out: list[Section] = []
    crashes = 0
    toms_left = 1
    for index, section in enumerate(sections):
        following = sections[index + 1] if index + 1 < len(sections) else None
        fill, crash = "none", False
        previous = sections[index - 1] if index else None
        returns = (
            previous is not None
            and section.drums == "full"
            and previous.drums == "none"
            and previous.name in ("breakdown", "bridge", "intro")
        )
        if returns and crashes < 2 and (previous.name != "intro" or rng.random() < 0.3):
            crash, crashes = True, crashes + 1
        if following is not None and following.drums != "none":
            if section.drums == "none" and section.name in ("breakdown", "bridge"):
                fill = "reverse_cymbal" if rng.random() < 0.75 else "none"
            elif section.drums == "full" and rng.random() < fill_probability:
                roll = rng.random()
                if toms_left and roll < 0.12:
                    fill, toms_left = "toms", 0
                elif roll < 0.6:
                    fill = "snare"
                else:
                    fill = "dropout"
        out.append(replace(section, fill=fill, crash=crash))
    return out
