"""The named seams for what runs beside the asset graph: the melody model's files, the style
boosts and other partitions' records, each read through one resource method."""

import dataclasses

from lofi_assets.defs.records import SketchRecord, record_to_document
from lofi_assets.defs.resources import ArtifactStore, MelodyModelResource, StyleBoostStore
from lofi_assets.publish.feedback import StyleBoost
from lofi_assets.storage import write_json_atomic


def test_no_melody_model_until_its_report_is_written(tmp_path):
    models = MelodyModelResource(store=ArtifactStore(data_dir=str(tmp_path)))
    assert models.folder() == tmp_path.resolve() / "melody_model" / "current"
    models.folder().mkdir(parents=True)
    assert models.load() is None  # a folder being written is no model yet


def test_a_style_boost_is_stored_once_per_video(tmp_path):
    boosts = StyleBoostStore(store=ArtifactStore(data_dir=str(tmp_path)))
    assert boosts.read() == []
    boost = StyleBoost("jazz", 2.0, "2026-11-28", "dQw4w9WgXcQ", "1800 views in 48 h")
    assert boosts.add(boost) and not boosts.add(dataclasses.replace(boost, style="cafe"))
    assert boosts.read() == [boost]
    assert boosts.path == tmp_path.resolve() / "feedback" / "style_boosts.json"


def test_another_partitions_record_is_read_as_its_type(tmp_path):
    store = ArtifactStore(data_dir=str(tmp_path))
    assert store.read_record("midi_sketch", "2026-11-27|1") is None
    record = SketchRecord("a.mid", "plan.json", "roll.png", 7, "jazz", "F dorian", 72.0, 32, 106.7)
    folder = store.partition_dir("midi_sketch", "2026-11-27|1")
    write_json_atomic(folder / "record.json", record_to_document(record))
    assert store.read_record("midi_sketch", "2026-11-27|1") == record
