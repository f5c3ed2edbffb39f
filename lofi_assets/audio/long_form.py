"""The weekly long-form mix: the week's masters, topped up with extra tracks made for the week.

A week's release is at least ``min_duration_s`` long (an hour by default, three at most). The
week's own masters (every date × slot already mastered) come first, in calendar order; when
they fall short, extra tracks are composed and rendered for the week, each seeded by the week's
key and its index, so the same week always gets the same extras. Everything streams: the
extras are rendered through the pipeline's streamed path (``render_master_file``) and the mix is
joined by ``release_mix.join_tracks``, in blocks, so memory does not grow with the length.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lofi_assets.audio import SAMPLE_RATE_HZ
from lofi_assets.audio.production import ProductionSettings, production_inputs, render_master_file
from lofi_assets.audio.release_mix import MixTrack
from lofi_assets.audio.soundfont import SoundFont
from lofi_assets.errors import ConfigError
from lofi_assets.music.arrangement import compose_sketch
from lofi_assets.music.plan import DEFAULT_DURATION_RANGE_S, DURATION_LIMITS_S, SketchRequest
from lofi_assets.music.plan_record import PlanRecord
from lofi_assets.music.sketch_files import write_sketch_files
from lofi_assets.music.styles import get_style
from lofi_assets.seeding import stable_seed

DEFAULT_WEEKLY_DURATION_S = 3600.0  # an hour: the niche's shortest long-form mix
MAX_WEEKLY_DURATION_S = 3 * 3600.0  # three hours; longer belongs to the 24/7 radio
DAYS_PER_WEEK = 7
MAX_EXTRA_TRACKS = 200  # a safety stop: 3 h of the shortest tracks allowed is far fewer
EXTRAS_FOLDER = "extras"


class WeeklyDurationError(ConfigError):
    """A weekly mix length outside (0, 3 h], or extra tracks shorter than a track may be."""


def validate_weekly_duration(min_duration_s: float) -> float:
    """``min_duration_s`` if it is a length a weekly mix may have.

    Raises:
        WeeklyDurationError: not above 0 s, or above ``MAX_WEEKLY_DURATION_S`` (3 h).
    """
    if not 0.0 < min_duration_s <= MAX_WEEKLY_DURATION_S:
        raise WeeklyDurationError(
            f"weekly_mix min_duration_s must be above 0 and at most {MAX_WEEKLY_DURATION_S:.0f} "
            f"s (3 hours), got {min_duration_s:g} s: longer streams belong to `lofi radio`"
        )
    return min_duration_s


def validate_extra_track_s(extra_track_s: float | None) -> float | None:
    """The extras' target length, within the composer's ``DURATION_LIMITS_S``.

    Raises:
        WeeklyDurationError: outside ``DURATION_LIMITS_S`` (10–1200 s).
    """
    low, high = DURATION_LIMITS_S
    if extra_track_s is not None and not low <= extra_track_s <= high:
        raise WeeklyDurationError(
            f"weekly_mix extra_track_s must be {low:.0f}–{high:.0f} s, got {extra_track_s:g} s"
        )
    return extra_track_s


def week_dates(week_start: str) -> list[str]:
    """The seven dates (YYYY-MM-DD) of the week that starts on ``week_start``."""
    first = dt.date.fromisoformat(week_start)
    return [(first + dt.timedelta(days=offset)).isoformat() for offset in range(DAYS_PER_WEEK)]


def mix_duration_s(durations_s: Sequence[float], crossfades_in_s: Sequence[float]) -> float:
    """Length of tracks joined with crossfades: each track's crossfade-in overlaps the one
    before it (the first track's is ignored, as ``join_tracks`` does)."""
    return sum(durations_s) - sum(crossfades_in_s[1:])


def extra_track_request(
    channel_name: str,
    week_key: str,
    index: int,
    style_weights: Mapping[str, float],
    duration_s: float | None = None,
    duration_range_s: tuple[float, float] = DEFAULT_DURATION_RANGE_S,
) -> SketchRequest:
    """The sketch request of the week's extra track ``index`` (0-based): seeded by the channel,
    the week's key and the index alone, so a re-run of the week composes the same tracks."""
    return SketchRequest(
        seed=stable_seed("weekly_extra", channel_name, week_key, str(index)),
        duration_s=duration_s,
        style_weights=dict(style_weights),
        duration_range_s=duration_range_s,
    )


@dataclass(frozen=True)
class ExtraTrack:
    """One extra track made for the week: its files (in ``folder``) and its plan."""

    index: int
    folder: Path
    master_path: Path
    plan_path: Path
    plan: PlanRecord
    duration_s: float


def render_extra_track(
    request: SketchRequest, soundfont: SoundFont, folder: Path, index: int
) -> ExtraTrack:
    """Compose and render the week's extra track ``index`` into ``folder`` (sketch, plan,
    master.wav) by the pipeline's streamed path; mastered to −14 LUFS as every master is.

    Raises what composing (``PlanError``/``ConfigError``) and rendering (``AudioFileError``,
    ``DiskFullError``) raise.
    """
    sketch = compose_sketch(request)
    files = write_sketch_files(sketch, folder)
    settings = ProductionSettings.from_overrides(get_style(files.plan.style).production)
    master_path = folder / "master.wav"
    stats = render_master_file(
        production_inputs(files.summary, files.plan), settings, soundfont, master_path
    )
    return ExtraTrack(
        index=index,
        folder=folder,
        master_path=master_path,
        plan_path=files.plan_path,
        plan=files.plan,
        duration_s=stats.samples / SAMPLE_RATE_HZ,
    )


def crossfade_of(plan: PlanRecord) -> float:
    """The crossfade into a track, from its style's production settings (seconds)."""
    return ProductionSettings.from_overrides(get_style(plan.style).production).crossfade_s


def top_up(
    tracks: list[MixTrack],
    durations_s: list[float],
    min_duration_s: float,
    make_extra: Callable[[int], ExtraTrack],
    title_of: Callable[[PlanRecord], str],
) -> list[ExtraTrack]:
    """Append extra tracks (made by ``make_extra(index)``) to ``tracks`` until the mix is at
    least ``min_duration_s`` long; ``durations_s`` follows ``tracks``. Returns the extras.

    Raises:
        WeeklyDurationError: ``MAX_EXTRA_TRACKS`` extras did not reach the length.
    """
    extras: list[ExtraTrack] = []
    while mix_duration_s(durations_s, [t.crossfade_in_s for t in tracks]) < min_duration_s:
        if len(extras) == MAX_EXTRA_TRACKS:
            raise WeeklyDurationError(
                f"{MAX_EXTRA_TRACKS} extra tracks did not make {min_duration_s:g} s: "
                "raise extra_track_s"
            )
        extra = make_extra(len(extras))
        extras.append(extra)
        tracks.append(MixTrack(extra.master_path, title_of(extra.plan), crossfade_of(extra.plan)))
        durations_s.append(extra.duration_s)
    return extras
