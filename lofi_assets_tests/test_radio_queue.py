"""``radio_queue``: tomorrow's playlist, half fresh at least, no repeats within 7 days, every
track at -14 ± 1 LUFS; its three blocking checks on passing and failing queues."""

from __future__ import annotations

import json
import math
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
import soundfile

from lofi_assets.audio.measure import integrated_lufs_of_file
from lofi_assets.audio.radio_feed import RadioFeed, RadioTrack
from lofi_assets.audio.radio_queue import (
    QUEUE_FILE,
    QueueEntry,
    RadioQueue,
    RadioQueueError,
    build_radio_queue,
    read_radio_queue,
)
from lofi_assets.defs.assets.radio import (
    catalog_entries,
    earlier_queues,
    radio_queue,
)
from lofi_assets.defs.assets.radio_checks import radio_queue_check_results
from lofi_assets.defs.records import MasterRecord, record_to_document
from lofi_assets.defs.resources import ArtifactStore
from lofi_assets.storage import write_json_atomic

RATE_HZ = 44_100


def tone_master(path: Path, frequency_hz: float, seconds: float, lufs: float = -14.0) -> Path:
    """A stereo tone scaled to ``lufs`` (measured, then corrected once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * RATE_HZ)) / RATE_HZ
    tone = np.sin(2 * math.pi * frequency_hz * t).astype(np.float32) * 0.1
    soundfile.write(path, np.stack([tone, tone], 1), RATE_HZ, subtype="FLOAT")
    gain = 10 ** ((lufs - integrated_lufs_of_file(path)) / 20)
    soundfile.write(path, np.stack([tone, tone], 1) * gain, RATE_HZ, subtype="FLOAT")
    return path


def catalog_master(data_dir: Path, date: str, slot: str, frequency_hz: float) -> None:
    """A published mastered_wav partition: its master and its record, as the asset writes them."""
    folder = data_dir / "mastered_wav" / date / slot
    wav = tone_master(folder / "master.wav", frequency_hz, 20.0)
    record = MasterRecord(
        wav_path=str(wav.relative_to(data_dir)), preview_path="", fingerprint_path="",
        integrated_lufs=round(integrated_lufs_of_file(wav), 3), true_peak_dbtp=-3.0,
        duration_s=20.0, style="jazz", bpm=80.0,
    )  # fmt: skip
    write_json_atomic(folder / "record.json", record_to_document(record))


def entry(track_id: str, duration_s: float = 60.0, lufs: float = -14.0, fresh=False):
    return QueueEntry(track_id, f"/x/{track_id}.wav", track_id, "jazz", duration_s, lufs, fresh)


def test_queue_is_half_fresh_and_skips_the_last_weeks_tracks():
    catalog = [entry(f"2026-11-{day:02d}|1") for day in range(1, 11)]
    made: list[int] = []

    def fresh(number: int) -> QueueEntry:
        made.append(number)
        return entry(f"radio:2026-12-01:{number}", fresh=True)

    played = {"2026-11-01|1", "2026-11-02|1", "2026-11-03|1"}
    queue = build_radio_queue("2026-12-01", catalog, played, 600.0, 4.0, fresh)
    assert queue.length_s >= 600 and queue.fresh_count * 2 >= len(queue.entries)
    assert made == list(range(queue.fresh_count))
    ids = [e.track_id for e in queue.entries]
    assert len(set(ids)) == len(ids) and not set(ids) & played
    # The same inputs, the same queue (seeded by the date); the catalog running dry → fresh.
    assert build_radio_queue("2026-12-01", catalog, played, 600.0, 4.0, fresh) == queue
    dry = build_radio_queue("2026-12-01", catalog[:4], played, 600.0, 4.0, fresh)
    assert [e.fresh for e in dry.entries].count(False) == 1
    with pytest.raises(RadioQueueError, match="raise fresh_fraction"):
        build_radio_queue("2026-12-01", catalog[:2], set(), 600.0, 4.0, fresh, fresh_fraction=0)


def test_queue_checks_pass_a_good_queue_and_fail_each_bad_one():
    good = RadioQueue("2026-12-02", 4.0, (entry("a", 100), entry("b", 100)))
    passed = {r.check_name: r.passed for r in radio_queue_check_results(good, [], 190.0)}
    assert passed == {"queue_length": True, "no_repeats": True, "track_loudness": True}

    short = {r.check_name: r for r in radio_queue_check_results(good, [], 24 * 3600.0)}
    assert not short["queue_length"].passed and short["no_repeats"].passed
    assert short["queue_length"].metadata["min_length_h"].value == 24.0

    yesterday = RadioQueue("2026-12-01", 4.0, (entry("b"),))
    eight_days = radio_queue_check_results(good, [yesterday], 190.0)
    repeated = {r.check_name: r for r in eight_days}
    assert (
        not repeated["no_repeats"].passed
        and repeated["no_repeats"].metadata["repeated"].value == "b"
    )
    twice = RadioQueue("2026-12-02", 4.0, (entry("a"), entry("a")))
    assert not {r.check_name: r.passed for r in radio_queue_check_results(twice, [], 1)}[
        "no_repeats"
    ]

    loud = RadioQueue("2026-12-02", 4.0, (entry("a", 100), entry("hot", 100, lufs=-12.6)))
    verdict = {r.check_name: r for r in radio_queue_check_results(loud, [], 190.0)}
    assert not verdict["track_loudness"].passed
    assert verdict["track_loudness"].metadata["outliers"].value == "hot -12.6 LUFS"


def test_radio_queue_asset_renders_fresh_tracks_and_never_repeats_within_7_days(
    data_dir: Path, resources: dict, instance
):
    catalog_master(data_dir, "2026-11-20", "1", 330.0)
    catalog_master(data_dir, "2026-11-21", "1", 440.0)
    store = ArtifactStore(data_dir=str(data_dir))
    # Yesterday's queue (partition 2026-11-29) played 2026-11-20|1: today's must not.
    write_json_atomic(
        data_dir / "radio_queue" / "2026-11-29" / QUEUE_FILE,
        RadioQueue("2026-11-30", 4.0, catalog_entries(store)[:1]).to_document(),
    )
    result = dg.materialize(
        [radio_queue],
        partition_key="2026-11-30",
        resources=resources,
        instance=instance,
        run_config={
            "ops": {"radio_queue": {"config": {"min_length_s": 25.0, "fresh_track_s": 20.0}}}
        },
    )
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"queue_length": True, "no_repeats": True, "track_loudness": True}
    queue = read_radio_queue(data_dir / "radio_queue" / "2026-11-30" / QUEUE_FILE)
    assert queue.date == "2026-12-01"  # prepared a day ahead
    assert [e.track_id for e in queue.entries] == ["radio:2026-12-01:0", "2026-11-21|1"]
    fresh = queue.entries[0]
    assert fresh.fresh and Path(fresh.path).is_file() and abs(fresh.loudness_lufs + 14) <= 1
    assert abs(integrated_lufs_of_file(fresh.path) + 14) <= 1
    assert " in " in fresh.title and "BPM" in fresh.title  # style, key and tempo for the overlay
    assert queue.length_s >= 25
    assert len(earlier_queues(store, "2026-11-30")) == 1
    # The radio plays it: the feed opens every track of the queue.
    feed = RadioFeed([RadioTrack(Path(e.path), e.title, e.style) for e in queue.entries], 4.0)
    assert feed.read(RATE_HZ).shape == (RATE_HZ, 2)
    record = json.loads((data_dir / "radio_queue" / "2026-11-30" / "record.json").read_text())
    assert record["fields"]["plays_on"] == "2026-12-01" and record["fields"]["fresh_tracks"] == 1
