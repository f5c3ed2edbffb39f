"""Jobs and schedules: today's tracks every morning, any date range on demand."""

import dagster as dg

from lofi_assets.defs.assets.compose import midi_sketch
from lofi_assets.defs.assets.produce import mastered_wav, stems
from lofi_assets.defs.partitions import release_dates, track_partition_key, track_partitions
from lofi_assets.defs.resources import ChannelConfig

DAILY_RELEASE_CRON = "0 6 * * *"  # early enough that a day's release is ready by noon
SCHEDULE_TIMEZONE = "UTC"

daily_tracks_job = dg.define_asset_job(
    "daily_tracks_job",
    selection=dg.AssetSelection.assets(midi_sketch, stems, mastered_wav),
    partitions_def=track_partitions,
    description="Every track asset for one date × slot partition.",
)

# The release assets of one date. They also materialize on their own once every slot of the
# day is mastered (AutomationCondition.eager on release_mix, evaluated by the daemon).
daily_release_job = dg.define_asset_job(
    "daily_release_job",
    selection=dg.AssetSelection.groups("release"),
    partitions_def=release_dates,
    description="Every release asset for one date, from that day's tracks.",
)


@dg.schedule(
    job=daily_tracks_job,
    cron_schedule=DAILY_RELEASE_CRON,
    execution_timezone=SCHEDULE_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def daily_release_schedule(
    context: dg.ScheduleEvaluationContext, channel: ChannelConfig
) -> list[dg.RunRequest]:
    """Today's release: one run per track slot of the scheduled date."""
    date = context.scheduled_execution_time.strftime("%Y-%m-%d")
    return [
        dg.RunRequest(run_key=f"{date}|{slot}", partition_key=track_partition_key(date, slot))
        for slot in channel.to_channel().slots
    ]
