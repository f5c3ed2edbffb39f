import datetime as dt
import json
import os
import shutil
import subprocess
import sys

import dagster as dg
import pydantic
import pytest
import yaml

from lofi_assets.definitions import defs
from lofi_assets.defs.automation import daily_release_schedule
from lofi_assets.defs.partitions import release_dates, track_partitions
from lofi_assets.defs.pools import POOL_LIMITS
from lofi_assets.defs.resources import ChannelConfig, DistributorResource, YouTubeResource
from lofi_assets_tests.conftest import REPO_ROOT


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)
    for name in ("midi_sketch", "stems", "mastered_wav"):
        assert defs.resolve_assets_def(name).partitions_def == track_partitions
    job = defs.resolve_job_def("daily_tracks_job")
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} >= {
        "midi_sketch", "stems", "mastered_wav"
    }  # fmt: skip


def test_track_partitions_are_a_daily_grid_of_three_slots():
    keys = track_partitions.get_partition_keys()
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert {f"{today}|1", f"{today}|2", f"{today}|3"} <= set(keys)
    assert release_dates.get_last_partition_key() == today  # end_offset=1: today exists
    assert "2026-11-27|2" in keys


def _schedule_requests(instance, when: dt.datetime, channel: ChannelConfig) -> list:
    # As a context manager: the context enters the instance and sets Dagster's current
    # definitions-state storage; leaving it set breaks later tests in the same process.
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=when, resources={"channel": channel}
    ) as context:
        return list(daily_release_schedule(context))


def test_schedule_requests_every_slot_of_the_scheduled_day(instance):
    requests = _schedule_requests(
        instance, dt.datetime(2026, 11, 27, 6, tzinfo=dt.UTC), ChannelConfig()
    )
    assert [r.run_key for r in requests] == ["2026-11-27|1", "2026-11-27|2", "2026-11-27|3"]
    assert [str(r.partition_key) for r in requests] == [
        "2026-11-27|1",
        "2026-11-27|2",
        "2026-11-27|3",
    ]


def test_schedule_follows_the_channel_slots(instance):
    requests = _schedule_requests(
        instance, dt.datetime(2026, 11, 28, 6, tzinfo=dt.UTC), ChannelConfig(slots=["2"])
    )
    assert [r.run_key for r in requests] == ["2026-11-28|2"]


def test_embedded_dagster_yaml_is_a_valid_instance_with_retries_and_pools(tmp_path, monkeypatch):
    shutil.copy(REPO_ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert str(tmp_path) in instance.run_storage._conn_string
        for pool, limit in POOL_LIMITS.items():
            instance.event_log_storage.set_concurrency_slots(pool, limit)
            assert instance.event_log_storage.get_concurrency_info(pool).slot_count == limit
    config = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    assert config["concurrency"]["pools"]["granularity"] == "op"


def test_workspace_points_at_the_definitions_module():
    workspace = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["python_module"]["module_name"] == "lofi_assets.definitions"


# Run in a fresh interpreter: the channel's timezone is read when the definitions load.
EAST_OF_UTC_SCHEDULE = """
import datetime as dt, json
from zoneinfo import ZoneInfo
import dagster as dg
from lofi_assets.definitions import defs
from lofi_assets.defs.automation import daily_release_schedule
from lofi_assets.defs.partitions import track_partitions

# 06:00 on the 28th in Auckland is 17:00 on the 27th in UTC.
when = dt.datetime(2026, 11, 28, 6, tzinfo=ZoneInfo("Pacific/Auckland"))
with dg.instance_for_test() as instance, dg.build_schedule_context(
    instance=instance, scheduled_execution_time=when, resources={"channel": defs.resources["channel"]}
) as context:
    requests = list(daily_release_schedule(context))
print(json.dumps({
    "timezone": daily_release_schedule.execution_timezone,
    "channel_timezone": defs.resources["channel"].timezone,
    "keys": [str(r.partition_key) for r in requests],
    "valid": [str(r.partition_key) in track_partitions.get_partition_keys(current_time=when)
              for r in requests],
}))
"""


def _python(code: str, **environment: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **environment},
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
    )  # fmt: skip


def test_a_channel_east_of_utc_schedules_its_own_today(tmp_path):
    """The schedule's day and the partitions' days are both the channel's: at 06:00 in
    Auckland the 28th already exists, though UTC is still on the 27th."""
    result = _python(EAST_OF_UTC_SCHEDULE, LOFI_CHANNEL_TIMEZONE="Pacific/Auckland")
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.splitlines()[-1])
    assert seen["timezone"] == seen["channel_timezone"] == "Pacific/Auckland"
    assert seen["keys"] == ["2026-11-28|1", "2026-11-28|2", "2026-11-28|3"]
    assert all(seen["valid"])


@pytest.mark.parametrize(
    ("variable", "value"),
    [("LOFI_CHANNEL_TIMEZONE", "Mars/Olympus"), ("LOFI_RELEASE_HOUR", "noon")],
)
def test_a_bad_calendar_setting_stops_the_code_location_with_its_name(variable, value):
    result = _python("import lofi_assets.definitions", **{variable: value})
    assert result.returncode != 0
    assert "ConfigError" in result.stderr and f"{variable}" in result.stderr
    assert value in result.stderr


def test_mode_fields_are_enums_that_refuse_unknown_values_at_launch():
    job = defs.resolve_job_def("daily_release_job")
    ok = {"ops": {"video": {"config": {"motion": "static", "overlay": "rain"}}}}
    assert dg.validate_run_config(job, ok)["ops"]["video"]["config"]["motion"] == "static"
    for field, value in (("motion", "wobbly"), ("overlay", "snow")):
        with pytest.raises(dg.DagsterInvalidConfigError, match=f"not in enum type .* got {value}"):
            dg.validate_run_config(job, {"ops": {"video": {"config": {field: value}}}})
    with pytest.raises(pydantic.ValidationError, match="'auto', 'dry_run' or 'live'"):
        YouTubeResource(mode="upload")
    with pytest.raises(pydantic.ValidationError, match="'drop_folder' or 'sftp'"):
        DistributorResource(delivery="ftp")
