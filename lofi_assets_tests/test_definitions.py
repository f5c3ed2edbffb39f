import datetime as dt
import shutil

import dagster as dg
import yaml

from lofi_assets.definitions import defs
from lofi_assets.defs.automation import daily_release_schedule
from lofi_assets.defs.partitions import release_dates, track_partitions
from lofi_assets.defs.pools import POOL_LIMITS
from lofi_assets.defs.resources import ChannelConfig
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
