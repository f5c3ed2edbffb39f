"""Feedback group: what a breakout release teaches the channel."""

import datetime as dt

import dagster as dg
from pydantic import Field

from lofi_assets.defs.assets.common import read_plan
from lofi_assets.defs.failures import domain_failures
from lofi_assets.defs.partitions import track_partition_key
from lofi_assets.defs.resources import ArtifactStore, ChannelConfig, StyleBoostStore
from lofi_assets.errors import ConfigError
from lofi_assets.music.arrangement import compose_sketch
from lofi_assets.music.sketch_files import write_sketch_files
from lofi_assets.publish.feedback import (
    BOOST_FACTOR,
    StyleBoost,
    require_iso_date,
    require_video_id,
    variation_requests,
)
from lofi_assets.storage import confined_path


class BreakoutConfig(dg.Config):
    """Filled in by analytics_threshold_sensor; set by hand to replay a breakout."""

    video_id: str = Field(description="The breakout video's YouTube id (11 characters)")
    release_date: str = Field(description="Its release date (YYYY-MM-DD)")
    views_48h: int = Field(default=0, description="What it did in its first 48 h")
    average_view_percentage: float = Field(default=0.0)
    variations: int = Field(default=3, ge=1, le=5, description="New sketches on its recipe")
    effective_from: str | None = Field(
        default=None, description="First date whose plans use the style boost (default: tomorrow)"
    )


@dg.asset(group_name="feedback", kinds={"python", "midi"}, code_version="1")
def breakout_feedback(
    context: dg.AssetExecutionContext,
    config: BreakoutConfig,
    channel: ChannelConfig,
    artifact_store: ArtifactStore,
    style_boosts: StyleBoostStore,
) -> dg.MaterializeResult:
    """More of what worked: variations of the breakout's lead track and a boost for its style."""
    with domain_failures(artifact_store.root):
        # Run config is typed in the UI's launchpad (or filled in from an API response by the
        # sensor): every value that names a folder or a date is checked before anything is
        # read or written.
        video_id = require_video_id(config.video_id, "breakout_feedback config video_id")
        release_date = require_iso_date(config.release_date, "breakout_feedback release_date")
        tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
        effective_from = require_iso_date(
            config.effective_from or tomorrow, "breakout_feedback effective_from"
        )
        slot = channel.settings().slots[0]
        sketch_record = artifact_store.read_record(
            "midi_sketch", track_partition_key(release_date, slot)
        )
        if sketch_record is None:
            raise ConfigError(
                f"No midi_sketch for {release_date} slot {slot}: the breakout's recipe "
                "is read from its plan"
            )
        plan = read_plan(artifact_store, sketch_record)
        folder = confined_path(
            artifact_store.root, "breakout_feedback", video_id, what="YouTube video id"
        )
        made = []
        for index, request in enumerate(
            variation_requests(plan, video_id, config.variations), start=1
        ):
            files = write_sketch_files(compose_sketch(request), folder / f"variation_{index}")
            made.append(artifact_store.relative(files.midi_path))
        boost = StyleBoost(
            style=plan.style,
            factor=BOOST_FACTOR,
            effective_from=effective_from,
            video_id=video_id,
            reason=(
                f"{config.views_48h} views in 48 h, {config.average_view_percentage:.1f} % viewed"
            ),
        )
        added = style_boosts.add(boost)
    context.log.info(
        f"Breakout {video_id}: {len(made)} variations of {plan.style} in "
        f"{plan.key}; style boost {'added' if added else 'already recorded'}"
    )
    return dg.MaterializeResult(
        metadata={
            "video_id": video_id,
            "recipe": f"{plan.style} in {plan.key} at {plan.bpm} BPM",
            "variations": dg.MetadataValue.json(made),
            "style_boost": f"{plan.style} ×{BOOST_FACTOR} from {boost.effective_from}"
            if added
            else "already recorded",
        }
    )
