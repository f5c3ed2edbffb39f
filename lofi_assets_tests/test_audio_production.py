"""Rendering, ambience and mastering on short tracks, checked by independent tools."""

import json
import re
import shutil
import subprocess

import numpy as np
import pyloudnorm
import pytest

from lofi_assets.audio import SAMPLE_RATE_HZ
from lofi_assets.audio.ambience import AMBIENCES, synthesize_ambience
from lofi_assets.audio.fingerprint import (
    DUPLICATE_SIMILARITY,
    chroma_fingerprint,
    fingerprint_similarity,
)
from lofi_assets.audio.measure import integrated_lufs, loudness_range_lu, true_peak_dbtp
from lofi_assets.audio.parallel import STEP_THREADS_ENV, step_threads
from lofi_assets.audio.production import (
    PRODUCTION_ORDER,
    STEM_NAMES,
    ProductionError,
    ProductionSettings,
    build_stems,
    master,
    mix_bus,
    produce_master,
    produce_stems,
    production_inputs,
    sum_stems,
)
from lofi_assets.audio.render import NoteSpan, render_part
from lofi_assets.audio.soundfont import SoundFontNotFoundError, resolve_soundfont
from lofi_assets.audio.tempo import estimated_bpm, tempo_agrees
from lofi_assets.audio.wav import AudioFileError, read_wav, write_wav
from lofi_assets.errors import ConfigError
from lofi_assets.music.arrangement import compose_sketch
from lofi_assets.music.plan import SketchRequest
from lofi_assets.music.sketch_files import write_sketch_files
from lofi_assets.music.styles import load_styles
from lofi_assets_tests.conftest import assert_same_audio

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg is installed by scripts/dev.sh")


def _master_of(seed: int, style: str, folder, seconds: float = 25.0):
    sketch = compose_sketch(SketchRequest(seed=seed, style=style, duration_s=seconds))
    files = write_sketch_files(sketch, folder)
    plan = files.plan
    settings = ProductionSettings()
    stems = build_stems(production_inputs(files.summary, plan), settings, resolve_soundfont())
    mastered = master(mix_bus(sum_stems(stems.items()), settings, SAMPLE_RATE_HZ), SAMPLE_RATE_HZ)
    return plan, stems, write_wav(folder / "master.wav", mastered, SAMPLE_RATE_HZ)


@pytest.fixture(scope="module")
def track(tmp_path_factory):
    return _master_of(4, "jazz", tmp_path_factory.mktemp("track"))


def test_every_stem_is_stereo_and_equally_long(track):
    _, stems, _ = track
    assert list(stems) == list(STEM_NAMES)
    assert len({stem.shape for stem in stems.values()}) == 1
    assert all(stem.shape[0] == 2 and np.isfinite(stem).all() for stem in stems.values())
    assert all(np.sqrt(np.mean(stem**2)) > 1e-4 for stem in stems.values())


def test_master_hits_minus_14_lufs_under_the_true_peak_ceiling(track):
    _, _, path = track
    audio, rate = read_wav(path)
    assert rate == 44_100
    measured = pyloudnorm.Meter(rate).integrated_loudness(audio.T.astype(np.float64))
    assert measured == pytest.approx(-14.0, abs=0.5)
    assert integrated_lufs(audio, rate) == pytest.approx(measured, abs=0.05)  # our fast meter
    assert true_peak_dbtp(audio) <= -1.5
    assert 0.0 <= loudness_range_lu(audio, rate) < 20.0


def _ebur128(path) -> tuple[float, float]:
    result = subprocess.run(
        [FFMPEG, "-nostats", "-hide_banner", "-i", str(path), "-filter_complex", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    summary = result.stderr[result.stderr.rindex("Summary:") :]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1))
    return integrated, peak


@needs_ffmpeg
def test_ffmpeg_ebur128_agrees_with_pyloudnorm(track):
    _, _, path = track
    audio, rate = read_wav(path)
    ours = pyloudnorm.Meter(rate).integrated_loudness(audio.T.astype(np.float64))
    theirs, true_peak = _ebur128(path)
    assert abs(ours - theirs) <= 0.3
    assert theirs == pytest.approx(-14.0, abs=0.5)
    assert true_peak <= -1.5


