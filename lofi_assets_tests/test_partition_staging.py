"""Work in flight is never a catalog entry: staging is hidden, one writer per partition
folder, a killed writer's leftovers are removed when the partition next runs; backfill-style
(partition-range) runs keep each record in its partition's folder."""

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from lofi_assets.defs.assets.compose import midi_sketch
from lofi_assets.defs.assets.produce import FINGERPRINT_FILE, _nearest_master
from lofi_assets.defs.assets.publish import analytics_snapshot
from lofi_assets.defs.resources import ArtifactStore
from lofi_assets.storage import (
    FRESH_TEMPORARY_S,
    PartitionBusyError,
    atomic_directory,
    write_bytes_atomic,
)


def _writer(target: Path, then: str) -> subprocess.Popen:
    """Another process inside ``atomic_directory(target)`` with 2 MB staged, which then
    ``then``: "die" (SIGKILL, as a killed run) or "hold" (a live run of the same partition)."""
    script = textwrap.dedent(f"""
        import os, signal, sys, time
        from lofi_assets.storage import atomic_directory
        with atomic_directory({str(target)!r}) as staging:
            (staging / "stem.wav").write_bytes(bytes(2_000_000))
            print("staged", flush=True)
            if {then!r} == "die":
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(60)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "staged"
    return process


def _hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".") and p.is_dir())


def test_a_killed_writers_staging_is_removed_when_the_partition_next_runs(tmp_path):
    target = tmp_path / "stems" / "2026-11-27" / "1"
    killed = _writer(target, "die")
    assert killed.wait(timeout=30) == -9
    assert len(_hidden(target.parent)) == 1, "the killed run left its staging"
    with atomic_directory(target) as staging:
        (staging / "stem.wav").write_bytes(b"new")
    assert _hidden(target.parent) == []
    assert (target / "stem.wav").read_bytes() == b"new"


def test_a_second_writer_of_the_same_partition_is_refused_as_already_running(tmp_path):
    target = tmp_path / "mastered_wav" / "2026-11-27" / "1"
    live = _writer(target, "hold")
    try:
        with pytest.raises(PartitionBusyError, match="already running"), atomic_directory(target):
            pass
        assert len(_hidden(target.parent)) == 1, "the live run's staging is left alone"
    finally:
        live.kill()
        live.wait()
    with atomic_directory(target) as staging:  # the partition is free again
        (staging / "master.wav").write_bytes(b"ok")
    assert _hidden(target.parent) == []


def test_an_abandoned_temporary_file_is_removed_and_a_fresh_one_kept(tmp_path):
    target = tmp_path / "release_mix" / "2026-11-27" / "mix.wav"
    target.parent.mkdir(parents=True)
    abandoned = target.parent / ".mix.wav.killed.tmp"
    abandoned.write_bytes(bytes(1000))
    old = time.time() - FRESH_TEMPORARY_S - 60
    os.utime(abandoned, (old, old))
    just_made = target.parent / ".mix.wav.other.tmp"  # a writer that has not locked it yet
    just_made.write_bytes(b"")
    write_bytes_atomic(target, b"mix")
    assert not abandoned.exists() and just_made.exists()
    assert target.read_bytes() == b"mix"


def test_the_duplicate_check_ignores_staging_and_its_own_partition(tmp_path):
    store = ArtifactStore(data_dir=str(tmp_path))
    segments = np.random.default_rng(7).random((12, 40), dtype=np.float32)
    fingerprint = segments / np.linalg.norm(segments, axis=0)  # (12, segments), unit columns
    own = store.partition_dir("mastered_wav", "2026-11-27|1")
    for folder in (own, own.parent / ".1.abc.tmp", own.parent / ".2.def.old" / "previous"):
        folder.mkdir(parents=True)
        (folder / FINGERPRINT_FILE).write_text(json.dumps(fingerprint.tolist()))
    assert _nearest_master(store, own, fingerprint) == (None, 0.0)
    other = store.partition_dir("mastered_wav", "2026-11-28|3")
    other.mkdir(parents=True)
    (other / FINGERPRINT_FILE).write_text(json.dumps(fingerprint.tolist()))
    key, similarity = _nearest_master(store, own, fingerprint)
    assert key == "2026-11-28|3" and similarity == pytest.approx(1.0)


def _range_tags(key: str) -> dict[str, str]:
    """The tags of a backfill run over one partition (what launchPartitionBackfill sets)."""
    return {
        "dagster/asset_partition_range_start": key,
        "dagster/asset_partition_range_end": key,
    }


def test_a_partition_range_run_writes_each_record_in_its_own_folder(resources, data_dir, instance):
    for key in ("2026-11-27|2", "2026-11-28|3"):
        assert dg.materialize(
            [midi_sketch],
            resources=resources,
            instance=instance,
            tags=_range_tags(key),
            run_config={"ops": {"midi_sketch": {"config": {"duration_s": 20.0}}}},
        ).success
        date, slot = key.split("|")
        record = json.loads((data_dir / "midi_sketch" / date / slot / "record.json").read_text())
        assert record["fields"]["midi_path"] == f"midi_sketch/{date}/{slot}/sketch.mid"
    for date in ("2026-11-27", "2026-11-28"):
        assert dg.materialize(
            [analytics_snapshot], resources=resources, instance=instance, tags=_range_tags(date)
        ).success
        record = json.loads((data_dir / "analytics_snapshot" / date / "record.json").read_text())
        assert record["fields"]["snapshot_date"] == date
    assert not (data_dir / "midi_sketch" / "record.json").exists()
    assert not (data_dir / "analytics_snapshot" / "record.json").exists()


@pytest.mark.parametrize("tags_of", [lambda key: {"dagster/partition": key}, _range_tags])
def test_a_track_already_running_is_refused_before_anything_is_written(
    resources, data_dir, instance, tags_of
):
    key = "2026-11-27|2"
    job = dg.Definitions(assets=[midi_sketch], resources=resources)
    running = instance.create_run_for_job(
        job_def=job.resolve_implicit_global_asset_job_def(),
        tags=tags_of(key),
        status=dg.DagsterRunStatus.STARTED,
    )
    result = dg.materialize(
        [midi_sketch], partition_key=key, resources=resources, instance=instance,
        raise_on_error=False,
    )  # fmt: skip
    assert not result.success
    message = result.get_step_failure_events()[0].step_failure_data.error.message
    assert f"midi_sketch {key} is already running in run {running.run_id[:8]}" in message
    assert not (data_dir / "midi_sketch").exists()
    instance.report_run_canceled(running)  # once it has ended, the partition runs again
    assert dg.materialize(
        [midi_sketch], partition_key=key, resources=resources, instance=instance,
        run_config={"ops": {"midi_sketch": {"config": {"duration_s": 20.0}}}},
    ).success  # fmt: skip


def test_a_release_of_a_day_without_tracks_names_every_missing_slot(resources, instance):
    from lofi_assets.defs.assets.produce import mastered_wav, stems
    from lofi_assets.defs.assets.release import release_mix

    result = dg.materialize(
        [midi_sketch, stems, mastered_wav, release_mix], selection=[release_mix],
        partition_key="2026-11-26", resources=resources, instance=instance, raise_on_error=False,
    )  # fmt: skip
    assert not result.success
    error = result.get_step_failure_events()[0].step_failure_data.error
    message = error.cause.message  # under Dagster's "Error occurred while loading input"
    assert "2026-11-26|1, 2026-11-26|2, 2026-11-26|3" in message
    assert "materialize them first" in message
