"""Checks of the release group (``release_mix``, ``release_metadata``, ``thumbnail``,
``video``, ``shorts_teaser``), judged on the staged files before they replace the day's."""

from collections.abc import Mapping

import dagster as dg

from lofi_assets.audio.production import TARGET_LUFS
from lofi_assets.audio.release_mix import GAP_THRESHOLD_DBFS
from lofi_assets.defs.checks import check_no_problems, verdict
from lofi_assets.publish.metadata import MIN_CHAPTER_S
from lofi_assets.visual.teaser import MAX_SHORTS_S, MIN_TEASER_TEXT_HEIGHT_PX, teaser_text_problems
from lofi_assets.visual.text import TextFacts
from lofi_assets.visual.thumbnail import (
    COVER_SIZE,
    MAX_THUMBNAIL_BYTES,
    MIN_CONTRAST,
    MIN_TEXT_HEIGHT_PX,
    THUMBNAIL_SIZE,
    Artwork,
    headline_problems,
)
from lofi_assets.visual.video import AUDIO_RATE_HZ, SHORTS_SIZE, VideoFacts

MAX_GAP_S = 1.0
MAX_CROSSFADE_STEP_LU = 3.0
MIX_LOUDNESS_TOLERANCE_LU = 1.0
MAX_AV_DRIFT_S = 0.1
MID_ROLL_MIN_S = 480.0  # YouTube allows mid-roll ads from 8 minutes
MID_ROLL_MIN_TRACKS = 3


def _size(size: tuple[int, int]) -> str:
    return f"{size[0]}×{size[1]}"


# --- release_mix ---------------------------------------------------------------------------

MIX_LOUDNESS = dg.AssetCheckSpec(
    "mix_loudness",
    asset="release_mix",
    blocking=True,
    description=f"Integrated loudness {TARGET_LUFS:.0f} ± {MIX_LOUDNESS_TOLERANCE_LU} LUFS",
)
NO_GAPS = dg.AssetCheckSpec(
    "no_gaps",
    asset="release_mix",
    blocking=True,
    description=f"No stretch over {MAX_GAP_S} s below {GAP_THRESHOLD_DBFS:.0f} dBFS",
)
SMOOTH_CROSSFADES = dg.AssetCheckSpec(
    "smooth_crossfades",
    asset="release_mix",
    description=f"Short-term loudness steps ≤ {MAX_CROSSFADE_STEP_LU} LU around each crossfade",
)
CHAPTERS_VALID = dg.AssetCheckSpec(
    "chapters_valid",
    asset="release_mix",
    blocking=True,
    description=f"One chapter per track, first at 0:00, ascending, each ≥ {MIN_CHAPTER_S:.0f} s",
)
RELEASE_MIX_CHECK_SPECS = [MIX_LOUDNESS, NO_GAPS, SMOOTH_CROSSFADES, CHAPTERS_VALID]


def release_mix_check_results(
    integrated: float,
    longest_gap: float,
    crossfade_steps: list[float],
    chapter_starts_s: list[float],
    duration_s: float,
    tracks: int,
) -> list[dg.AssetCheckResult]:
    ends = [*chapter_starts_s[1:], duration_s]
    lengths = [end - start for start, end in zip(chapter_starts_s, ends, strict=True)]
    return [
        verdict(
            MIX_LOUDNESS,
            abs(integrated - TARGET_LUFS) <= MIX_LOUDNESS_TOLERANCE_LU,
            {"integrated_lufs": round(integrated, 2)},
        ),
        verdict(NO_GAPS, longest_gap <= MAX_GAP_S, {"longest_gap_s": longest_gap}),
        verdict(
            SMOOTH_CROSSFADES,
            all(step <= MAX_CROSSFADE_STEP_LU for step in crossfade_steps),
            {"steps_lu": dg.MetadataValue.json([round(s, 2) for s in crossfade_steps])},
            dg.AssetCheckSeverity.WARN,
        ),
        verdict(
            CHAPTERS_VALID,
            len(chapter_starts_s) == tracks
            and bool(chapter_starts_s)
            and chapter_starts_s[0] == 0.0
            and all(length >= MIN_CHAPTER_S for length in lengths),
            {"chapter_lengths_s": dg.MetadataValue.json([round(x, 1) for x in lengths])},
        ),
    ]


