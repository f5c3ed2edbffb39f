"""Song form: intro, A, B, A′, outro in whole bars that add up to the target length."""

from __future__ import annotations

import math

from lofi_assets.errors import ConfigError
from lofi_assets.music.score import BEATS_PER_BAR, Section

MIN_BARS = 5  # one bar each for intro, A, B, A′ and outro


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


def plan_form(total_bars: int) -> list[Section]:
    """Split ``total_bars`` into intro, A, B, A2 (A′) and outro.

    Intro and outro frame the track; the body is cut into phrase units (4 bars when there is
    room, shorter for short tracks) so melodies and progressions complete their phrases;
    whatever does not fill a unit extends the outro, so the total is exact.
    """
    if total_bars < MIN_BARS:
        raise ConfigError(f"A track needs at least {MIN_BARS} bars, got {total_bars}")
    frame = 4 if total_bars >= 32 else 2 if total_bars >= 12 else 1
    body = total_bars - 2 * frame
    unit = 4 if body >= 24 else 2 if body >= 6 else 1
    units, remainder = divmod(body, unit)
    b_units = max(1, round(units * 0.3))
    a_units = math.ceil((units - b_units) / 2)
    a2_units = units - b_units - a_units
    lengths = [
        ("intro", frame),
        ("A", a_units * unit),
        ("B", b_units * unit),
        ("A2", a2_units * unit),
        ("outro", frame + remainder),
    ]
    sections, start = [], 0
    for name, bars in lengths:
        sections.append(Section(name, start, bars))
        start += bars
    return sections


def section_at_bar(sections: list[Section], bar: int) -> Section:
    for section in sections:
        if section.start_bar <= bar < section.end_bar:
            return section
    raise IndexError(f"bar {bar} is outside the form")
