"""Release metadata: title, description with chapters, tags, playlists and publish time.

Everything is drawn from ``assets_library/titles.yaml`` with a seed derived from the channel
and the date, so a release's metadata is the same every time it is made. ``problems()`` is the
validator YouTube's limits are checked with before anything is published.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from lofi_assets.errors import ConfigError
from lofi_assets.music.styles import assets_library_dir
from lofi_assets.seeding import stable_seed

MAX_TITLE_CHARS = 100
MAX_DESCRIPTION_CHARS = 5_000
MAX_TAGS_CHARS = 500
MIN_CHAPTERS = 3
MIN_CHAPTER_S = 10.0
DEFAULT_PUBLISH_WINDOWS = ("14-16", "20-22")  # hours when the audience is listening
PRIMARY_TAGS = ("lofi", "lofi hip hop", "chill beats", "lofi beats", "beats to relax")
INSTRUMENT_FAMILY = {0: "keys", 4: "keys", 5: "keys", 11: "keys", 24: "guitar", 26: "guitar", 59: "horn", 71: "horn", 73: "horn"}  # fmt: skip


@dataclass(frozen=True)
class TrackFacts:
    """What metadata needs to know about one track of the release."""

    style: str
    style_display_name: str
    key: str
    bpm: float
    ambience: str
    melody_program: int
    seed: int


@dataclass(frozen=True)
class ChapterMark:
    start_s: float
    title: str


@dataclass(frozen=True)
class ReleaseMetadata:
    title: str
    description: str
    tags: list[str]
    playlists: list[str]
    chapters: list[dict[str, Any]]
    track_titles: list[str]
    duration_s: float
    publish_at_utc: str  # RFC 3339, what YouTube's status.publishAt expects
    publish_at_local: str
    category_id: str
    contains_synthetic_media: bool
    made_for_kids: bool

    def to_document(self) -> dict[str, Any]:
        return asdict(self)


@cache
def _words() -> dict[str, Any]:
    path = assets_library_dir() / "titles.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if len(document["templates"]) < 25:
        raise ConfigError(f"{path}: at least 25 title templates are needed")
    return document


def timestamp(seconds: float) -> str:
    """YouTube chapter timestamps: m:ss, or h:mm:ss past an hour."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def tags_length(tags: Sequence[str]) -> int:
    """Characters YouTube counts: each tag, quotes around tags with spaces, commas between."""
    return sum(len(tag) + (2 if " " in tag else 0) for tag in tags) + max(0, len(tags) - 1)


def fit_tags(candidates: Sequence[str], limit: int = MAX_TAGS_CHARS) -> list[str]:
    """Tags in priority order, without duplicates, as many as fit in ``limit`` characters."""
    chosen: list[str] = []
    for tag in candidates:
        tag = tag.strip().lower()
        if tag and tag not in chosen and tags_length([*chosen, tag]) <= limit:
            chosen.append(tag)
    return chosen


def _season(date: dt.date) -> str:
    return {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring",
            6: "summer", 7: "summer", 8: "summer"}.get(date.month, "autumn")  # fmt: skip


def _track_title(track: TrackFacts) -> str:
    rng = random.Random(stable_seed(track.seed, "track title"))
    words = _words()["track_words"]
    return f"{rng.choice(words['adjectives'])} {rng.choice(words['nouns'])}".title()


def publish_time(
    date: dt.date, timezone: str, windows: Sequence[str], rng: random.Random
) -> dt.datetime:
    """A quarter-hour inside one of the channel's best-hours windows, in its timezone."""
    parsed = []
    for window in windows:
        try:
            start, end = (int(part) for part in window.split("-"))
        except ValueError as error:
            raise ConfigError(f"Publish window {window!r} must look like 14-16") from error
        if not 0 <= start < end <= 24:
            raise ConfigError(f"Publish window {window!r} must be within 0-24 h")
        parsed.append((start, end))
    if not parsed:
        raise ConfigError("At least one publish window is needed, e.g. 14-16")
    start, end = rng.choice(parsed)
    minute = rng.randrange(0, (end - start) * 60, 15)
    local = dt.datetime.combine(date, dt.time(), tzinfo=ZoneInfo(timezone))
    return local + dt.timedelta(hours=start, minutes=minute)


