"""stems and mastered_wav through real Dagster runs on a short track."""

import hashlib
import json
import shutil

import dagster as dg
import numpy as np
import pytest

from lofi_assets.audio.wav import write_wav
from lofi_assets.defs.assets.compose import midi_sketch
from lofi_assets.defs.assets.produce import mastered_wav, stems
from lofi_assets.defs.partitions import track_partition_key
from lofi_assets.defs.resources import ArtifactStore, SoundFontResource
from lofi_assets_tests.conftest import assert_same_audio

DATE = "2026-11-27"
KEY = track_partition_key(DATE, "1")
SHORT_TRACK = {"ops": {"midi_sketch": {"config": {"duration_s": 25.0}}}}


def _run(resources, instance, selection=None, raise_on_error=True):
    return dg.materialize(
        [midi_sketch, stems, mastered_wav],
        partition_key=KEY,
        resources=resources,
        instance=instance,
        run_config=SHORT_TRACK if selection is None else None,
        selection=selection,
        raise_on_error=raise_on_error,
    )


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _failure_text(result) -> str:
    failure = result.get_step_failure_events()[0].step_failure_data
    return f"{failure.error.message if failure.error else ''} {failure.user_failure_data}"


@pytest.fixture
def produced(resources, instance, data_dir):
    result = _run(resources, instance)
    assert result.success
    return result


def test_a_partition_produces_stems_and_a_checked_master(produced, data_dir):
    stem_dir = data_dir / "stems" / DATE / "1"
    assert sorted(p.name for p in stem_dir.iterdir()) == sorted(
        [
            "ambience.wav",
            "bass.wav",
            "drums.wav",
            "keys.wav",
            "melody.wav",
            "pad.wav",
            "vinyl.wav",
            "record.json",
        ]
    )
    master_dir = data_dir / "mastered_wav" / DATE / "1"
    assert {p.name for p in master_dir.iterdir()} == {
        "master.wav",
        "preview.png",
        "fingerprint.json",
        "record.json",
    }
    evaluations = {e.check_name: e for e in produced.get_asset_check_evaluations()}
    failed = [name for name, e in evaluations.items() if not e.passed]
    assert not failed, failed
    assert {"integrated_loudness", "true_peak", "not_a_catalog_duplicate", "stems_complete"} <= set(
        evaluations
    )
    metadata = {
        event.asset_key.to_user_string(): event.materialization.metadata
        for event in produced.get_asset_materialization_events()
    }
    assert metadata["mastered_wav"]["integrated_lufs"].value == pytest.approx(-14.0, abs=0.5)
    assert "FluidR3_GM" in metadata["mastered_wav"]["soundfont"].value
    assert metadata["mastered_wav"]["preview"].value.startswith(
        "![waveform and spectrogram](data:image/png"
    )


def test_rematerializing_gives_the_same_master(produced, resources, instance, data_dir):
    master = data_dir / "mastered_wav" / DATE / "1" / "master.wav"
    shutil.copy(master, data_dir / "first_master.wav")
    assert _run(resources, instance, selection=[stems, mastered_wav]).success
    assert_same_audio(data_dir / "first_master.wav", master)


def test_a_copy_of_an_existing_master_is_flagged_as_a_duplicate(
    produced, resources, instance, data_dir
):
    earlier = data_dir / "mastered_wav" / "2026-11-26" / "1"
    shutil.copytree(data_dir / "mastered_wav" / DATE / "1", earlier)
    result = _run(resources, instance, selection=[mastered_wav], raise_on_error=False)
    assert not result.success  # the blocking check stops the run: nothing downstream publishes it
    check = {e.check_name: e for e in result.get_asset_check_evaluations()}[
        "not_a_catalog_duplicate"
    ]
    assert not check.passed
    assert check.metadata["most_similar_partition"].value == "2026-11-26|1"


def test_a_corrupt_midi_fails_clearly_and_keeps_the_previous_stems(
    produced, resources, instance, data_dir
):
    (data_dir / "midi_sketch" / DATE / "1" / "sketch.mid").write_bytes(b"MThd garbage")
    drums = data_dir / "stems" / DATE / "1" / "drums.wav"
    before = _sha256(drums)
    result = _run(resources, instance, selection=[stems], raise_on_error=False)
    assert not result.success
    assert "not a readable MIDI file" in _failure_text(result)
    assert _sha256(drums) == before
    assert not [p for p in (data_dir / "stems" / DATE).iterdir() if p.name.startswith(".")]


def test_a_missing_soundfont_names_the_fix(resources, instance, tmp_path):
    resources = {**resources, "soundfont": SoundFontResource(path=str(tmp_path / "nope.sf2"))}
    result = _run(resources, instance, raise_on_error=False)
    assert not result.success
    assert f"no such file: {tmp_path / 'nope.sf2'}" in _failure_text(result)  # as typed


@pytest.mark.parametrize(
    ("replacement", "message"),
    [
        (np.zeros((1, 1000), dtype=np.float32), "needs stereo"),
        (np.zeros((2, 0), dtype=np.float32), "no samples"),
    ],
)
def test_a_broken_stem_fails_mastering_and_keeps_the_master(
    produced, resources, instance, data_dir, replacement, message
):
    write_wav(data_dir / "stems" / DATE / "1" / "bass.wav", replacement, 44_100)
    master = data_dir / "mastered_wav" / DATE / "1" / "master.wav"
    before = _sha256(master)
    result = _run(resources, instance, selection=[mastered_wav], raise_on_error=False)
    assert not result.success
    assert message in _failure_text(result)
    assert _sha256(master) == before


def test_an_unwritable_data_dir_says_how_to_fix_it(resources, instance, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data root should be")
    store = ArtifactStore(data_dir=str(blocker / "data"))
    resources = {
        **resources,
        "artifact_store": store,
        "record_io_manager": resources["record_io_manager"].model_copy(update={"store": store}),
    }
    result = dg.materialize(
        [midi_sketch],
        partition_key=KEY,
        resources=resources,
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    assert "set LOFI_DATA_DIR" in _failure_text(result)


def test_stem_records_point_at_the_files(produced, data_dir):
    record = json.loads((data_dir / "stems" / DATE / "1" / "record.json").read_text())["fields"]
    assert set(record["stem_paths"]) == {
        "drums",
        "bass",
        "keys",
        "melody",
        "pad",
        "ambience",
        "vinyl",
    }
    assert all((data_dir / path).is_file() for path in record["stem_paths"].values())
