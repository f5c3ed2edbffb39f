"""The release mix: crossfades, chapters, gaps, streaming, and the Dagster asset."""

import subprocess
import sys

import dagster as dg
import numpy as np
import pytest

from lofi_assets.audio.measure import integrated_lufs, integrated_lufs_of_file
from lofi_assets.audio.release_mix import MixTrack, join_tracks, longest_gap_s
from lofi_assets.audio.wav import AudioFileError, read_wav, write_wav
from lofi_assets.defs.assets.compose import midi_sketch
from lofi_assets.defs.assets.produce import mastered_wav, stems
from lofi_assets.defs.assets.release import release_mix
from lofi_assets.defs.partitions import track_partition_key
from lofi_assets.errors import ConfigError

RATE = 44_100


def _noise_track(path, seconds, seed, level=0.1):
    audio = (np.random.default_rng(seed).standard_normal((2, int(seconds * RATE))) * level).astype(
        np.float32
    )
    return write_wav(path, audio, RATE)


def test_tracks_join_with_equal_power_crossfades_and_chapters(tmp_path):
    paths = [_noise_track(tmp_path / f"{i}.wav", 20.0, i) for i in range(3)]
    tracks = [MixTrack(p, f"Track {i}", 6.0) for i, p in enumerate(paths)]
    mix = join_tracks(tracks, tmp_path / "mix.wav")
    assert mix.duration_s == pytest.approx(60.0 - 2 * 6.0, abs=1e-3)
    assert [c.start_s for c in mix.chapters] == [0.0, 14.0, 28.0]
    assert [c.title for c in mix.chapters] == ["Track 0", "Track 1", "Track 2"]
    audio, _ = read_wav(mix.path)

    def rms_db(start_s, end_s):
        part = audio[:, int(start_s * RATE) : int(end_s * RATE)].astype(np.float64)
        return 10 * np.log10(np.mean(part**2))

    # Equal power: two uncorrelated signals cross without a dip or a bump.
    assert abs(rms_db(16.0, 18.0) - rms_db(5.0, 10.0)) < 0.5


def test_memory_does_not_grow_with_the_length_of_the_mix(tmp_path):
    track = _noise_track(tmp_path / "track.wav", 60.0, 1)
    code = (
        "import resource, sys; from pathlib import Path;"
        "from lofi_assets.audio.release_mix import MixTrack, join_tracks;"
        "n = int(sys.argv[1]); t = [MixTrack(Path(sys.argv[2]), 't', 6.0)] * n;"
        "join_tracks(t, Path(sys.argv[3]));"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    peaks = []
    for count in (2, 12):
        result = subprocess.run(
            [sys.executable, "-c", code, str(count), str(track), str(tmp_path / f"mix{count}.wav")],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        peaks.append(int(result.stdout) / 1024)
    assert peaks[1] - peaks[0] < 30  # MB: 12 minutes of mix cost what 2 minutes cost


def test_gaps_and_file_loudness_are_measured_while_streaming(tmp_path):
    audio = (np.random.default_rng(0).standard_normal((2, 10 * RATE)) * 0.1).astype(np.float32)
    audio[:, 4 * RATE : int(6.5 * RATE)] = 0.0
    path = write_wav(tmp_path / "gappy.wav", audio, RATE)
    assert longest_gap_s(path) == pytest.approx(2.5, abs=0.1)
    written, _ = read_wav(path)
    assert integrated_lufs_of_file(path) == pytest.approx(integrated_lufs(written, RATE), abs=1e-6)


def test_bad_inputs_are_refused(tmp_path):
    good = _noise_track(tmp_path / "good.wav", 20.0, 1)
    short = _noise_track(tmp_path / "short.wav", 5.0, 2)
    mono = write_wav(tmp_path / "mono.wav", np.zeros((1, RATE * 20), dtype=np.float32), RATE)
    with pytest.raises(ConfigError, match="Crossfades must be"):
        join_tracks([MixTrack(good, "a", 6.0), MixTrack(good, "b", 2.0)], tmp_path / "x.wav")
    with pytest.raises(AudioFileError, match="shorter than its crossfades"):
        join_tracks(
            [MixTrack(good, "a", 6.0), MixTrack(short, "b", 6.0), MixTrack(good, "c", 6.0)],
            tmp_path / "x.wav",
        )
    with pytest.raises(AudioFileError, match="stereo"):
        join_tracks([MixTrack(good, "a", 6.0), MixTrack(mono, "b", 6.0)], tmp_path / "x.wav")
    with pytest.raises(ConfigError, match="at least one"):
        join_tracks([], tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()


def test_release_mix_asset_joins_every_slot_of_the_day(resources, instance, data_dir):
    config = {"ops": {"midi_sketch": {"config": {"duration_s": 20.0}}}}
    for slot in ("1", "2", "3"):
        assert dg.materialize(
            [midi_sketch, stems, mastered_wav],
            partition_key=track_partition_key("2026-11-27", slot),
            resources=resources,
            instance=instance,
            run_config=config,
        ).success
    result = dg.materialize(
        [midi_sketch, stems, mastered_wav, release_mix],
        partition_key="2026-11-27",
        resources=resources,
        instance=instance,
        selection=[release_mix],
    )
    assert result.success
    evaluations = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert evaluations == {
        "mix_loudness": True,
        "no_gaps": True,
        "smooth_crossfades": True,
        "chapters_valid": True,
    }
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["tracks"].value == 3
    assert (data_dir / "release_mix" / "2026-11-27" / "mix.wav").is_file()
    assert (data_dir / "release_mix" / "2026-11-27" / "chapters.json").is_file()