def build_metadata(
    *,
    channel_name: str,
    artist: str,
    timezone: str,
    date: str,
    tracks: Sequence[TrackFacts],
    chapter_starts_s: Sequence[float],
    duration_s: float,
    publish_windows: Sequence[str] = DEFAULT_PUBLISH_WINDOWS,
) -> ReleaseMetadata:
    """Everything YouTube needs to list the day's release, deterministic for the date."""
    if not tracks or len(tracks) != len(chapter_starts_s):
        raise ConfigError("Metadata needs one chapter start per track")
    day = dt.date.fromisoformat(date)
    rng = random.Random(stable_seed("release metadata", channel_name, date))
    words = _words()
    lead = tracks[0]
    family = INSTRUMENT_FAMILY.get(lead.melody_program, "default")
    fields = {
        "mood": rng.choice(words["moods"].get(lead.style, ["chill"])),
        "instrument": rng.choice(words["instruments"][family]),
        "activity": rng.choice(words["activities"]),
        "ambience": rng.choice(words["ambiences"].get(lead.ambience, ["rain"])),
        "time": rng.choice(words["times"]),
    }
    title = rng.choice(words["templates"]).format(**fields)
    title = title[0].upper() + title[1:]
    track_titles = [_track_title(track) for track in tracks]
    chapters = [
        {"start_s": round(start, 3), "timestamp": timestamp(start), "title": name}
        for start, name in zip(chapter_starts_s, track_titles, strict=True)
    ]
    styles = sorted({track.style_display_name for track in tracks})
    lines = [
        f"{fields['mood'].capitalize()} {fields['instrument']} with {fields['ambience']} for your "
        f"{fields['time']}: {timestamp(duration_s)} of {', '.join(styles)} lofi to "
        f"{fields['activity']} to.",
        "",
        "Tracklist",
        *[f"{chapter['timestamp']} {chapter['title']}" for chapter in chapters],
        "",
        f"Subscribe to {channel_name} for a new mix every day, and tell us in the comments "
        f"what you {fields['activity']} to.",
        "",
        f"Made for studying, working and winding down: chill {' and '.join(styles).lower()} "
        f"beats with {fields['ambience']} ambience.",
        "",
        f"Credits: music by {artist}. Keys, tempos and ambience of each track: "
        + "; ".join(
            f"{name} ({t.key}, {t.bpm:g} BPM)" for name, t in zip(track_titles, tracks, strict=True)
        ),
        "",
        "AI disclosure: this music was composed and produced with AI-assisted generative "
        "software (a music-theory engine and a small model trained by the channel).",
        f"Licence: © {day.year} {artist}. Free to use in non-commercial streams and videos "
        f"with credit to {channel_name}.",
    ]
    description = "\n".join(lines)
    secondary = [f"{track.style_display_name} lofi" for track in tracks] + [
        f"lofi to {fields['activity']} to", f"{fields['activity']} music", "study music", "chillhop",
    ]  # fmt: skip
    niche = [f"{fields['ambience']} lofi", f"{fields['time']} lofi", f"{_season(day)} lofi",
             f"{fields['instrument']} lofi", f"{fields['mood']} beats"]  # fmt: skip
    tags = fit_tags([*PRIMARY_TAGS, *secondary, *niche])
    playlists = [
        f"{fields['mood'].capitalize()} Lofi",
        f"Lofi to {fields['activity'].capitalize()} To",
        f"{_season(day).capitalize()} Lofi",
    ]
    published = publish_time(day, timezone, publish_windows, rng)
    return ReleaseMetadata(
        title=title,
        description=description,
        tags=tags,
        playlists=playlists,
        chapters=chapters,
        track_titles=track_titles,
        duration_s=round(duration_s, 3),
        publish_at_utc=published.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        publish_at_local=published.isoformat(),
        category_id="10",  # Music
        contains_synthetic_media=True,
        made_for_kids=False,
    )


def problems(metadata: Mapping[str, Any]) -> list[str]:
    """Every way ``metadata`` breaks YouTube's limits; empty when it can be published."""
    found = []
    title, description = str(metadata.get("title", "")), str(metadata.get("description", ""))
    if not title.strip():
        found.append("title is empty")
    if len(title) > MAX_TITLE_CHARS:
        found.append(f"title is {len(title)} characters (max {MAX_TITLE_CHARS})")
    if "<" in title or ">" in title:
        found.append("title contains < or >")
    if len(description) > MAX_DESCRIPTION_CHARS:
        found.append(f"description is {len(description)} characters (max {MAX_DESCRIPTION_CHARS})")
    if "<" in description or ">" in description:
        found.append("description contains < or >")
    tags = list(metadata.get("tags", []))
    if tags_length(tags) > MAX_TAGS_CHARS:
        found.append(f"tags take {tags_length(tags)} characters (max {MAX_TAGS_CHARS})")
    chapters = list(metadata.get("chapters", []))
    starts = [float(chapter["start_s"]) for chapter in chapters]
    if chapters and "duration_s" in metadata:
        starts_and_end = [*starts, float(metadata["duration_s"])]
    else:
        starts_and_end = starts
    if chapters:
        if starts[0] != 0.0:
            found.append("the first chapter must start at 0:00")
        if len(chapters) < MIN_CHAPTERS:
            found.append(f"{len(chapters)} chapters: YouTube needs at least {MIN_CHAPTERS}")
        if any(b <= a for a, b in itertools.pairwise(starts)):
            found.append("chapter times must ascend")
        elif any(b - a < MIN_CHAPTER_S for a, b in itertools.pairwise(starts_and_end)):
            found.append(f"every chapter must last at least {MIN_CHAPTER_S:.0f} s")
    return found
