"""midi_sketch through real Dagster: materialize, re-materialize, checks, IO, bad config."""

import dataclasses
from pathlib import Path

import dagster as dg
import pytest

from lofi_assets.defs.assets.compose import midi_sketch
from lofi_assets.defs.assets.compose_checks import sketch_check_results
from lofi_assets.defs.partitions import release_dates, track_partition_key
from lofi_assets.defs.records import SketchRecord
from lofi_assets.defs.resources import ChannelConfig
from lofi_assets.music.plan_record import read_plan_record

DATE = "2026-11-27"


def _materialize(resources, instance, slot="1", run_config=None, raise_on_error=True):
    return dg.materialize(
        [midi_sketch],
        partition_key=track_partition_key(DATE, slot),
        resources=resources,
        instance=instance,
        run_config=run_config,
        raise_on_error=raise_on_error,
    )


def _sketch_dir(data_dir: Path, slot: str = "1") -> Path:
    return data_dir / "midi_sketch" / DATE / slot


def test_materializing_a_partition_writes_the_sketch_layout(resources, instance, data_dir):
    result = _materialize(resources, instance)
    assert result.success
    folder = _sketch_dir(data_dir)
    assert sorted(p.name for p in folder.iterdir()) == [
        "piano_roll.png", "plan.json", "record.json", "sketch.mid"
    ]  # fmt: skip
    assert not list(folder.glob(".*.tmp"))  # atomic writes leave no temporaries
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    for name in ("style", "key", "bpm", "bars", "duration_s", "progression_A", "midi_path"):
        assert name in metadata
    assert metadata["piano_roll"].value.startswith("![piano roll](data:image/png;base64,")
    evaluations = result.get_asset_check_evaluations()
    assert {e.check_name for e in evaluations} == {
        "midi_parses", "tempo_matches_plan", "pitched_notes_in_key", "duration_matches_target",
        "melody_original",
    }  # fmt: skip
    assert all(e.passed for e in evaluations)


def test_rematerializing_gives_byte_identical_midi(resources, instance, data_dir):
    _materialize(resources, instance)
    first = (_sketch_dir(data_dir) / "sketch.mid").read_bytes()
    first_plan = (_sketch_dir(data_dir) / "plan.json").read_bytes()
    _materialize(resources, instance)
    assert (_sketch_dir(data_dir) / "sketch.mid").read_bytes() == first
    assert (_sketch_dir(data_dir) / "plan.json").read_bytes() == first_plan


def test_every_slot_of_a_day_is_a_different_track(resources, instance, data_dir):
    for slot in ("1", "2", "3"):
        _materialize(resources, instance, slot=slot)
    sketches = {(_sketch_dir(data_dir, s) / "sketch.mid").read_bytes() for s in ("1", "2", "3")}
    assert len(sketches) == 3
    materialized = instance.get_materialized_partitions(midi_sketch.key)
    assert {f"{DATE}|1", f"{DATE}|2", f"{DATE}|3"} <= set(materialized)


