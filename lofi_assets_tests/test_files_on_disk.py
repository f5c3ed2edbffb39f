"""Files already on disk (issue 14): a WAV or MP4 cut short is refused with both lengths, a
blocking check judges staged files before they replace the previous good version, and a full
disk is named (path and size), not retried, and leaves nothing half-written."""

import contextlib
import os
import re
import subprocess
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
import soundfile
from PIL import Image

from lofi_assets.audio.instruments import InstrumentLibrary, load_library
from lofi_assets.audio.measure import integrated_lufs, integrated_lufs_of_file
from lofi_assets.audio.release_mix import MixTrack, join_tracks, longest_gap_s
from lofi_assets.audio.sampler import DrumSampleError, build_kit
from lofi_assets.audio.soundfont import resolve_soundfont
from lofi_assets.audio.wav import (
    AudioFileError,
    TruncatedWavError,
    read_wav,
    wav_file,
    write_faded_excerpt,
    write_wav,
    write_wav_blocks,
)
from lofi_assets.defs.assets.compose import midi_sketch
from lofi_assets.defs.assets.produce import mastered_wav, stems
from lofi_assets.defs.assets.release import release_mix, thumbnail, video
from lofi_assets.defs.partitions import track_partition_key
from lofi_assets.defs.records import RECORD_FILE, MasterRecord, record_to_document
from lofi_assets.defs.resources import ArtifactStore
from lofi_assets.storage import DiskFullError, write_bytes_atomic, write_json_atomic
from lofi_assets.visual.video import TruncatedVideoError, encode_static, probe
from lofi_assets_tests.conftest import make_resources

RATE = 44_100
DATE = "2026-11-27"


def _noise(seconds: float, seed: int, level: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((2, round(seconds * RATE))) * level).astype(np.float32)


def _truncate(path: Path, fraction: float) -> None:
    with path.open("r+b") as handle:
        handle.truncate(int(path.stat().st_size * fraction))


# --- WAV and MP4 read against their headers ----------------------------------------------


@pytest.mark.parametrize(("fraction", "held_s"), [(0.7, 2.8), (0.5, 2.0)])
def test_a_wav_cut_short_is_refused_by_every_reader(tmp_path, fraction, held_s):
    path = write_wav(tmp_path / "master.wav", _noise(4.0, 1), RATE)
    with wav_file(path) as whole:  # the whole file passes and reads at its full length
        assert whole.frames == 4 * RATE
    _truncate(path, fraction)
    # The 44-byte header leaves the audio a few bytes over the fraction.
    held = rf"{held_s:.2f} s of audio|{held_s + 0.01:.2f} s of audio"
    readers = [
        lambda: read_wav(path),
        lambda: wav_file(path),
        lambda: integrated_lufs_of_file(path),
        lambda: longest_gap_s(path),
        lambda: write_faded_excerpt(path, tmp_path / "excerpt.wav", 0.0, 1.0),
    ]
    for read in readers:
        with pytest.raises(TruncatedWavError) as refused:
            read()
        message = str(refused.value)
        assert str(path) in message
        assert "declares 4.00 s of audio (1,058,400 bytes)" in message
        assert any(s in message for s in held.split("|")), message
    assert not (tmp_path / "excerpt.wav").exists()


def test_a_wav_whose_tags_are_cut_off_is_refused(tmp_path):
    path = write_wav(tmp_path / "tagged.wav", _noise(1.0, 2), RATE)
    payload = bytearray(path.read_bytes())
    payload += b"LIST" + (400).to_bytes(4, "little") + bytes(400)  # a tag chunk after the audio
    payload[4:8] = (len(payload) - 8).to_bytes(4, "little")
    path.write_bytes(bytes(payload))
    assert read_wav(path)[0].shape == (2, RATE)  # whole: read as it is
    path.write_bytes(bytes(payload[:-200]))
    with pytest.raises(TruncatedWavError, match=rf"declares {len(payload):,} bytes"):
        read_wav(path)


