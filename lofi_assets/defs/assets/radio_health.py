"""The radio seen from Dagster: its health per day in the warehouse, an outage alert, and the
schedules that prepare the queue a day ahead and record the health every hour.

Dagster never holds the stream (``lofi radio`` does, in its own service); it reads what the
streamer writes in its work folder (``publish/radio_health.py`` says how).
"""

import datetime as dt
import os
import time
from dataclasses import asdict
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from lofi_assets.channel import channel_timezone
from lofi_assets.defs.assets.common import release_asset_options
from lofi_assets.defs.assets.radio import radio_queue
from lofi_assets.defs.failures import domain_failures
from lofi_assets.defs.records import RadioHealthRecord
from lofi_assets.defs.resources import ArtifactStore, WarehouseResource
from lofi_assets.publish.radio import WEBHOOK_ENV
from lofi_assets.publish.radio_health import (
    OUTAGE_ALERT_AFTER_S,
    RadioAlertError,
    current_broadcast_id,
    current_outage,
    day_health,
    health_rows,
    post_webhook,
    read_status,
    upsert_day,
)
from lofi_assets.redaction import redact
from lofi_assets.storage import confined_path

RADIO_HEALTH_VERSION = "1"
RADIO_WORK_DIR = "radio"  # under the data root: where `lofi radio` writes by default
RADIO_QUEUE_HOUR = 12  # the queue of tomorrow is prepared at noon (channel time): a day ahead


class RadioHealthConfig(dg.Config):
    """Where the streamer writes (``lofi radio --work-dir``), relative to the data root."""

    work_dir: str = RADIO_WORK_DIR


def radio_work_dir(store: ArtifactStore, work_dir: str) -> Path:
    """The streamer's folder under the data root (``PathEscapeError`` when it leads out)."""
    return confined_path(store.root, work_dir, what="radio work folder")