def test_config_overrides_reach_the_plan(resources, instance, data_dir):
    config = {
        "ops": {
            "midi_sketch": {
                "config": {
                    "style": "rainy_day",
                    "tonic": "F#",
                    "mode": "minor",
                    "bpm": 70,
                    "duration_s": 25,
                }
            }
        }
    }
    assert _materialize(resources, instance, run_config=config).success
    plan = (_sketch_dir(data_dir) / "plan.json").read_text()
    assert '"style": "rainy_day"' in plan and '"key": "F# aeolian"' in plan and '"bpm": 70' in plan


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"style": "polka"}, "Unknown style 'polka'"),
        ({"tonic": "H"}, "Unknown key 'H'"),
        ({"mode": "klingon"}, "Unknown mode 'klingon'"),
    ],
)
def test_bad_config_fails_clearly_and_writes_nothing(
    resources, instance, data_dir, overrides, message
):
    config = {"ops": {"midi_sketch": {"config": overrides}}}
    result = _materialize(resources, instance, run_config=config, raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data
    assert message in failure.error.message or message in str(failure.user_failure_data)
    assert not (data_dir / "midi_sketch").exists()


@pytest.mark.parametrize("bpm", [39.0, 201.0])
def test_bpm_outside_40_to_200_is_rejected_in_words(resources, instance, data_dir, bpm):
    config = {"ops": {"midi_sketch": {"config": {"bpm": bpm}}}}
    result = _materialize(resources, instance, run_config=config, raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data
    assert f"BPM {bpm} is outside 40–200" in failure.error.message
    assert not (data_dir / "midi_sketch").exists()


def test_every_bad_value_is_named_in_one_failed_run(resources, instance, data_dir):
    config = {"ops": {"midi_sketch": {"config": {"style": "polka", "tonic": "H", "bpm": 500.0}}}}
    result = _materialize(resources, instance, run_config=config, raise_on_error=False)
    assert not result.success
    message = result.get_step_failure_events()[0].step_failure_data.error.message
    for named in ("3 problems", "Unknown style 'polka'", "Unknown key 'H'", "BPM 500.0"):
        assert named in message
    assert not (data_dir / "midi_sketch").exists()


def test_a_slot_the_channel_does_not_publish_is_rejected(resources, instance, data_dir):
    resources = {**resources, "channel": ChannelConfig(slots=["1", "2"])}
    result = _materialize(resources, instance, slot="3", raise_on_error=False)
    assert not result.success
    assert "Slot '3' is not one of this channel's slots" in str(
        result.get_step_failure_events()[0].step_failure_data.user_failure_data
    )
    assert not (data_dir / "midi_sketch").exists()


def test_an_invalid_partition_key_is_refused_by_dagster(resources, instance):
    with pytest.raises(Exception, match="partition"):
        dg.materialize(
            [midi_sketch], partition_key=f"{DATE}|7", resources=resources, instance=instance
        )


def test_checks_fail_on_a_corrupt_midi_file(tmp_path):
    corrupt = tmp_path / "sketch.mid"
    corrupt.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    results = sketch_check_results(
        corrupt, {"bpm": 80, "tonic_pc": 0, "mode": "ionian", "target_duration_s": 180}
    )
    assert len(results) == 5 and not any(r.passed for r in results)
    assert "not a readable MIDI file" in str(results[0].metadata["reason"].value)


def test_checks_catch_a_tempo_that_disagrees_with_the_plan(resources, instance, data_dir):
    _materialize(resources, instance)
    recorded = read_plan_record(_sketch_dir(data_dir) / "plan.json")
    plan = dataclasses.replace(recorded, bpm=recorded.bpm + 5)
    results = {
        r.check_name: r for r in sketch_check_results(_sketch_dir(data_dir) / "sketch.mid", plan)
    }
    assert not results["tempo_matches_plan"].passed
    assert results["midi_parses"].passed


def test_downstream_steps_receive_records_not_arrays(resources, instance, data_dir):
    """A track-partitioned consumer gets one record; a daily consumer gets every slot."""

    @dg.asset(partitions_def=midi_sketch.partitions_def, io_manager_key="record_io_manager")
    def track_consumer(midi_sketch: SketchRecord) -> None:
        assert (data_dir / midi_sketch.midi_path).read_bytes().startswith(b"MThd")

    @dg.asset(
        partitions_def=release_dates,
        ins={
            "midi_sketch": dg.AssetIn(
                partition_mapping=dg.MultiToSingleDimensionPartitionMapping(
                    partition_dimension_name="date"
                )
            )
        },
    )
    def day_consumer(midi_sketch: dict[str, SketchRecord]) -> dg.MaterializeResult:
        assert len(midi_sketch) == 3
        assert all(isinstance(record, SketchRecord) for record in midi_sketch.values())
        return dg.MaterializeResult(metadata={"tracks": len(midi_sketch)})

    for slot in ("1", "2", "3"):
        assert dg.materialize(
            [midi_sketch, track_consumer],
            partition_key=track_partition_key(DATE, slot),
            resources=resources,
            instance=instance,
        ).success
    result = dg.materialize(
        [midi_sketch.to_source_assets()[0], day_consumer],
        partition_key=DATE,
        resources=resources,
        instance=instance,
        selection=[day_consumer],
    )
    assert result.success