# --- release_metadata ----------------------------------------------------------------------

METADATA_VALID = dg.AssetCheckSpec(
    "metadata_valid",
    asset="release_metadata",
    blocking=True,
    description="Title ≤ 100 chars without < >, description ≤ 5000, tags ≤ 500, valid chapters",
)
METADATA_CHECK_SPECS = [METADATA_VALID]


def check_metadata_valid(found_problems: list[str]) -> dg.AssetCheckResult:
    """``publish.metadata.problems`` of the document: YouTube's limits, the chapters."""
    return check_no_problems(METADATA_VALID, found_problems)


# --- thumbnail -----------------------------------------------------------------------------

ARTWORK_FORMAT = dg.AssetCheckSpec(
    "artwork_format",
    asset="thumbnail",
    blocking=True,
    description=f"Thumbnails are {_size(THUMBNAIL_SIZE)} RGB JPEGs "
    f"≤ {MAX_THUMBNAIL_BYTES / 1e6:g} MB; the cover a {_size(COVER_SIZE)} RGB JPEG",
)
HEADLINE_LEGIBLE = dg.AssetCheckSpec(
    "headline_legible",
    asset="thumbnail",
    blocking=True,
    description=f"Every headline character drawn by a font that has it; the drawn text "
    f"≥ {MIN_TEXT_HEIGHT_PX} px tall (at {THUMBNAIL_SIZE[0]} px), inside the safe area, "
    f"contrast ≥ {MIN_CONTRAST}:1, duration-badge corner clear; measured on thumbnails and cover",
)
THUMBNAIL_CHECK_SPECS = [ARTWORK_FORMAT, HEADLINE_LEGIBLE]


def check_artwork_format(facts: dict[str, dict]) -> dg.AssetCheckResult:
    """``facts``: file name → {"format", "mode", "size", "bytes"} read back from disk."""
    wrong = {}
    for name, fact in facts.items():
        expected = COVER_SIZE if name == "cover" else THUMBNAIL_SIZE
        too_big = name != "cover" and fact["bytes"] > MAX_THUMBNAIL_BYTES
        if (
            fact["format"] != "JPEG"
            or fact["mode"] != "RGB"
            or tuple(fact["size"]) != expected
            or too_big
        ):
            wrong[name] = fact
    return verdict(
        ARTWORK_FORMAT,
        not wrong,
        {"files": dg.MetadataValue.json(facts), "wrong": dg.MetadataValue.json(wrong)},
    )


def check_headline_legible(artworks: Mapping[str, Artwork]) -> dg.AssetCheckResult:
    """``artworks``: variant (or "cover") → the artwork as drawn; its headline is judged by
    what was measured from its ink (``headline_problems``), not by a sample letter."""
    problems = {name: headline_problems(artwork) for name, artwork in artworks.items()}
    failing = {name: found for name, found in problems.items() if found}
    return verdict(
        HEADLINE_LEGIBLE,
        not failing,
        {
            "headlines": dg.MetadataValue.json(
                {name: artwork.text.as_json() for name, artwork in artworks.items()}
            ),
            "failing": dg.MetadataValue.json(failing),
        },
    )


# --- video, shorts_teaser ------------------------------------------------------------------


def stream_check_specs(asset: str, size: str, source: str) -> list[dg.AssetCheckSpec]:
    """video_streams and durations_match (both blocking) of an MP4 that YouTube takes."""
    return [
        dg.AssetCheckSpec(
            "video_streams",
            asset=asset,
            blocking=True,
            description=f"H.264 High yuv420p {size}, AAC-LC {AUDIO_RATE_HZ / 1000:g} kHz stereo, "
            "+faststart",
        ),
        dg.AssetCheckSpec(
            "durations_match",
            asset=asset,
            blocking=True,
            description=f"Video, audio and {source} agree within {MAX_AV_DRIFT_S} s",
        ),
    ]


