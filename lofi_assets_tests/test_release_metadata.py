"""Release metadata: the formula, YouTube's limits (a test per rule), determinism, the asset."""

import json

import dagster as dg
import pytest

from lofi_assets.defs.assets.compose import midi_sketch
from lofi_assets.defs.assets.produce import mastered_wav, stems
from lofi_assets.defs.assets.release import release_metadata, release_mix
from lofi_assets.defs.partitions import track_partition_key
from lofi_assets.publish.metadata import (
    MAX_TAGS_CHARS,
    TrackFacts,
    build_metadata,
    fit_tags,
    problems,
    tags_length,
    timestamp,
)

TRACKS = [
    TrackFacts("jazz", "Jazz", "D dorian", 85, "cafe", 59, 1),
    TrackFacts("study", "Study", "Db ionian", 81, "rain_light", 24, 2),
    TrackFacts("ambient", "Ambient", "Bb lydian", 67, "nature_birds", 11, 3),
]


def _metadata(**overrides):
    arguments = dict(
        channel_name="Lofi Empire", artist="Lofi Empire", timezone="Europe/Berlin",
        date="2026-11-27", tracks=TRACKS, chapter_starts_s=[0.0, 176.7, 348.3], duration_s=553.6,
    )  # fmt: skip
    arguments.update(overrides)
    return build_metadata(**arguments).to_document()


def test_metadata_is_complete_and_valid():
    metadata = _metadata()
    assert problems(metadata) == []
    description = metadata["description"]
    assert description.splitlines()[0]  # an opening hook
    for line in ("0:00 ", "2:56 ", "5:48 "):
        assert line in description
    for phrase in ("Subscribe", "AI disclosure", "Licence", "Credits"):
        assert phrase in description
    assert metadata["tags"][:2] == ["lofi", "lofi hip hop"]
    assert tags_length(metadata["tags"]) <= MAX_TAGS_CHARS
    assert len(metadata["playlists"]) == 3 and "Autumn Lofi" in metadata["playlists"]
    assert metadata["category_id"] == "10" and metadata["contains_synthetic_media"] is True


def test_publish_time_falls_in_a_best_hours_window_of_the_channel_timezone():
    metadata = _metadata()
    local = metadata["publish_at_local"]
    assert local.startswith("2026-11-27T") and local.endswith("+01:00")
    hour = int(local[11:13])
    assert 14 <= hour < 16 or 20 <= hour < 22
    assert metadata["publish_at_utc"].endswith("Z")


def test_same_date_gives_the_same_metadata_and_dates_differ():
    assert json.dumps(_metadata()) == json.dumps(_metadata())
    assert _metadata()["title"] != _metadata(date="2026-11-28")["title"] or (
        _metadata()["publish_at_utc"] != _metadata(date="2026-11-28")["publish_at_utc"]
    )


def test_every_title_template_fits_youtube():
    titles = {
        _metadata(date=f"2026-{month:02d}-{day:02d}")["title"]
        for month in (1, 6, 11)
        for day in range(1, 29)
    }
    assert len(titles) > 25
    assert all(len(title) <= 100 and "<" not in title and ">" not in title for title in titles)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda m: m.update(title="x" * 101), "title is 101 characters"),
        (lambda m: m.update(title="beats <3"), "title contains < or >"),
        (lambda m: m.update(description="y" * 5001), "description is 5001 bytes"),
        (lambda m: m.update(tags=["t" * 60] * 10), "tags take"),
        (lambda m: m.update(tags=["lofi, jazz"]), "tag 'lofi, jazz' contains a comma"),
        (lambda m: m.update(tags=["<3 lofi"]), "tag '<3 lofi' contains < or >"),
        (lambda m: m.update(title="\u200b"), "title is empty"),  # a zero-width space alone
        (lambda m: m.update(description="\ufeff\n" + m["description"]), "first line is empty"),
        (lambda m: m["playlists"].append("\u3164"), "playlist 4 title is empty"),
        (lambda m: m["chapters"][0].update(start_s=5.0), "first chapter must start at 0:00"),
        (lambda m: m.update(chapters=m["chapters"][:2]), "at least 3"),
        (lambda m: m["chapters"][2].update(start_s=100.0), "must ascend"),
        (lambda m: m["chapters"][1].update(start_s=4.0), "at least 10 s"),
    ],
)
def test_the_validator_rejects_each_broken_rule(change, problem):
    metadata = _metadata()
    change(metadata)
    assert any(problem in found for found in problems(metadata))


def test_tags_are_fitted_to_the_limit_in_priority_order():
    tags = fit_tags(["lofi"] + [f"tag number {i}" for i in range(100)], limit=60)
    assert tags[0] == "lofi" and tags_length(tags) <= 60
    assert tags_length(["a b", "c"]) == len("a b") + 2 + 1 + 1


def test_timestamps_follow_youtube_chapter_format():
    assert [timestamp(s) for s in (0, 65.4, 3_725)] == ["0:00", "1:05", "1:02:05"]


def test_release_metadata_asset_writes_a_valid_document(resources, instance, data_dir):
    config = {"ops": {"midi_sketch": {"config": {"duration_s": 20.0}}}}
    for slot in ("1", "2", "3"):
        assert dg.materialize(
            [midi_sketch, stems, mastered_wav],
            partition_key=track_partition_key("2026-11-27", slot),
            resources=resources, instance=instance, run_config=config,
        ).success  # fmt: skip
    everything = [midi_sketch, stems, mastered_wav, release_mix, release_metadata]
    result = dg.materialize(
        everything, partition_key="2026-11-27", resources=resources, instance=instance,
        selection=[release_mix, release_metadata],
    )  # fmt: skip
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    path = data_dir / "release_metadata" / "2026-11-27" / "metadata.json"
    first = path.read_bytes()
    document = json.loads(first)
    assert len(document["chapters"]) == 3 and document["chapters"][0]["start_s"] == 0.0
    assert dg.materialize(
        everything, partition_key="2026-11-27", resources=resources, instance=instance,
        selection=[release_metadata],
    ).success  # fmt: skip
    assert path.read_bytes() == first
