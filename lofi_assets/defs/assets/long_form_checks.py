"""Checks of the long_form group: the weekly release is judged like the daily one (issue 16
§1), by the same functions under the same names, on its own assets."""

import dagster as dg

from lofi_assets.defs.assets.publish_checks import UPLOAD_BODY_VALID
from lofi_assets.defs.assets.release_checks import (
    METADATA_CHECK_SPECS,
    RELEASE_MIX_CHECK_SPECS,
    THUMBNAIL_CHECK_SPECS,
    stream_check_specs,
    streams_and_drift,
)
from lofi_assets.defs.checks import inputs_current_spec, same_checks_for
from lofi_assets.visual.video import VideoFacts

WEEKLY_MIX_CHECK_SPECS = same_checks_for("weekly_mix", RELEASE_MIX_CHECK_SPECS)
WEEKLY_THUMBNAIL_CHECK_SPECS = same_checks_for("weekly_thumbnail", THUMBNAIL_CHECK_SPECS)
WEEKLY_METADATA_CHECK_SPECS = same_checks_for("weekly_metadata", METADATA_CHECK_SPECS)
WEEKLY_VIDEO_CHECK_SPECS = stream_check_specs("weekly_video", "at the configured size", "the mix")
WEEKLY_UPLOAD_CHECK_SPECS = [
    *same_checks_for("weekly_upload", [UPLOAD_BODY_VALID]),
    inputs_current_spec("weekly_upload"),
]


def weekly_video_check_results(
    facts: VideoFacts, size: tuple[int, int], mix_duration_s: float
) -> list[dg.AssetCheckResult]:
    """video_streams and durations_match of the weekly video, as for the daily video."""
    return streams_and_drift(facts, size, mix_duration_s)
