"""The channel's calendar: one release per day, several track slots per release."""

import dagster as dg

from lofi_assets.channel import DEFAULT_SLOTS, channel_start_date, channel_timezone

# The channel's launch day (LOFI_CHANNEL_START); every calendar partition starts here.
CHANNEL_START_DATE = channel_start_date()
DATE_DIMENSION, SLOT_DIMENSION = "date", "slot"

# Days of the channel's timezone (LOFI_CHANNEL_TIMEZONE), the one the daily schedule fires in;
# end_offset=1 makes today's partition exist, so the schedule can make today's release.
release_dates = dg.DailyPartitionsDefinition(
    start_date=CHANNEL_START_DATE, end_offset=1, timezone=channel_timezone()
)
track_slots = dg.StaticPartitionsDefinition(list(DEFAULT_SLOTS))
# Keys read "<date>|<slot>", e.g. "2026-11-27|1" (dimensions are ordered by name).
track_partitions = dg.MultiPartitionsDefinition(
    {DATE_DIMENSION: release_dates, SLOT_DIMENSION: track_slots}
)


def track_partition_key(date: str, slot: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({DATE_DIMENSION: date, SLOT_DIMENSION: slot})


def date_and_slot(partition_key: str | dg.MultiPartitionKey) -> tuple[str, str]:
    """Split a track partition key into its date and slot."""
    if isinstance(partition_key, dg.MultiPartitionKey):
        keys = partition_key.keys_by_dimension
        return keys[DATE_DIMENSION], keys[SLOT_DIMENSION]
    date, _, slot = str(partition_key).partition("|")
    return date, slot


def partition_path_parts(partition_key: str | dg.MultiPartitionKey) -> list[str]:
    """``2026-11-27|1`` → ["2026-11-27", "1"]; ``2026-11-27`` → ["2026-11-27"]."""
    if isinstance(partition_key, dg.MultiPartitionKey):
        keys = partition_key.keys_by_dimension
        return [keys[name] for name in sorted(keys)]
    return str(partition_key).split("|")


def _week_day_offset(start_date: str) -> int:
    """Dagster's ``day_offset`` (0 = Sunday … 6 = Saturday) of the launch day's weekday, so
    the channel's weeks start on the weekday it launched."""
    import datetime as dt

    return dt.date.fromisoformat(start_date).isoweekday() % 7


# Weeks of the channel's timezone from its launch day; a week's partition exists once the week
# is over (end_offset=0), when its seven days of masters can be in it. Keys are the week's first
# date, e.g. "2026-11-23".
release_weeks = dg.WeeklyPartitionsDefinition(
    start_date=CHANNEL_START_DATE,
    day_offset=_week_day_offset(CHANNEL_START_DATE),
    timezone=channel_timezone(),
)