def health_table_markdown(rows: list[dict]) -> str:
    """The last days of ``radio_health`` as a Markdown table (newest first)."""
    lines = [
        "| day | uptime % | up h | down s | reconnects | restarts | alerts | broadcast |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        total = row["uptime_s"] + row["downtime_s"]
        percent = 100.0 if total <= 0 else 100.0 * row["uptime_s"] / total
        lines.append(
            f"| {row['day']} | {percent:.2f} | {row['uptime_s'] / 3600:.2f} | "
            f"{row['downtime_s']:.0f} | {row['reconnects']} | {row['encoder_restarts']} | "
            f"{row['alerts']} | {row['broadcast_id'] or '—'} |"
        )
    return "\n".join(lines)


@dg.asset(
    group_name="radio",
    kinds={"python", "duckdb"},
    code_version=RADIO_HEALTH_VERSION,
    **release_asset_options(RadioHealthRecord, automation=None),
)
def radio_health(
    context: dg.AssetExecutionContext,
    config: RadioHealthConfig,
    artifact_store: ArtifactStore,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """The day's radio: seconds up and down, reconnects, encoder restarts, alerts and the
    YouTube Live broadcast, upserted into the warehouse's ``radio_health`` (one row per day;
    today's row grows with every run of radio_health_schedule)."""
    day = str(context.partition_key)
    with domain_failures(artifact_store.root):
        work = radio_work_dir(artifact_store, config.work_dir)
        store = warehouse.client()
        now = time.time()
        health = day_health(work, day, channel_timezone(), now, current_broadcast_id(store))
        upsert_day(store, health)
        rows = health_rows(store, last_days=7, until=day)
        outage = current_outage(read_status(work), now)
    context.log.info(
        f"radio {day}: up {health.uptime_s:.0f} s, down {health.downtime_s:.0f} s "
        f"({health.uptime_pct:.2f} %), reconnects {health.reconnects}, restarts "
        f"{health.encoder_restarts}, alerts {health.alerts}"
    )
    off_air = outage is not None and outage.down_s > OUTAGE_ALERT_AFTER_S
    if off_air:
        context.log.error(f"radio ALERT: {outage.message()}")
    return dg.MaterializeResult(
        value=RadioHealthRecord(**{**asdict(health), "uptime_pct": round(health.uptime_pct, 3)}),
        metadata={
            "uptime_pct": dg.MetadataValue.float(round(health.uptime_pct, 3)),
            "uptime_h": dg.MetadataValue.float(round(health.uptime_s / 3600, 3)),
            "downtime_s": dg.MetadataValue.float(health.downtime_s),
            "reconnects": dg.MetadataValue.int(health.reconnects),
            "encoder_restarts": dg.MetadataValue.int(health.encoder_restarts),
            "stalls": dg.MetadataValue.int(health.stalls),
            "alerts": dg.MetadataValue.int(health.alerts),
            "broadcast_id": health.broadcast_id or "none",
            "off_air": outage.message() if off_air else "no",
            "last_days": dg.MetadataValue.md(health_table_markdown(rows)),
        },
    )


radio_health_job = dg.define_asset_job(
    "radio_health_job",
    selection=dg.AssetSelection.assets(radio_health),
    description="The radio's health for one day, from the streamer's status and events files.",
)

radio_queue_job = dg.define_asset_job(
    "radio_queue_job",
    selection=dg.AssetSelection.assets(radio_queue),
    description="The radio's playlist of the day after the partition (prepared a day ahead).",
)


@dg.schedule(
    job=radio_queue_job,
    cron_schedule=f"0 {RADIO_QUEUE_HOUR} * * *",
    execution_timezone=channel_timezone(),
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description=f"Every day at {RADIO_QUEUE_HOUR:02d}:00 (channel time): tomorrow's radio "
    "queue (radio_queue's partition of today plays tomorrow), so the stream never waits on "
    "rendering. Switch it on with the radio.",
)
def radio_queue_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Today's partition of radio_queue: the playlist ``lofi radio`` rolls to at midnight."""
    day = context.scheduled_execution_time.strftime("%Y-%m-%d")
    return dg.RunRequest(run_key=f"radio-queue-{day}", partition_key=day)


@dg.schedule(
    job=radio_health_job,
    cron_schedule="0 * * * *",
    execution_timezone=channel_timezone(),
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every hour: today's radio_health row (at midnight, yesterday's final one "
    "too). Switch it on with the radio.",
)
def radio_health_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """Today's partition, and at the midnight tick the day that just ended."""
    when = context.scheduled_execution_time
    days = [when.date()] + ([when.date() - dt.timedelta(days=1)] if when.hour == 0 else [])
    return [
        dg.RunRequest(
            run_key=f"radio-health-{day.isoformat()}-{when:%Y%m%dT%H%M}",
            partition_key=day.isoformat(),
        )
        for day in days
    ]


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description=f"Every 30 s: when the radio's status shows the stream down (or the streamer "
    f"silent) for more than {OUTAGE_ALERT_AFTER_S:.0f} s, one alert per outage: an error in "
    f"the log, an observation on radio_health, and a POST to ${WEBHOOK_ENV} when it is set. "
    "Switch it on with the radio.",
)
def radio_outage_sensor(
    context: dg.SensorEvaluationContext, artifact_store: ArtifactStore
) -> dg.SensorResult | dg.SkipReason:
    """One alert per outage: the cursor holds the key (start time) of the outage last alerted,
    so the ticks that follow while it lasts say nothing more."""
    with domain_failures(artifact_store.root):
        status = read_status(radio_work_dir(artifact_store, RADIO_WORK_DIR))
    now = time.time()
    outage = current_outage(status, now)
    if outage is None or outage.down_s <= OUTAGE_ALERT_AFTER_S:
        return dg.SkipReason(
            "the radio is on the air, stopped, or never ran"
            if outage is None
            else f"down for {outage.down_s:.0f} s (alert after {OUTAGE_ALERT_AFTER_S:.0f} s)"
        )
    if context.cursor == outage.key:
        return dg.SkipReason(f"outage since {outage.key} already alerted ({outage.down_s:.0f} s)")
    message = outage.message()
    context.log.error(f"radio ALERT: {message}")
    webhook = "not set"
    url = os.environ.get(WEBHOOK_ENV, "")
    if url and outage.streamer_alerted:  # its own webhook went with its alert: not twice
        webhook = "sent by the streamer"
    elif url:
        try:
            post_webhook(url, message)
            webhook = "sent"
        except RadioAlertError as error:  # logged; the alert stands in the log and the UI
            webhook = "failed"
            context.log.warning(f"radio alert webhook: {redact(str(error))}")
    today = dt.datetime.fromtimestamp(now, ZoneInfo(channel_timezone())).date().isoformat()
    return dg.SensorResult(
        asset_events=[
            dg.AssetObservation(
                asset_key=radio_health.key,
                partition=today,
                metadata={
                    "alert": message,
                    "down_s": dg.MetadataValue.float(round(outage.down_s, 1)),
                    "cause": outage.cause,
                    "webhook": webhook,
                },
            )
        ],
        cursor=outage.key,
    )


RADIO_HEALTH_ASSETS = [radio_health]
RADIO_JOBS = [radio_health_job, radio_queue_job]
RADIO_SCHEDULES = [radio_queue_schedule, radio_health_schedule]
RADIO_SENSORS = [radio_outage_sensor]
