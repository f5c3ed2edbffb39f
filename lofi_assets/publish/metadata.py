"""Release metadata: title, description with chapters, tags, playlists and publish time.

Everything is drawn from ``assets_library/titles.yaml`` with a seed derived from the channel
and the date, so a release's metadata is the same every time it is made. ``problems()`` is the
validator YouTube's limits are checked with before anything is published.

YouTube states each limit in its own unit (YouTube Data API v3 reference, the ``videos``
resource, ``snippet`` properties):

* ``snippet.title``: at most 100 *characters*, any valid UTF-8 character except ``<`` and ``>``;
* ``snippet.description``: at most 5000 *bytes*, any valid UTF-8 character except ``<`` and
  ``>`` (a kana or kanji takes 3 bytes in UTF-8, so no more than 1,666 of them fit);
* ``snippet.tags[]``: at most 500 *characters* in all, counting a comma between tags and the
  quotes YouTube puts around a tag that contains a space. A comma inside a tag splits it in
  two (YouTube reads the tags as one comma-separated list) and a tag holding ``<`` or ``>`` is
  refused (``invalidTags``), like the title and description.

Characters are counted as Unicode code points (what ``len`` counts); bytes as UTF-8.
``problems()`` rejects input over a limit; text this module generates is fitted instead: cut
only at an extended grapheme cluster boundary (Unicode UAX #29, as the ``regex`` module's
``\\X`` finds them: never inside a UTF-8 sequence, a flag, a ZWJ emoji sequence, an emoji and
its skin tone, a letter and its combining marks, or a Hangul syllable spelt in jamo) and ended
with "…", the least needed paragraphs of a description dropped first.

"Empty" means nothing visible (:func:`is_blank`): a title of only a zero-width space or a
Hangul filler is as empty as "" to a viewer, so it is refused as one.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import regex
import yaml

from lofi_assets.audio.release_mix import Chapter
from lofi_assets.errors import ConfigError
from lofi_assets.music.styles import assets_library_dir
from lofi_assets.seeding import stable_seed

MAX_TITLE_CHARS = 100  # characters (code points)
MAX_DESCRIPTION_BYTES = 5_000  # bytes of UTF-8
MAX_TAGS_CHARS = 500  # characters, commas and quotes included
FORBIDDEN_CHARS = "<>"  # in title, description and tags
TAG_SEPARATOR = ","  # YouTube joins and splits snippet.tags at commas: never inside a tag
# What generated text shows instead of a forbidden character: single angle quotation marks.
FORBIDDEN_REPLACEMENTS = str.maketrans({"<": "\u2039", ">": "\u203a"})
ELLIPSIS = "\u2026"
# An extended grapheme cluster, UAX #29 (https://www.unicode.org/reports/tr29/), as the
# maintained ``regex`` module matches it (its Unicode tables follow each Unicode release).
GRAPHEME_CLUSTER = regex.compile(r"\X")
# What draws nothing: White_Space, Default_Ignorable_Code_Point (format characters such as
# ZWSP, ZWJ, BOM and bidi marks, variation selectors, the Hangul fillers U+115F, U+1160,
# U+3164, U+FFA0), controls, and U+2800 BRAILLE PATTERN BLANK (a symbol that prints as a
# space, the usual trick for "invisible" names). Unicode properties from PropList.txt and
# DerivedCoreProperties.txt, read through the regex module.
INVISIBLE = regex.compile(
    r"[\p{White_Space}\p{Default_Ignorable_Code_Point}\p{Cc}\p{Cf}\u2800]*", regex.V1
)
MIN_CHAPTERS = 3
MIN_CHAPTER_S = 10.0
DEFAULT_PUBLISH_WINDOWS = ("14-16", "20-22")  # hours when the audience is listening
PRIMARY_TAGS = ("lofi", "lofi hip hop", "chill beats", "lofi beats", "beats to relax")
INSTRUMENT_FAMILY = {
    0: "keys",
    4: "keys",
    5: "keys",
    11: "keys",
    24: "guitar",
    26: "guitar",
    59: "horn",
    71: "horn",
    73: "horn",
}


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
class ReleaseMetadata:
    title: str
    description: str
    tags: list[str]
    playlists: list[str]
    chapters: list[Chapter]  # one per track; the document adds each one's m:ss ``timestamp``
    track_titles: list[str]
    duration_s: float
    publish_at_utc: str  # RFC 3339, what YouTube's status.publishAt expects
    publish_at_local: str
    category_id: str
    contains_synthetic_media: bool
    made_for_kids: bool
    # The English words the title was drawn from (mood, instrument, activity, ambience,
    # time): localize.py writes every other language from the same ones.
    title_words: dict[str, str] = field(default_factory=dict)
    default_language: str = "en"  # snippet.defaultLanguage: the language of title/description
    # snippet.defaultAudioLanguage: "zxx" (ISO 639-2, no linguistic content) for instrumentals
    default_audio_language: str = "zxx"
    # language → {"title", "description"} (videos resource, localizations); see localize.py
    localizations: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_document(self) -> dict[str, Any]:
        """The metadata JSON document: every field, each chapter as ``{"start_s"`` (to the
        millisecond), ``"timestamp"`` (m:ss), ``"title"}`` (what ``problems`` and the upload read
        back)."""
        document = asdict(self)
        document["chapters"] = [
            {"start_s": round(c.start_s, 3), "timestamp": timestamp(c.start_s), "title": c.title}
            for c in self.chapters
        ]
        return document


def document_chapters(document: Mapping[str, Any]) -> list[Chapter]:
    """The chapters of a metadata document (``ReleaseMetadata.to_document()``, as read from
    disk) as ``Chapter``s. Raises ``KeyError`` for a document without chapters."""
    return [Chapter(float(c["start_s"]), str(c["title"])) for c in document["chapters"]]


@cache
def _words() -> dict[str, Any]:
    path = assets_library_dir() / "titles.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if len(document["templates"]) < 25:
        raise ConfigError(f"{path}: at least 25 title templates are needed")
    return document


@cache
def _vocabulary() -> frozenset[str]:
    """Every word of ``titles.yaml`` (lower case): what our tags may be made of."""

    def words_of(value: Any) -> list[str]:
        if isinstance(value, str):
            return regex.findall(r"[\w'-]+", value.lower())
        if isinstance(value, dict):
            return [w for item in value.values() for w in words_of(item)]
        if isinstance(value, list):
            return [w for item in value for w in words_of(item)]
        return []

    document = _words()
    return frozenset(
        w
        for key in ("moods", "instruments", "activities", "ambiences", "times", "templates")
        for w in words_of(document[key])
    )


def utf8_length(text: str) -> int:
    """Bytes ``text`` takes in UTF-8 (a lone surrogate counted as the 3 bytes it would take)."""
    return len(text.encode("utf-8", "surrogatepass"))


def _not_utf8(text: str) -> list[str]:
    """Code points no UTF-8 text can hold (lone surrogates, e.g. from a mis-decoded file)."""
    return sorted({f"U+{ord(c):04X}" for c in text if 0xD800 <= ord(c) <= 0xDFFF})


def is_blank(text: str) -> bool:
    """``text`` shows nothing: it is empty or holds only whitespace, format characters
    (category Cf: ZWSP, ZWJ, BOM, bidi marks), other default-ignorable code points (Hangul
    fillers, variation selectors), controls or U+2800 BRAILLE PATTERN BLANK (see
    ``INVISIBLE``). What every "is empty" check of a name or title uses: ``str.strip`` leaves
    U+200B and U+3164 in place, so "\\u200b" would pass as a title."""
    return INVISIBLE.fullmatch(text) is not None


def code_points(text: str, limit: int = 8) -> str:
    """``text`` as ``U+XXXX`` code points (the first ``limit``), for messages about
    characters that print as nothing: ``"\u200b "`` → ``"U+200B U+0020"``."""
    shown = " ".join(f"U+{ord(character):04X}" for character in text[:limit])
    return (shown + (" …" if len(text) > limit else "")) or "nothing"


def grapheme_clusters(text: str) -> list[str]:
    """``text`` split into extended grapheme clusters (UAX #29): what a reader sees as one
    character, e.g. a flag (two regional indicators), a ZWJ family, an emoji with its skin
    tone, a letter with its combining marks, a Hangul syllable spelt in conjoining jamo."""
    return GRAPHEME_CLUSTER.findall(text)


def fit_text(text: str, *, max_chars: int | None = None, max_bytes: int | None = None) -> str:
    """``text`` itself when it is within ``max_chars`` code points and ``max_bytes`` UTF-8
    bytes, else its longest run of whole grapheme clusters (UAX #29, :func:`grapheme_clusters`)
    that fits with "…" after it, trailing blanks dropped, ended with "…".

    A cut never leaves half a flag, a ZWJ sequence without its last emoji, a skin tone without
    its emoji, a mark without its letter or a jamo without its syllable."""

    def fits(candidate: str) -> bool:
        return (max_chars is None or len(candidate) <= max_chars) and (
            max_bytes is None or utf8_length(candidate) <= max_bytes
        )

    if fits(text):
        return text
    chars_left = math.inf if max_chars is None else max_chars - len(ELLIPSIS)
    bytes_left = math.inf if max_bytes is None else max_bytes - utf8_length(ELLIPSIS)
    kept: list[str] = []
    for cluster in grapheme_clusters(text):
        chars_left -= len(cluster)
        bytes_left -= utf8_length(cluster)
        if chars_left < 0 or bytes_left < 0:
            break
        kept.append(cluster)
    while kept and is_blank(kept[-1]):  # "Late night …", "a\u200b…": nothing to see
        kept.pop()
    return "".join(kept) + ELLIPSIS


def fit_paragraphs(paragraphs: Sequence[str], droppable: Sequence[int], max_bytes: int) -> str:
    """``paragraphs`` joined by blank lines within ``max_bytes`` of UTF-8: the paragraphs at
    ``droppable`` (indices, least needed first) are left out one by one while it is too long,
    then the longest paragraph left is shortened (:func:`fit_text`)."""
    kept: list[str | None] = list(paragraphs)

    def joined() -> str:
        return "\n\n".join(p for p in kept if p is not None)

    for index in droppable:
        if utf8_length(joined()) <= max_bytes:
            break
        kept[index] = None
    excess = utf8_length(joined()) - max_bytes
    if excess > 0:
        longest = max(
            (i for i, p in enumerate(kept) if p is not None), key=lambda i: utf8_length(kept[i])
        )
        room = utf8_length(kept[longest]) - excess
        kept[longest] = fit_text(kept[longest], max_bytes=max(0, room))
    return fit_text(joined(), max_bytes=max_bytes)  # only a paragraph of one long word is left


def timestamp(seconds: float) -> str:
    """YouTube chapter timestamps: m:ss, or h:mm:ss past an hour."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def tags_length(tags: Sequence[str]) -> int:
    """Characters YouTube counts: each tag, quotes around tags with spaces, commas between."""
    return sum(len(tag) + (2 if " " in tag else 0) for tag in tags) + max(0, len(tags) - 1)


def clean_tag(tag: str) -> str:
    """A generated tag as YouTube can take it: the commas that would split it and the ``<``,
    ``>`` it refuses become spaces, runs of whitespace one space, the ends stripped, lower
    case (``"Lofi, <Chill>"`` → ``"lofi chill"``)."""
    for character in TAG_SEPARATOR + FORBIDDEN_CHARS:
        tag = tag.replace(character, " ")
    return " ".join(tag.split()).lower()


def fit_tags(candidates: Sequence[str], limit: int = MAX_TAGS_CHARS) -> list[str]:
    """Tags in priority order, each cleaned (:func:`clean_tag`), without blanks or
    duplicates, as many as fit in ``limit`` characters (:func:`tags_length`)."""
    chosen: list[str] = []
    for candidate in candidates:
        tag = clean_tag(candidate)
        if not is_blank(tag) and tag not in chosen and tags_length([*chosen, tag]) <= limit:
            chosen.append(tag)
    return chosen


def _tag_problems(tags: Sequence[str]) -> list[str]:
    """Supplied tags YouTube would split or refuse, each named with the fix."""
    found = []
    for number, tag in enumerate(tags, start=1):
        if is_blank(tag):
            found.append(f"tag {number} is empty: remove it")
        if TAG_SEPARATOR in tag:
            parts = [part.strip() for part in tag.split(TAG_SEPARATOR) if part.strip()]
            found.append(
                f"tag {tag!r} contains a comma, which YouTube reads as the end of a tag: give "
                f"{' and '.join(repr(part) for part in parts) or 'it'} as separate tags"
            )
        if any(character in tag for character in FORBIDDEN_CHARS):
            found.append(f"tag {tag!r} contains < or >, which YouTube refuses in tags: remove them")
    return found


def _season(date: dt.date) -> str:
    return {
        12: "winter",
        1: "winter",
        2: "winter",
        3: "spring",
        4: "spring",
        5: "spring",
        6: "summer",
        7: "summer",
        8: "summer",
    }.get(date.month, "autumn")


def _track_title(track: TrackFacts) -> str:
    rng = random.Random(stable_seed(track.seed, "track title"))
    words = _words()["track_words"]
    title = f"{rng.choice(words['adjectives'])} {rng.choice(words['nouns'])}".title()
    return title.translate(FORBIDDEN_REPLACEMENTS)


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
    ranking_tags: Sequence[str] = (),
    ranking_title_words: Sequence[str] = (),
) -> ReleaseMetadata:
    """Everything YouTube needs to list the day's release, deterministic for the date (and
    the ranking terms given).

    ``ranking_tags``/``ranking_title_words`` are what keyword research found ranking
    (``keywords.ranking_terms``, best first). Title templates that would say more of those
    words are drawn more often (weight 1 + 2 per ranking word); ranking tags made only of the
    channel's own vocabulary (``titles.yaml``'s words and the primary tags: never another
    channel's name, which YouTube's spam policy counts as misleading) follow the primary tags.
    Without them the draw is exactly what it always was.
    """
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
    preferred = {word.lower() for word in ranking_title_words}
    if preferred:
        candidates = [template.format(**fields) for template in words["templates"]]
        weights = [
            1 + 2 * len(preferred & {w.lower() for w in regex.findall(r"[\w'-]+", text)})
            for text in candidates
        ]
        title = rng.choices(candidates, weights=weights)[0]
    else:
        title = rng.choice(words["templates"]).format(**fields)
    title = fit_text(
        (title[0].upper() + title[1:]).translate(FORBIDDEN_REPLACEMENTS),
        max_chars=MAX_TITLE_CHARS,
    )
    track_titles = [_track_title(track) for track in tracks]
    chapters = [
        Chapter(start, name) for start, name in zip(chapter_starts_s, track_titles, strict=True)
    ]
    styles = sorted({track.style_display_name for track in tracks})
    paragraphs = [
        f"{fields['mood'].capitalize()} {fields['instrument']} with {fields['ambience']} for your "
        f"{fields['time']}: {timestamp(duration_s)} of {', '.join(styles)} lofi to "
        f"{fields['activity']} to.",
        "\n".join(["Tracklist", *[f"{timestamp(c.start_s)} {c.title}" for c in chapters]]),
        f"Subscribe to {channel_name} for a new mix every day, and tell us in the comments "
        f"what you {fields['activity']} to.",
        f"Made for studying, working and winding down: chill {' and '.join(styles).lower()} "
        f"beats with {fields['ambience']} ambience.",
        f"Credits: music by {artist}. Keys, tempos and ambience of each track: "
        + "; ".join(
            f"{name} ({t.key}, {t.bpm:g} BPM)" for name, t in zip(track_titles, tracks, strict=True)
        ),
        "AI disclosure: this music was composed and produced with AI-assisted generative "
        "software (a music-theory engine and a small model trained by the channel).\n"
        f"Licence: © {day.year} {artist}. Free to use in non-commercial streams and videos "
        f"with credit to {channel_name}.",
    ]
    # Over YouTube's 5000 bytes (long names in a script of 3-byte characters, many tracks):
    # the "made for" line, then the per-track credits, then the call to subscribe go first.
    description = fit_paragraphs(
        [paragraph.translate(FORBIDDEN_REPLACEMENTS) for paragraph in paragraphs],
        droppable=[3, 4, 2],
        max_bytes=MAX_DESCRIPTION_BYTES,
    )
    secondary = [f"{track.style_display_name} lofi" for track in tracks] + [
        f"lofi to {fields['activity']} to",
        f"{fields['activity']} music",
        "study music",
        "chillhop",
    ]
    niche = [
        f"{fields['ambience']} lofi",
        f"{fields['time']} lofi",
        f"{_season(day)} lofi",
        f"{fields['instrument']} lofi",
        f"{fields['mood']} beats",
    ]
    own_words = _vocabulary() | {
        w for tag in [*PRIMARY_TAGS, *secondary, *niche] for w in tag.split()
    }
    ranked = [tag for tag in ranking_tags if tag and set(clean_tag(tag).split()) <= own_words]
    tags = fit_tags([*PRIMARY_TAGS, *ranked[:5], *secondary, *niche])
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
        title_words=dict(fields),
    )