@needs_ffmpeg
def test_ffprobe_sees_44_1_khz_24_bit_stereo_pcm(track):
    _, _, path = track
    probe = subprocess.run(
        [shutil.which("ffprobe"), "-v", "error", "-show_streams", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    stream = json.loads(probe.stdout)["streams"][0]
    assert (stream["codec_name"], stream["sample_rate"], stream["channels"]) == (
        "pcm_s24le",
        "44100",
        2,
    )


def test_rendering_again_gives_identical_audio(tmp_path, track):
    _, _, first = track
    _, _, second = _master_of(4, "jazz", tmp_path)
    assert_same_audio(first, second)


def test_one_thread_per_step_renders_the_same_audio(tmp_path, track, monkeypatch):
    """LOFI_STEP_THREADS (backfills) changes scheduling only, never the sound."""
    monkeypatch.setenv(STEP_THREADS_ENV, "1")
    _, _, first = track
    _, _, second = _master_of(4, "jazz", tmp_path)
    assert_same_audio(first, second)


def test_an_in_memory_master_is_bit_identical_however_threads_finish(tmp_path, monkeypatch):
    """`lofi render` sums stems as threads finish them; the order of the sum is fixed."""
    sketch = compose_sketch(SketchRequest(seed=9, style="cafe", duration_s=20.0))
    files = write_sketch_files(sketch, tmp_path)
    inputs = production_inputs(files.summary, files.plan)
    soundfont, settings = resolve_soundfont(), ProductionSettings()
    arrivals: list[list[str]] = []
    masters = []
    for threads in ("1", "7"):
        monkeypatch.setenv(STEP_THREADS_ENV, threads)
        arrivals.append([])
        masters.append(produce_master(inputs, settings, soundfont, progress=arrivals[-1].append))
    # One thread hands stems over in production order, not the order they are summed in.
    assert arrivals[0] == [*PRODUCTION_ORDER, "master"] != [*STEM_NAMES, "master"]
    assert sorted(arrivals[1]) == sorted(arrivals[0])
    assert np.array_equal(masters[0], masters[1])


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_thread_count_is_a_clear_error(value, monkeypatch):
    monkeypatch.setenv(STEP_THREADS_ENV, value)
    with pytest.raises(ValueError, match=STEP_THREADS_ENV):
        step_threads()


def test_beat_tracking_agrees_with_the_planned_tempo(track):
    plan, _, path = track
    audio, rate = read_wav(path)
    assert tempo_agrees(estimated_bpm(audio, rate), float(plan.bpm))


def test_fingerprints_flag_a_duplicate_but_not_a_different_track(track, tmp_path):
    _, _, path = track
    audio, rate = read_wav(path)
    fingerprint = chroma_fingerprint(audio, rate)
    assert fingerprint_similarity(fingerprint, fingerprint) >= 0.99
    assert (
        fingerprint_similarity(fingerprint, chroma_fingerprint(audio * 0.5, rate))
        >= DUPLICATE_SIMILARITY
    )
    _, _, other = _master_of(5, "jazz", tmp_path)
    other_audio, _ = read_wav(other)
    assert (
        fingerprint_similarity(fingerprint, chroma_fingerprint(other_audio, rate))
        < DUPLICATE_SIMILARITY
    )


def test_render_is_bit_exact_and_follows_the_notes():
    notes = [NoteSpan(0.5 + 0.1 * i, 0.8 + 0.1 * i, 60 + i % 12, 90) for i in range(20)]
    soundfont = resolve_soundfont()
    first = render_part(notes, 4, False, soundfont, 3.0)
    assert np.array_equal(first, render_part(notes, 4, False, soundfont, 3.0))
    assert (
        np.abs(first[:, : int(0.49 * SAMPLE_RATE_HZ)]).max() == 0
    )  # nothing before the first note
    assert np.abs(first).max() > 0.01


def test_soundfont_override_falls_back_and_errors_clearly(tmp_path, monkeypatch):
    bundled = resolve_soundfont()
    monkeypatch.setenv("LOFI_SOUNDFONT", str(tmp_path / "missing.sf2"))
    with pytest.raises(SoundFontNotFoundError, match=r"no such file: .*missing\.sf2"):
        resolve_soundfont()
    not_a_font = tmp_path / "fake.sf2"
    not_a_font.write_bytes(b"RIFF0000WAVE")
    monkeypatch.setenv("LOFI_SOUNDFONT", str(not_a_font))
    with pytest.raises(SoundFontNotFoundError, match="not a SoundFont 2 file"):
        resolve_soundfont()
    monkeypatch.delenv("LOFI_SOUNDFONT")
    assert resolve_soundfont().path == bundled.path
    import pretty_midi

    small = resolve_soundfont(f"{pretty_midi.__path__[0]}/TimGM6mb.sf2")
    assert small.source == "override"
    audio = render_part([NoteSpan(0.0, 0.5, 60, 100)], 0, False, small, 1.0)
    assert np.abs(audio).max() > 0.01


@pytest.mark.parametrize("name", sorted(AMBIENCES))
def test_ambiences_are_seeded_stereo_beds(name):
    samples = 5 * SAMPLE_RATE_HZ
    bed = synthesize_ambience(name, 7, samples, SAMPLE_RATE_HZ)
    assert bed.shape == (2, samples) and bed.dtype == np.float32 and np.isfinite(bed).all()
    assert np.array_equal(bed, synthesize_ambience(name, 7, samples, SAMPLE_RATE_HZ))
    assert not np.array_equal(bed, synthesize_ambience(name, 8, samples, SAMPLE_RATE_HZ))
    assert 20 * np.log10(np.sqrt(np.mean(bed**2))) == pytest.approx(-30.0, abs=1.0)


def _centroid_hz(audio) -> float:
    spectrum = np.abs(np.fft.rfft(audio.mean(axis=0)))
    frequencies = np.fft.rfftfreq(audio.shape[1], 1 / SAMPLE_RATE_HZ)
    return float(np.sum(frequencies * spectrum) / np.sum(spectrum))


def test_ambiences_sound_like_what_they_are():
    samples = 5 * SAMPLE_RATE_HZ
    rain = synthesize_ambience("rain_heavy", 1, samples, SAMPLE_RATE_HZ)
    city = synthesize_ambience("city_traffic", 1, samples, SAMPLE_RATE_HZ)
    birds = synthesize_ambience("nature_birds", 1, samples, SAMPLE_RATE_HZ)
    assert _centroid_hz(rain) > 3 * _centroid_hz(city)  # rain hisses, traffic rumbles
    assert _centroid_hz(birds) > 1_000


def test_every_style_asks_for_an_ambience_that_exists_and_valid_production_settings():
    for style in load_styles().values():
        assert set(style.ambience) <= set(AMBIENCES)
        ProductionSettings.from_overrides(style.production)


def test_unknown_ambience_and_settings_are_rejected():
    with pytest.raises(ConfigError, match="Unknown ambience"):
        synthesize_ambience("ocean_liner", 1, 100, SAMPLE_RATE_HZ)
    with pytest.raises(ConfigError, match="Unknown production settings"):
        ProductionSettings.from_overrides({"warp_drive": 1})
    with pytest.raises(ConfigError, match="Unknown reverb"):
        ProductionSettings.from_overrides({"pad_reverb": "cathedral"})


def test_bad_wavs_and_silent_mixes_fail_with_the_fix(tmp_path):
    mono = tmp_path / "mono.wav"
    write_wav(mono, np.zeros((1, 100), dtype=np.float32), SAMPLE_RATE_HZ)
    with pytest.raises(AudioFileError, match="needs stereo"):
        read_wav(mono)
    empty = tmp_path / "empty.wav"
    write_wav(empty, np.zeros((2, 0), dtype=np.float32), SAMPLE_RATE_HZ)
    with pytest.raises(AudioFileError, match="no samples"):
        read_wav(empty)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(AudioFileError, match="not a readable WAV"):
        read_wav(corrupt)
    with pytest.raises(ProductionError, match="silent"):
        master(np.zeros((2, SAMPLE_RATE_HZ * 2), dtype=np.float32), SAMPLE_RATE_HZ)
    with pytest.raises(ProductionError, match="NaN"):
        master(np.full((2, 100), np.nan, dtype=np.float32), SAMPLE_RATE_HZ)


def test_stems_report_progress_in_steps_under_ten_percent(tmp_path):
    sketch = compose_sketch(SketchRequest(seed=3, style="jazz", duration_s=20.0))
    files = write_sketch_files(sketch, tmp_path)
    inputs = production_inputs(files.summary, files.plan)
    fractions: list[float] = []
    produce_stems(
        inputs,
        ProductionSettings(),
        resolve_soundfont(),
        lambda *_: None,
        on_progress=fractions.append,
    )
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert max(np.diff([0.0, *fractions])) < 0.1  # the run log moves at least every 10 %
