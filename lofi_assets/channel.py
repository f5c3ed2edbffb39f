"""The channel's settings and the one rule that turns a date and slot into a seed."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lofi_assets.errors import ConfigError, InvalidSlotError
from lofi_assets.music.day import plan_day
from lofi_assets.music.plan import DEFAULT_DURATION_RANGE_S, SketchRequest, validate_request
from lofi_assets.music.styles import style_names
from lofi_assets.music.theory import SHARP_NAMES
from lofi_assets.publish.metadata import code_points, is_blank
from lofi_assets.seeding import stable_seed

DEFAULT_SLOTS = ("1", "2", "3")
# The channel's timezone: its calendar (which day "today" is for release_dates), when the
# daily schedule fires, and the hours it publishes in.
CHANNEL_TIMEZONE_ENV = "LOFI_CHANNEL_TIMEZONE"
# The channel's launch day: the first day of its calendar (release_dates and any other
# calendar partitions), so a new channel does not open on years of empty days.
CHANNEL_START_ENV = "LOFI_CHANNEL_START"
# Fixed, never "today minus N": a moving start would drop partitions (and their history) from
# the UI day by day. 2026-11-01 is the earliest day the tests and benches materialize
# (test_deployment's 2026-11-01 to 03); a test that needs an earlier day sets the variable.
DEFAULT_CHANNEL_START = "2026-11-01"


def validated_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ConfigError(
            f"Unknown timezone {name!r}: use an IANA name such as Europe/Berlin"
        ) from error
    return name


def channel_timezone() -> str:
    """``LOFI_CHANNEL_TIMEZONE``, or UTC when it is unset."""
    name = os.environ.get(CHANNEL_TIMEZONE_ENV) or "UTC"
    try:
        return validated_timezone(name)
    except ConfigError as error:
        raise ConfigError(f"{CHANNEL_TIMEZONE_ENV}: {error}") from error


def channel_start_date() -> str:
    """``LOFI_CHANNEL_START`` (YYYY-MM-DD), or ``DEFAULT_CHANNEL_START`` when it is unset."""
    text = os.environ.get(CHANNEL_START_ENV) or DEFAULT_CHANNEL_START
    # fromisoformat alone also takes 20261101 and 2026-W44-7; the calendar reads YYYY-MM-DD.
    try:
        start = dt.date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    except ValueError:  # 2026-13-01, 2026-02-30
        start = None
    if start is None:
        raise ConfigError(
            f"{CHANNEL_START_ENV}: invalid date {text!r}: use YYYY-MM-DD, the channel's launch day"
        )
    timezone = channel_timezone()
    today = dt.datetime.now(ZoneInfo(timezone)).date()
    if start > today:
        raise ConfigError(
            f"{CHANNEL_START_ENV}: {text} is in the future (today is {today} in {timezone}): "
            "use the channel's launch day, today or earlier"
        )
    return start.isoformat()


@dataclass(frozen=True)
class Channel:
    name: str = "Lofi Empire"
    artist: str = "Lofi Empire"
    timezone: str = "UTC"
    slots: tuple[str, ...] = DEFAULT_SLOTS
    style_weights: Mapping[str, float] = field(default_factory=dict)  # empty: all equal
    track_length_range_s: tuple[float, float] = DEFAULT_DURATION_RANGE_S

    def __post_init__(self) -> None:
        # Blank is "nothing visible" (metadata.is_blank), not str.strip's whitespace: a name of
        # only U+200B or U+3164 would caption every video and release with nothing.
        if is_blank(self.name):
            raise ConfigError(
                "The channel needs a name: set channel_name to visible text "
                f"(it holds {code_points(self.name)})"
            )
        if is_blank(self.artist):
            raise ConfigError(
                "The channel needs an artist name: set artist to visible text "
                f"(it holds {code_points(self.artist)})"
            )
        validated_timezone(self.timezone)
        if not self.slots or len(set(self.slots)) != len(self.slots):
            raise ConfigError(f"Slots must be a non-empty list of distinct names, got {self.slots}")
        # Reuse the request validator so channel and per-track settings fail the same way.
        validate_request(
            SketchRequest(
                seed=0,
                style_weights=self.effective_style_weights,
                duration_range_s=self.track_length_range_s,
            )
        )

    @property
    def effective_style_weights(self) -> dict[str, float]:
        return dict(self.style_weights) or {name: 1.0 for name in style_names()}

    def track_seed(self, date: str, slot: str) -> int:
        """The seed of one track: channel name, date and slot, hashed stably."""
        if slot not in self.slots:
            raise InvalidSlotError(
                f"Slot {slot!r} is not one of this channel's slots {list(self.slots)}"
            )
        return stable_seed("track", self.name, date, slot)

    def sketch_request(
        self,
        date: str,
        slot: str,
        *,
        style: str | None = None,
        tonic: str | None = None,
        mode: str | None = None,
        bpm: float | None = None,
        duration_s: float | None = None,
        style_weights: Mapping[str, float] | None = None,
    ) -> SketchRequest:
        """The request for one track of the day.

        The day is planned first (:func:`lofi_assets.music.day.plan_day`), so the slots of a
        date differ in style, tonic and tempo; an override pins its own value instead (a
        pinned style also leaves the tempo to that style's range). ``style_weights`` replaces
        the channel's own (e.g. with feedback boosts applied).
        """
        seed = self.track_seed(date, slot)
        weights = dict(style_weights or self.effective_style_weights)
        day = plan_day(stable_seed("day", self.name, date), self.slots, weights)[slot]
        return SketchRequest(
            seed=seed,
            style=style or day.style,
            tonic=tonic or SHARP_NAMES[day.tonic_pc],
            mode=mode,
            bpm=bpm if bpm is not None else (None if style else day.bpm),
            duration_s=duration_s,
            style_weights=weights,
            duration_range_s=self.track_length_range_s,
        )