def _with_sizes(whole: bytes, riff: int | None = None, data: int | None = None) -> bytes:
    """``whole`` (a WAV) with its RIFF and/or ``data`` size fields set to ``riff`` / ``data``."""
    edited = bytearray(whole)
    if riff is not None:
        edited[4:8] = riff.to_bytes(4, "little")
    if data is not None:
        at = whole.index(b"data", 12) + 4
        edited[at : at + 4] = data.to_bytes(4, "little")
    return bytes(edited)


def test_wavs_of_every_size_convention_are_read_whole(tmp_path):
    """Streaming writers leave sizes they could not know — 0xFFFFFFFF (ffmpeg to a pipe) or 0
    — and some write the whole file's size as the RIFF size (8 too many): libsndfile and
    ffmpeg read all three to the end of the file, and so must every reader of the product."""
    reference = write_wav(tmp_path / "ref.wav", _noise(1.5, 3), RATE)
    expected = read_wav(reference)[0]
    whole = reference.read_bytes()
    piped = tmp_path / "piped.wav"
    with piped.open("wb") as out:  # `ffmpeg -i ref.wav -f wav - > piped.wav`
        subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(reference), "-c:a", "pcm_s24le", "-f", "wav", "-"],
            stdout=out, check=True,
        )  # fmt: skip
    head = piped.read_bytes()
    assert head[4:8] == b"\xff\xff\xff\xff"  # ffmpeg could not seek back to write the sizes
    files = {
        "piped": piped,
        "unknown_sizes": tmp_path / "unknown.wav",
        "zero_sizes": tmp_path / "zero.wav",
        "riff_is_file_size": tmp_path / "riff8.wav",
    }
    files["unknown_sizes"].write_bytes(_with_sizes(whole, 0xFFFFFFFF, 0xFFFFFFFF))
    files["zero_sizes"].write_bytes(_with_sizes(whole, 0, 0))
    files["riff_is_file_size"].write_bytes(_with_sizes(whole, riff=len(whole)))
    for name, path in files.items():
        audio, rate = read_wav(path)
        assert rate == RATE and np.array_equal(audio, expected), name
        assert integrated_lufs_of_file(path) == pytest.approx(integrated_lufs(expected, RATE))
    excerpt = write_faded_excerpt(files["zero_sizes"], tmp_path / "excerpt.wav", 1.0, 0.5)
    assert read_wav(excerpt)[0].shape == (2, RATE // 2)  # seeks within the streamed data too


def test_a_wav_with_an_off_by_eight_riff_size_is_still_refused_when_its_data_is_cut(tmp_path):
    path = write_wav(tmp_path / "riff8.wav", _noise(2.0, 4), RATE)
    whole = path.read_bytes()
    path.write_bytes(_with_sizes(whole, riff=len(whole))[: int(len(whole) * 0.7)])
    with pytest.raises(TruncatedWavError, match=r"declares 2\.00 s of audio \(529,200 bytes\)"):
        read_wav(path)


def test_an_empty_data_chunk_followed_by_a_tag_is_empty_not_streamed(tmp_path):
    path = write_wav(tmp_path / "empty.wav", np.zeros((2, 0), np.float32), RATE)
    payload = path.read_bytes() + b"LIST" + (4).to_bytes(4, "little") + b"INFO"
    path.write_bytes(_with_sizes(payload, riff=len(payload) - 8))
    with pytest.raises(AudioFileError, match="has no samples: re-render it"):
        read_wav(path)


def _kit_library(folder: Path, sample: str) -> InstrumentLibrary:
    """An instrument library whose kit 0 plays ``sample`` (in ``folder``) on the snare (38)."""
    library = folder / f"{sample}.library" / "instruments.yaml"
    library.parent.mkdir()
    library.write_text(
        f"sample_dirs: {{mine: {folder}}}\n"
        "kits:\n  0:\n    samples:\n      dir: mine\n      keys:\n"
        f"        38: [{{max_velocity: 127, files: [{sample}]}}]\n"
    )
    return load_library(library)


def test_a_drum_sample_that_is_cut_short_or_not_audio_is_refused_naming_kit_and_key(tmp_path):
    soundfont = resolve_soundfont()
    write_wav(tmp_path / "whole.wav", _noise(3.0, 5), RATE)
    kit = build_kit(0, [38], soundfont, RATE, _kit_library(tmp_path, "whole.wav"))
    assert kit.source.samples == "mine"  # the whole sample plays the key
    assert kit.keys[38].layers[0][1][0].shape[1] > 2 * RATE
    (tmp_path / "cut.wav").write_bytes((tmp_path / "whole.wav").read_bytes()[:555_690])  # 70 %
    (tmp_path / "text.wav").write_text("not audio\n")
    soundfile.write(tmp_path / "whole.flac", _noise(3.0, 6).T, RATE)
    flac = (tmp_path / "whole.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(flac[: int(len(flac) * 0.7)])
    problems = {
        "cut.wav": "is truncated: its header declares 3.00 s of audio (793,800 bytes), the file "
        "holds 2.10 s of audio (555,646 bytes)",
        "text.wav": "is not a readable WAV file (Error opening '{path}': Format not recognised.)",
        "cut.flac": "could not be decoded to its end (Error : flac decoder lost sync.): it is "
        "damaged or cut short",
        "none.wav": "does not exist",
    }
    for name, problem in problems.items():
        path = tmp_path / name
        with pytest.raises(DrumSampleError) as refused:
            build_kit(0, [38], soundfont, RATE, _kit_library(tmp_path, name))
        message = str(refused.value)
        assert message.startswith(
            f"Drum sample {path} for key 38 of kit 0 (samples 'mine') cannot be used: "
            f"{path} {problem.format(path=path)}"
        ), message
        assert message.endswith(
            " — replace the file or fix the entry in the instrument library (instruments.yaml)"
        )


def test_an_mp4_cut_short_or_without_its_index_is_refused(tmp_path):
    Image.new("RGB", (320, 180), (40, 60, 90)).save(tmp_path / "still.jpg")
    audio = write_wav(tmp_path / "mix.wav", _noise(2.0, 3), RATE)
    video = encode_static(tmp_path / "still.jpg", audio, tmp_path / "video.mp4", 2.0, (320, 180))
    assert probe(video).video_duration_s == pytest.approx(2.0, abs=0.1)
    whole = video.read_bytes()
    for fraction in (0.7, 0.5):  # +faststart: ffprobe alone would still report 2 s
        video.write_bytes(whole[: int(len(whole) * fraction)])
        with pytest.raises(TruncatedVideoError, match=r"declares a 'mdat' box of [\d,]+ bytes"):
            probe(video)
    moov = whole.find(b"moov") - 4
    video.write_bytes(whole[:moov])  # the container header only
    with pytest.raises(TruncatedVideoError, match="'moov' box"):
        probe(video)


# --- a full disk -----------------------------------------------------------------------------


@contextlib.contextmanager
def small_filesystem(folder: Path, size: str):
    """A real file system of ``size`` (tmpfs) mounted at ``folder``; needs root, as CI has."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        if os.environ.get("CI"):
            raise RuntimeError(f"cannot mount a tmpfs for the full-disk tests: {mounted.stderr}")
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_names_the_file_and_the_size_and_keeps_the_previous_version(tmp_path):
    with small_filesystem(tmp_path / "disk", "1m") as disk:
        previous = write_bytes_atomic(disk / "master.wav", b"previous version")
        # A WAV of known length is refused before its first byte: 5 s of 24-bit stereo are
        # 1,323,000 bytes of audio and a header.
        with pytest.raises(DiskFullError) as refused:
            write_wav(disk / "master.wav", _noise(5.0, 4), RATE)
        assert str(refused.value).startswith(
            f"no space left on device while writing {disk / 'master.wav'} (1.3 MiB needed, "
        )
        # Streamed blocks of unknown total: libsndfile's bare "System error." becomes the
        # same error, naming the file being made, not its hidden temporary.
        blocks = (_noise(1.0, seed) for seed in range(6))
        with pytest.raises(DiskFullError, match=r"writing \S+/stem\.wav \(at least [\d.]+ \w+ "):
            write_wav_blocks(disk / "stem.wav", blocks, RATE, subtype="FLOAT")
        with pytest.raises(DiskFullError, match=r"mix\.json \(2\.0 MiB needed"):
            write_bytes_atomic(disk / "mix.json", bytes(2 << 20))
        # A release mix: two 10 s masters crossfading over 4 s are 16 s of 24-bit stereo.
        masters = [write_wav(tmp_path / f"{i}.wav", _noise(10.0, i), RATE) for i in range(2)]
        tracks = [MixTrack(path, f"track {i}", 4.0) for i, path in enumerate(masters)]
        with pytest.raises(DiskFullError, match=r"writing \S+/mix\.wav \(4\.0 MiB needed, "):
            join_tracks(tracks, disk / "mix.wav")
        assert previous.read_bytes() == b"previous version"
        assert sorted(p.name for p in disk.iterdir()) == ["master.wav"]  # nothing half-written


def test_a_full_disk_fails_the_render_step_once_without_a_retry(tmp_path, instance):
    data = tmp_path / "data"
    resources = make_resources(data)
    key = track_partition_key(DATE, "1")
    config = {"ops": {"midi_sketch": {"config": {"duration_s": 20.0}}}}
    assert dg.materialize(
        [midi_sketch], partition_key=key, resources=resources, instance=instance,
        run_config=config,
    ).success  # fmt: skip
    with small_filesystem(data / "stems", "1m"):
        result = dg.materialize(
            [midi_sketch, stems], selection=[stems], partition_key=key,
            resources=resources, instance=instance, raise_on_error=False,
        )  # fmt: skip
        assert not result.success
        kinds = [event.event_type_value for event in result.all_events]
        assert "STEP_UP_FOR_RETRY" not in kinds  # the step's RetryPolicy is not used
        assert kinds.count("STEP_FAILURE") == 1
        failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
        message = failure.step_failure_data.user_failure_data.description
        # Refused before its first block: the stem's whole size (float32 stereo, > 7 MiB for
        # 20 s) against the 1 MiB disk, named by where it was going.
        folder = data / "stems" / DATE / "1"
        assert re.match(
            rf"no space left on device while writing {re.escape(str(folder))}/\w+\.wav "
            r"\([7-9]\.\d MiB needed, \d+\.\d KiB free\): free space", message
        ), message  # fmt: skip
        left = [p.name for p in (data / "stems").rglob("*")]
        assert left == [DATE]  # the date's empty folder: no file, no staging folder


# --- release_mix: staged, judged, then swapped in --------------------------------------------


def _master_at_minus_14(seconds: float, seed: int, gap_s: tuple[float, float] | None = None):
    audio = _noise(seconds, seed)
    audio *= np.float32(10 ** ((-14.0 - integrated_lufs(audio, RATE)) / 20))
    if gap_s is not None:
        audio[:, round(gap_s[0] * RATE) : round(gap_s[1] * RATE)] = 0.0
    return audio


@pytest.fixture(scope="module")
def good_release(tmp_path_factory):
    """A day with three real sketches, three 20 s masters at -14 LUFS (written as the
    mastered_wav step would leave them) and a release_mix made from them."""
    data = tmp_path_factory.mktemp("release") / "data"
    store, resources = ArtifactStore(data_dir=str(data)), make_resources(data)
    with dg.instance_for_test() as instance:
        config = {"ops": {"midi_sketch": {"config": {"duration_s": 20.0}}}}
        for slot in ("1", "2", "3"):
            key = track_partition_key(DATE, slot)
            assert dg.materialize(
                [midi_sketch], partition_key=key, resources=resources, instance=instance,
                run_config=config,
            ).success  # fmt: skip
            folder = store.partition_dir("mastered_wav", key)
            wav = write_wav(folder / "master.wav", _master_at_minus_14(20.0, int(slot)), RATE)
            record = MasterRecord(
                wav_path=store.relative(wav), preview_path="", fingerprint_path="",
                integrated_lufs=-14.0, true_peak_dbtp=-3.0, duration_s=20.0,
                style="jazz", bpm=80.0,
            )  # fmt: skip
            write_json_atomic(folder / RECORD_FILE, record_to_document(record))

        def make(asset: dg.AssetsDefinition = release_mix) -> dg.ExecuteInProcessResult:
            return dg.materialize(
                [midi_sketch, stems, mastered_wav, release_mix, thumbnail, video],
                selection=[asset], partition_key=DATE, resources=resources, instance=instance,
                run_config={"ops": {"video": {"config": {"motion": "static"}}}}
                if asset is video
                else None,
                raise_on_error=False,
            )  # fmt: skip

        first = make()
        assert first.success
        evaluations = {e.check_name: e.passed for e in first.get_asset_check_evaluations()}
        assert evaluations == dict.fromkeys(
            ("mix_loudness", "no_gaps", "smooth_crossfades", "chapters_valid"), True
        )
        yield data, make


def _release_files(data: Path) -> dict[str, bytes]:
    folder = data / "release_mix" / DATE
    return {
        name: (folder / name).read_bytes() for name in ("mix.wav", "chapters.json", "record.json")
    }


def _failure_message(result: dg.ExecuteInProcessResult) -> str:
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    return failure.step_failure_data.user_failure_data.description


@pytest.mark.parametrize("fraction", [0.7, 0.5])
def test_a_truncated_master_is_refused_and_the_previous_release_stays(good_release, fraction):
    data, make = good_release
    before = _release_files(data)
    master = data / "mastered_wav" / DATE / "2" / "master.wav"
    whole = master.read_bytes()
    try:
        _truncate(master, fraction)
        result = make()
        assert not result.success
        message = _failure_message(result)
        assert f"{master} is truncated: its header declares 20.00 s of audio" in message
        assert f"re-materialize mastered_wav for {DATE}|2" in message
        assert _release_files(data) == before  # mix.wav, chapters.json and the record
        assert not [p for p in (data / "release_mix").iterdir() if p.name.startswith(".")]
    finally:
        master.write_bytes(whole)


def test_a_failed_blocking_check_keeps_the_previous_release(good_release):
    data, make = good_release
    before = _release_files(data)
    master = data / "mastered_wav" / DATE / "2" / "master.wav"
    whole = master.read_bytes()
    try:
        # A whole, readable master with 3 s of silence in it: the mix gets a gap.
        write_wav(master, _master_at_minus_14(20.0, 2, gap_s=(8.0, 11.0)), RATE)
        result = make()
        assert not result.success
        evaluations = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        assert evaluations["no_gaps"] is False  # the verdict still shows in the UI
        assert evaluations["mix_loudness"] is True
        message = _failure_message(result)
        assert f"release_mix {DATE} was not replaced" in message
        assert "no_gaps (longest_gap_s=3.0" in message
        assert _release_files(data) == before
    finally:
        master.write_bytes(whole)


def test_a_video_is_judged_before_it_replaces_the_previous_one(good_release):
    data, make = good_release
    assert make(thumbnail).success
    assert make(video).success
    folder = data / "video" / DATE
    before = {name: (folder / name).read_bytes() for name in ("video.mp4", "record.json")}
    mix = data / "release_mix" / DATE / "mix.wav"
    whole = mix.read_bytes()
    try:
        _truncate(mix, 0.7)  # ffmpeg would encode the 70 % it finds
        refused = make(video)
        assert not refused.success
        message = _failure_message(refused)
        assert f"{mix} is truncated" in message
        assert f"re-materialize release_mix for {DATE}" in message
        assert {name: (folder / name).read_bytes() for name in before} == before
        # A whole mix shorter than its record says: the staged video's audio ends 18 s early.
        write_wav(mix, _master_at_minus_14(30.0, 5), RATE)
        failed = make(video)
        assert not failed.success
        evaluations = {e.check_name: e.passed for e in failed.get_asset_check_evaluations()}
        assert evaluations["durations_match"] is False
        assert evaluations["video_streams"] is True
        assert f"video {DATE} was not replaced" in _failure_message(failed)
        assert {name: (folder / name).read_bytes() for name in before} == before
    finally:
        mix.write_bytes(whole)
