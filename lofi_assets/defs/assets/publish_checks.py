"""Checks of the publish group (``youtube_upload``, ``analytics_snapshot``,
``streaming_release``): judged before anything is sent, or on what was written."""

import dagster as dg

from lofi_assets.defs.checks import check_no_problems, inputs_current_spec, verdict
from lofi_assets.publish.distribution import COVER_PX, MAX_TRUE_PEAK_DBTP, SAMPLE_RATE_HZ
from lofi_assets.publish.identifiers import valid_isrc

UPLOAD_BODY_VALID = dg.AssetCheckSpec(
    "upload_body_valid",
    asset="youtube_upload",
    blocking=True,
    description="Title, description, tags within YouTube's limits; category Music; not made "
    "for kids; synthetic media declared; scheduled videos private",
)
UPLOAD_CHECK_SPECS = [UPLOAD_BODY_VALID, inputs_current_spec("youtube_upload")]


def check_upload_body_valid(found_problems: list[str]) -> dg.AssetCheckResult:
    """``publish.upload.body_problems`` of the request body about to be sent."""
    return check_no_problems(UPLOAD_BODY_VALID, found_problems)


ONE_ROW_PER_DAY_AND_VIDEO = dg.AssetCheckSpec(
    "one_row_per_day_and_video",
    asset="analytics_snapshot",
    description="Re-fetched days replaced their rows instead of adding to them",
)
SNAPSHOT_CHECK_SPECS = [ONE_ROW_PER_DAY_AND_VIDEO]


def check_one_row_per_day_and_video(duplicates: int) -> dg.AssetCheckResult:
    return verdict(
        ONE_ROW_PER_DAY_AND_VIDEO,
        duplicates == 0,
        {"duplicate_rows": dg.MetadataValue.int(duplicates)},
    )


def _streaming_spec(name: str, description: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        name, asset="streaming_release", blocking=True, description=description
    )


AUDIO_FORMAT = _streaming_spec(
    "audio_format",
    f"16-bit PCM, {SAMPLE_RATE_HZ / 1000:g} kHz, stereo, true peak ≤ {MAX_TRUE_PEAK_DBTP:g} dBTP, "
    "ISRC in the tags",
)
ARTWORK_VALID = _streaming_spec("artwork_valid", f"{COVER_PX}×{COVER_PX} RGB JPEG cover")
ISRC_VALID = _streaming_spec(
    "isrc_valid", "Every ISRC is CC-XXX-YY-NNNNN (ISO 3901) and issued to one track only"
)
METADATA_COMPLETE = _streaming_spec(
    "metadata_complete",
    "Title, UPC (UPC-A or EAN-13 with its GS1 check digit), artist, label, genre, "
    "dates, ℗/© present; text and DDEX party ids in the stores' formats",
)
MANIFEST_MATCHES_FILES = _streaming_spec(
    "manifest_matches_files", "Every file in the bundle matches the manifest's SHA-256"
)
STREAMING_CHECK_SPECS = [
    AUDIO_FORMAT,
    ARTWORK_VALID,
    ISRC_VALID,
    METADATA_COMPLETE,
    MANIFEST_MATCHES_FILES,
    inputs_current_spec("streaming_release"),
]


def streaming_check_results(
    audio_facts: list[dict],
    artwork_problems: list[str],
    isrcs: list[str],
    registry_duplicates: int,
    missing_metadata: list[str],
    bundle_problems: list[str],
) -> list[dg.AssetCheckResult]:
    audio_ok = all(
        f["subtype"] == "PCM_16"
        and f["sample_rate_hz"] == SAMPLE_RATE_HZ
        and f["channels"] == 2
        and f["true_peak_dbtp"] <= MAX_TRUE_PEAK_DBTP
        and f["isrc_tag"]
        for f in audio_facts
    )
    isrc_ok = all(map(valid_isrc, isrcs)) and len(set(isrcs)) == len(isrcs)
    return [
        verdict(AUDIO_FORMAT, audio_ok, {"files": dg.MetadataValue.json(audio_facts)}),
        check_no_problems(ARTWORK_VALID, artwork_problems),
        verdict(
            ISRC_VALID,
            isrc_ok and registry_duplicates == 0,
            {
                "isrcs": dg.MetadataValue.json(isrcs),
                "registry_duplicates": dg.MetadataValue.int(registry_duplicates),
            },
        ),
        check_no_problems(METADATA_COMPLETE, missing_metadata),
        check_no_problems(MANIFEST_MATCHES_FILES, bundle_problems),
    ]
