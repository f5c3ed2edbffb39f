"""The day's teaser as a YouTube Short, uploaded once through the release upload stack.

A Short is an ordinary ``videos.insert`` of a vertical (or square) video of at most 60 s
(YouTube Help, "Upload YouTube Shorts", https://support.google.com/youtube/answer/10059070:
square or vertical; ``#Shorts`` in the title or description helps YouTube recommend it). It
goes through ``Publisher`` as a ``ReleaseUpload`` of kind ``short``: its own ledger row
(``short-<date>``) and marker tag (``lofi-release-short-<date>``), the resumable upload, the
retries and the lookup that adopts a video whose reply was lost. No custom thumbnail is set
(YouTube picks a Short's frame) and no playlist is added.

The description links to the day's full release. The "related video" a Short can point to is
set in YouTube Studio only: the Data API's videos resource has no field for it
(https://developers.google.com/youtube/v3/docs/videos), so the link lives in the description.

Quota (https://developers.google.com/youtube/v3/determine_quota_cost): one videos.insert,
1600 units, plus the ledger's lookups (channels.list, playlistItems.list, videos.list: 1 unit
each) and the status read-back (videos.list, 1 unit): about 1,604 units a day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lofi_assets.publish.metadata import (
    FORBIDDEN_REPLACEMENTS,
    MAX_TITLE_CHARS,
    fit_tags,
    fit_text,
)
from lofi_assets.publish.upload import ReleaseUpload, body_problems

SHORTS_HASHTAG = "#Shorts"
MAX_SHORT_DURATION_S = 60.0  # the promise (YouTube allows up to 3 min since 2024-10-15)
WATCH_URL = "https://www.youtube.com/watch?v={video_id}"
# In a dry run the full release has no id yet: the manifest shows where it goes.
RELEASE_ID_PLACEHOLDER = "{release_video_id}"
SHORT_TAGS = ("shorts", "lofi shorts")


@dataclass(frozen=True)
class ShortFacts:
    """The teaser as ffprobe saw it: ``width``/``height`` in pixels, ``duration_s``."""

    width: int
    height: int
    duration_s: float


@dataclass(frozen=True)
class ShortText:
    """One language's Short text (title and description), from ``short_text``."""

    title: str
    description: str
    localizations: dict[str, dict[str, str]] = field(default_factory=dict)


def release_url(release_video_id: str | None) -> str:
    """The full release's watch URL (a placeholder id in a dry run)."""
    return WATCH_URL.format(video_id=release_video_id or RELEASE_ID_PLACEHOLDER)


def short_title(title: str) -> str:
    """``title`` then `` #Shorts``, cut at a grapheme boundary so the whole stays within
    YouTube's 100 characters (videos resource, ``snippet.title``)."""
    suffix = f" {SHORTS_HASHTAG}"
    title = title.translate(FORBIDDEN_REPLACEMENTS)  # YouTube refuses < and > in a title
    return fit_text(title, max_chars=MAX_TITLE_CHARS - len(suffix)) + suffix


def short_description(lead: str, url: str, channel_name: str) -> str:
    """The Short's description: ``lead`` and the full release's ``url`` first (the line shown
    under a Short), the channel, then the hashtags. The channel's name and the lead are data:
    their < and > (which YouTube refuses in a description) become ‹ and ›, as in the release's
    own metadata."""
    lead, channel_name = (text.translate(FORBIDDEN_REPLACEMENTS) for text in (lead, channel_name))
    return f"{lead} ▶ {url}\n\n{channel_name} · a new lofi mix every day.\n\n{SHORTS_HASHTAG} #lofi"


def short_text(
    *,
    title: str,
    channel_name: str,
    url: str,
    localizations: Mapping[str, Mapping[str, str]] | None = None,
    full_mix_leads: Mapping[str, str] | None = None,
) -> ShortText:
    """The Short's title and description, and the same per localized language (its title
    from the release's localized title, its lead line from ``full_mix_leads[language]``,
    English "Full mix" when none is given)."""
    leads = dict(full_mix_leads or {})
    localized = {
        language: {
            "title": short_title(text["title"]),
            "description": short_description(leads.get(language, "Full mix"), url, channel_name),
        }
        for language, text in sorted((localizations or {}).items())
    }
    return ShortText(
        short_title(title),
        short_description(leads.get("en", "Full mix"), url, channel_name),
        localized,
    )


def short_upload(
    *,
    release_date: str,
    teaser_path: Path,
    text: ShortText,
    tags: Sequence[str],
    publish_at_utc: str,
    default_language: str = "en",
    default_audio_language: str | None = None,
) -> ReleaseUpload:
    """The ``ReleaseUpload`` (kind ``short``) of the day's teaser: no thumbnail, no playlist,
    published with the full release (``publish_at_utc``, RFC 3339) so its link works."""
    return ReleaseUpload(
        release_date=release_date,
        video_path=teaser_path,
        thumbnail_path=None,
        title=text.title,
        description=text.description,
        # The release's tags may already fill YouTube's 500 characters: the Short's own
        # tags go first and the release's least important ones make room.
        tags=fit_tags([*SHORT_TAGS, *tags]),
        playlists=[],
        publish_at_utc=publish_at_utc,
        default_language=default_language,
        kind="short",
        localizations=dict(text.localizations),
        default_audio_language=default_audio_language,
    )


def short_problems(body: dict[str, Any], facts: ShortFacts, url: str) -> list[str]:
    """Everything that keeps ``body`` (a videos.insert body) from being the day's Short:
    ``body_problems``, ``#Shorts`` missing from the title or description, the link to the full
    release missing, a video longer than ``MAX_SHORT_DURATION_S`` or wider than tall."""
    found = body_problems(body)
    snippet = body.get("snippet", {})
    for name in ("title", "description"):
        if SHORTS_HASHTAG.lower() not in str(snippet.get(name, "")).lower():
            found.append(f"{name} lacks {SHORTS_HASHTAG}")
    if url not in str(snippet.get("description", "")):
        found.append(f"description lacks the link to the full release ({url})")
    if facts.duration_s > MAX_SHORT_DURATION_S:
        found.append(f"the teaser lasts {facts.duration_s:.1f} s (max {MAX_SHORT_DURATION_S:g} s)")
    if facts.width > facts.height:
        found.append(f"the teaser is {facts.width}×{facts.height}: a Short is vertical or square")
    return found
