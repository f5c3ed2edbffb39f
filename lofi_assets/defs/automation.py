"""Jobs, schedules and sensors: today's tracks every morning, analytics every day, and a
run that makes more of whatever breaks out."""

import datetime as dt
import json
import os

import dagster as dg

from lofi_assets.channel import channel_timezone
from lofi_assets.defs.assets.compose import midi_sketch
from lofi_assets.defs.assets.feedback import breakout_feedback
from lofi_assets.defs.assets.produce import mastered_wav, stems
from lofi_assets.defs.assets.publish import analytics_snapshot
from lofi_assets.defs.partitions import track_partition_key
from lofi_assets.defs.resources import ChannelConfig, WarehouseResource
from lofi_assets.errors import ConfigError
from lofi_assets.publish.analytics import early_performance
from lofi_assets.publish.feedback import breakouts

# 06:00 in the channel's timezone unless told otherwise: early enough that the day's release
# is ready for the afternoon publish window.
RELEASE_HOUR_ENV = "LOFI_RELEASE_HOUR"
ANALYTICS_CRON = "0 9 * * *"  # UTC: after YouTube Analytics has yesterday's numbers

daily_tracks_job = dg.define_asset_job(
    "daily_tracks_job",
    selection=dg.AssetSelection.assets(midi_sketch, stems, mastered_wav),
    description="Every track asset for one date × slot partition.",
)

# The release assets of one date. They also materialize on their own once every slot of the
# day is mastered (RELEASE_AUTOMATION, evaluated by release_automation_sensor).
daily_release_job = dg.define_asset_job(
    "daily_release_job",
    selection=dg.AssetSelection.groups("release"),
    description="Every release asset for one date, from that day's tracks.",
)


publish_job = dg.define_asset_job(
    "publish_job",
    selection=dg.AssetSelection.groups("publish") - dg.AssetSelection.assets(analytics_snapshot),
    description="The day's release on YouTube (dry-run without credentials).",
)

analytics_job = dg.define_asset_job(
    "analytics_job",
    selection=dg.AssetSelection.assets(analytics_snapshot),
    description="Fetch and upsert YouTube analytics up to one day.",
)

breakout_feedback_job = dg.define_asset_job(
    "breakout_feedback_job",
    selection=dg.AssetSelection.assets(breakout_feedback),
    description="Variations of a breakout's recipe and a boost for its style.",
)

train_melody_model_job = dg.define_asset_job(
    "train_melody_model_job",
    selection=dg.AssetSelection.groups("model"),
    description="Corpus, tokenizer and melody model (run config: preset smoke/default/gpu).",
)


# Evaluates the release and publish assets' automation conditions every 30 s. On by default,
# so that switching on daily_release_schedule alone makes the whole day: the schedule makes
# the tracks, this sensor the release (once every slot is mastered) and the upload (once).
# Only today's partition is ever requested (in_latest_time_window): backfills of past dates
# never trigger it.
release_automation_sensor = dg.AutomationConditionSensorDefinition(
    "release_automation_sensor",
    target=dg.AssetSelection.groups("release", "publish"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Makes today's release once every track slot of the day is mastered (again, once, "
        "when a slot is re-made) and publishes it once: YouTube upload (dry-run without "
        "credentials) and the streaming bundle. Needs dagster-daemon (dagster dev starts one)."
    ),
)


def build_daily_release_schedule(hour: int, timezone: str) -> dg.ScheduleDefinition:
    """Today's tracks at ``hour`` in ``timezone``; release and publish assets follow on their
    own (release_automation_sensor) once every slot of the day is mastered."""
    if not 0 <= hour <= 23:
        raise ConfigError(f"{RELEASE_HOUR_ENV}={hour}: use an hour from 0 to 23")

    @dg.schedule(
        name="daily_release_schedule",
        job=daily_tracks_job,
        cron_schedule=f"0 {hour} * * *",
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=(
            f"Every day at {hour:02d}:00 ({timezone}): one run per track slot of the day "
            "(sketch, stems, master). The release and its upload follow by themselves through "
            "release_automation_sensor (on by default; keep it on). Switch this schedule on to "
            "run the channel; dagster-daemon must be running."
        ),
    )
    def daily_release_schedule(
        context: dg.ScheduleEvaluationContext, channel: ChannelConfig
    ) -> list[dg.RunRequest]:
        """Today's release: one run per track slot of the scheduled date."""
        date = context.scheduled_execution_time.strftime("%Y-%m-%d")
        keys = [track_partition_key(date, slot) for slot in channel.settings().slots]
        return [dg.RunRequest(run_key=str(key), partition_key=key) for key in keys]

    return daily_release_schedule


def release_hour() -> int:
    """``LOFI_RELEASE_HOUR``, or 6 when it is unset."""
    value = os.environ.get(RELEASE_HOUR_ENV) or "6"
    if not value.isdigit():
        raise ConfigError(f"{RELEASE_HOUR_ENV}={value!r}: use an hour from 0 to 23")
    return int(value)


daily_release_schedule = build_daily_release_schedule(release_hour(), channel_timezone())


@dg.schedule(
    job=analytics_job,
    cron_schedule=ANALYTICS_CRON,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every day at 09:00 UTC: yesterday's YouTube analytics snapshot into the "
    "warehouse (empty in dry-run). Feeds analytics_threshold_sensor.",
)
def analytics_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Yesterday's snapshot (YouTube Analytics lags about a day), re-fetching the 3 before."""
    day = (context.scheduled_execution_time - dt.timedelta(days=1)).strftime("%Y-%m-%d")
    return dg.RunRequest(run_key=f"analytics-{day}", partition_key=day)


@dg.sensor(
    job=breakout_feedback_job,
    minimum_interval_seconds=3600,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Hourly: a release past the breakout thresholds (views in 48 h and average "
    "view percentage, set on the channel resource) gets one breakout_feedback_job run.",
)
def analytics_threshold_sensor(
    context: dg.SensorEvaluationContext, channel: ChannelConfig, warehouse: WarehouseResource
) -> dg.RunRequest | dg.SkipReason:
    """One run per breakout release: more of what worked. The cursor remembers which
    breakouts were acted on; the run key makes a repeated request a no-op. A row whose video
    id or release date is malformed (they name the run's folders) is never requested; the
    skip reason or the log says which."""
    acted = set(json.loads(context.cursor or "[]"))
    crossing, reason = breakouts(early_performance(warehouse.client()), channel.thresholds())
    fresh = [p for p in crossing if p.video_id not in acted]
    if not fresh:
        done = f"every breakout ({len(acted)}) has been acted on" if crossing else ""
        return dg.SkipReason("; ".join(filter(None, (done, reason))))
    if reason:  # breakouts to act on, and malformed rows it left out
        context.log.warning(f"analytics_threshold_sensor: {reason}")
    breakout = fresh[0]
    context.update_cursor(json.dumps(sorted(acted | {breakout.video_id})))
    return dg.RunRequest(
        run_key=f"breakout-{breakout.video_id}",
        run_config={
            "ops": {
                "breakout_feedback": {
                    "config": {
                        "video_id": breakout.video_id,
                        "release_date": breakout.release_date,
                        "views_48h": breakout.views_48h,
                        "average_view_percentage": breakout.average_view_percentage,
                    }
                }
            }
        },
        tags={"lofi/breakout": breakout.video_id},
    )