def problems(metadata: Mapping[str, Any]) -> list[str]:
    """Every way ``metadata`` (a release document or a videos.insert ``snippet``) breaks
    YouTube's limits, each in the unit YouTube gives it (see the module docstring); empty when
    it can be published."""
    found = []
    title, description = str(metadata.get("title", "")), str(metadata.get("description", ""))
    tags = [str(tag) for tag in metadata.get("tags", [])]
    if is_blank(title):
        found.append("title is empty")
    if len(title) > MAX_TITLE_CHARS:
        found.append(f"title is {len(title)} characters (max {MAX_TITLE_CHARS} characters)")
    description_bytes = utf8_length(description)
    if description_bytes > MAX_DESCRIPTION_BYTES:
        found.append(
            f"description is {description_bytes} bytes in UTF-8 ({len(description)} characters; "
            f"YouTube allows {MAX_DESCRIPTION_BYTES} bytes)"
        )
    if not is_blank(description) and is_blank(description.split("\n", 1)[0]):
        # YouTube shows the first line under the title in search and above the fold.
        found.append("description's first line is empty: start it with the line viewers see")
    for name, text in (("title", title), ("description", description)):
        if any(character in text for character in FORBIDDEN_CHARS):
            found.append(f"{name} contains < or >")
    found += _tag_problems(tags)
    for number, playlist in enumerate(metadata.get("playlists", []), start=1):
        if is_blank(str(playlist)):
            found.append(f"playlist {number} title is empty")
    for name, text in (("title", title), ("description", description), ("tags", "".join(tags))):
        if _not_utf8(text):
            found.append(
                f"{name} holds code points that are not valid UTF-8 ({', '.join(_not_utf8(text))})"
            )
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