VIDEO_STREAMS, DURATIONS_MATCH = stream_check_specs("video", "at the configured size", "the mix")
MID_ROLL_ELIGIBLE = dg.AssetCheckSpec(
    "mid_roll_eligible",
    asset="video",
    description=f"At least {MID_ROLL_MIN_S / 60:.0f} minutes long when the day has "
    f"{MID_ROLL_MIN_TRACKS} or more tracks",
)
VIDEO_CHECK_SPECS = [VIDEO_STREAMS, DURATIONS_MATCH, MID_ROLL_ELIGIBLE]


def streams_and_drift(
    facts: VideoFacts, size: tuple[int, int], audio_duration_s: float
) -> list[dg.AssetCheckResult]:
    """video_streams and durations_match, for any asset whose file YouTube takes."""
    streams_ok = (
        facts.video_codec == "h264"
        and facts.video_profile == "High"
        and facts.pixel_format == "yuv420p"
        and (facts.width, facts.height) == size
        and facts.audio_codec == "aac"
        and facts.audio_profile == "LC"
        and facts.audio_rate_hz == AUDIO_RATE_HZ
        and facts.audio_channels == 2
        and facts.faststart
    )
    drift = max(
        abs(facts.video_duration_s - facts.audio_duration_s),
        abs(facts.video_duration_s - audio_duration_s),
    )
    facts_json = dg.MetadataValue.json({k: v for k, v in vars(facts).items()})
    return [
        verdict(VIDEO_STREAMS, streams_ok, {"ffprobe": facts_json}),
        verdict(DURATIONS_MATCH, drift <= MAX_AV_DRIFT_S, {"drift_s": round(drift, 3)}),
    ]


def video_check_results(
    facts: VideoFacts, size: tuple[int, int], mix_duration_s: float, tracks: int
) -> list[dg.AssetCheckResult]:
    return [
        *streams_and_drift(facts, size, mix_duration_s),
        verdict(
            MID_ROLL_ELIGIBLE,
            tracks < MID_ROLL_MIN_TRACKS or facts.video_duration_s >= MID_ROLL_MIN_S,
            {"duration_s": round(facts.video_duration_s, 2), "tracks": tracks},
            dg.AssetCheckSeverity.WARN,
        ),
    ]


SHORTS_LENGTH = dg.AssetCheckSpec(
    "shorts_length",
    asset="shorts_teaser",
    blocking=True,
    description=f"At most {MAX_SHORTS_S:.0f} s: longer uploads are not Shorts",
)
TEXT_LEGIBLE = dg.AssetCheckSpec(
    "text_legible",
    asset="shorts_teaser",
    blocking=True,
    description="Title and caption (the channel's name) drawn whole: every character by a "
    f"font that has it, ≥ {MIN_TEASER_TEXT_HEIGHT_PX} px tall, inside the safe area, "
    f"contrast ≥ {MIN_CONTRAST}:1",
)
TEASER_CHECK_SPECS = [
    *stream_check_specs("shorts_teaser", _size(SHORTS_SIZE), "the excerpt"),
    SHORTS_LENGTH,
    TEXT_LEGIBLE,
]


def check_teaser_text_legible(title: TextFacts, caption: TextFacts) -> dg.AssetCheckResult:
    """The teaser's title and caption as measured from their ink (``teaser_text_problems``)."""
    problems = teaser_text_problems(title, caption)
    return verdict(
        TEXT_LEGIBLE,
        not any(problems.values()),
        {
            "title": dg.MetadataValue.json(title.as_json()),
            "caption": dg.MetadataValue.json(caption.as_json()),
            "problems": dg.MetadataValue.json(problems),
        },
    )


def teaser_check_results(
    facts: VideoFacts, size: tuple[int, int], excerpt_duration_s: float
) -> list[dg.AssetCheckResult]:
    return [
        *streams_and_drift(facts, size, excerpt_duration_s),
        verdict(
            SHORTS_LENGTH,
            facts.video_duration_s <= MAX_SHORTS_S,
            {"duration_s": round(facts.video_duration_s, 2)},
        ),
    ]