LONG_FORM_PLAYLIST = "Long Lofi Mixes"


def long_form_label(duration_s: float) -> str:
    """How long a long-form mix is, as its title says it: "1 hour", "3 hours", "45 minutes"
    (whole units, rounded down: a 1:02:10 mix is "1 hour")."""
    hours = int(duration_s // 3600)
    if hours >= 1:
        return f"{hours} hour{'s' if hours > 1 else ''}"
    minutes = max(1, int(duration_s // 60))
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


def build_weekly_metadata(
    *,
    channel_name: str,
    artist: str,
    timezone: str,
    week_dates: Sequence[str],
    tracks: Sequence[TrackFacts],
    chapter_starts_s: Sequence[float],
    duration_s: float,
    publish_windows: Sequence[str] = DEFAULT_PUBLISH_WINDOWS,
) -> ReleaseMetadata:
    """The week's long-form release, in the daily release's style (``build_metadata``: its
    words, chapters, tags, disclosure and limits), dated and published on the week's last day,
    its title led by the mix's length ("1 hour · …") and listed in ``LONG_FORM_PLAYLIST`` too.

    Raises:
        ConfigError: no tracks, or not one chapter start per track.
    """
    daily = build_metadata(
        channel_name=channel_name,
        artist=artist,
        timezone=timezone,
        date=week_dates[-1],
        tracks=tracks,
        chapter_starts_s=chapter_starts_s,
        duration_s=duration_s,
        publish_windows=publish_windows,
    )
    label = long_form_label(duration_s)
    title = fit_text(
        f"{label[0].upper()}{label[1:]} \u00b7 {daily.title}", max_chars=MAX_TITLE_CHARS
    )
    description = daily.description.replace(
        f"Subscribe to {channel_name} for a new mix every day",
        f"Subscribe to {channel_name} for a new mix every day and a long one every week",
    )
    if utf8_length(description) > MAX_DESCRIPTION_BYTES:
        description = daily.description
    return replace(
        daily,
        title=title,
        description=description,
        playlists=[*daily.playlists, LONG_FORM_PLAYLIST],
    )
