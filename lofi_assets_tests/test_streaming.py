"""The streamed audio path: block edges change nothing, and memory does not grow with length."""

from __future__ import annotations

import dataclasses
import tracemalloc

import numpy as np
import pedalboard
import pytest
import soundfile

from lofi_assets.audio import SAMPLE_RATE_HZ as RATE
from lofi_assets.audio import effects as fx
from lofi_assets.audio import production
from lofi_assets.audio import streaming as st
from lofi_assets.audio.parallel import STEP_THREADS_ENV
from lofi_assets.audio.production import (
    STEM_NAMES,
    ProductionError,
    ProductionSettings,
    master,
    master_stem_files,
    master_stem_files_to,
    mix_bus,
    produce_stem_files,
    production_inputs,
    sum_stems,
)
from lofi_assets.audio.soundfont import resolve_soundfont
from lofi_assets.audio.wav import AudioFileError, read_wav, write_wav
from lofi_assets.music.arrangement import compose_sketch
from lofi_assets.music.plan import SketchRequest
from lofi_assets.music.sketch_files import write_sketch_files

BLOCK = 10_007  # a prime: block edges fall nowhere special


def _noise(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.2 * rng.standard_normal((2, round(seconds * RATE)))).astype(np.float32)


def _streamed(chain, audio: np.ndarray) -> np.ndarray:
    return st.collect(st.fit_length(chain(st.blocks_of(audio, BLOCK)), audio.shape[1]))


def _dbfs(value: float) -> float:
    return 20 * np.log10(max(value, 1e-30))


@pytest.mark.parametrize(
    ("name", "whole", "chain"),
    [
        (
            "wow_flutter",
            lambda a: fx.wow_flutter(a, RATE, 0.7, 10.0, 9.0, 3.0),
            lambda b: st.wow_flutter_stream(b, RATE, 0.7, 10.0, 9.0, 3.0),
        ),
        (
            "ping_pong",
            lambda a: fx.ping_pong_delay(a, RATE, 0.3),
            lambda b: st.ping_pong_stream(b, RATE, 0.3),
        ),
        ("haas", lambda a: fx.haas_widen(a, RATE, 14.0), lambda b: st.haas_stream(b, RATE, 14.0)),
        (
            "sidechain",
            lambda a: fx.sidechain_duck(a, RATE, np.arange(0.0, 3.0, 0.37), 4.0),
            lambda b: st.sidechain_stream(b, RATE, np.arange(0.0, 3.0, 0.37), 4.0),
        ),
        (
            "filter_sweep",
            lambda a: fx.filter_sweep(a, RATE, 0.5, 900.0, 4_500.0),
            lambda b: st.filter_sweep_stream(b, RATE, 0.5, 900.0, 4_500.0),
        ),
        (
            "limiter",
            lambda a: pedalboard.BrickwallLimiter(ceiling_db=-6.0, true_peak=True)(a, RATE),
            lambda b: st.plugin_stream(
                pedalboard.BrickwallLimiter(ceiling_db=-6.0, true_peak=True), b, RATE
            ),
        ),
        (
            "tape_delay",
            lambda a: fx.tape_delay(a, RATE, 0.4),
            lambda b: st.tape_delay_stream(b, RATE, 0.4),
        ),
        (
            "vintage_sampler",
            lambda a: fx.vintage_sampler(a, RATE, 26_000.0, 12.0),
            lambda b: st.vintage_sampler_stream(b, RATE, 26_000.0, 12.0, round(3.0 * RATE)),
        ),
        (
            "upsample",
            lambda a: __import__("scipy.signal").signal.resample_poly(a, 2, 1, axis=1),
            lambda b: st.upsample_stream(b, 2),
        ),
    ],
)
def test_a_streamed_effect_equals_the_whole_array_one(name, whole, chain):
    """Odd block sizes, so any state an effect dropped at a block edge would show (a click)."""
    audio = _noise(3.0)
    expected = np.asarray(whole(audio), dtype=np.float32)
    if name == "upsample":
        got = st.collect(st.upsample_stream(st.blocks_of(audio, BLOCK), 2))
    else:
        got = _streamed(chain, audio)
    assert got.shape == expected.shape
    assert _dbfs(float(np.abs(got - expected).max())) <= -100.0, name


def test_the_streamed_bus_and_master_match_the_whole_array_ones(tmp_path):
    """Stem files mastered block by block against ``master(mix_bus(sum_stems(...)))``."""
    stems = {name: _noise(12.0, seed) * np.float32(0.3) for seed, name in enumerate(STEM_NAMES)}
    paths = {}
    for name, audio in stems.items():
        paths[name] = write_wav(tmp_path / f"{name}.wav", audio, RATE, subtype="FLOAT")
    settings = ProductionSettings()
    whole = master(mix_bus(sum_stems(stems.items()), settings, RATE), RATE)
    streamed = master_stem_files(paths, settings, RATE)
    assert streamed.shape == whole.shape
    # Only the loudness sums' order and the high-pass restarting in the second half's
    # lead-in differ.
    assert _dbfs(float(np.abs(streamed - whole).max())) <= -90.0


def test_mastering_refuses_stems_it_cannot_mix(tmp_path):
    settings = ProductionSettings()
    good = write_wav(tmp_path / "a.wav", _noise(2.0), RATE, subtype="FLOAT")
    short = write_wav(tmp_path / "b.wav", _noise(1.0), RATE, subtype="FLOAT")
    with pytest.raises(ProductionError, match="re-render the stems together"):
        master_stem_files({"a": good, "b": short}, settings, RATE)
    with pytest.raises(AudioFileError, match="does not exist"):
        master_stem_files({"a": good, "b": tmp_path / "missing.wav"}, settings, RATE)
    silent = write_wav(tmp_path / "s.wav", np.zeros((2, RATE * 2), np.float32), RATE, "FLOAT")
    with pytest.raises(ProductionError, match="silent"):
        master_stem_files({"s": silent}, settings, RATE)
    broken = _noise(2.0)
    broken[0, 100] = np.nan
    nan = write_wav(tmp_path / "n.wav", broken, RATE, subtype="FLOAT")
    with pytest.raises(ProductionError, match="NaN"):
        master_stem_files({"n": nan}, settings, RATE)


def test_long_textures_are_joined_segments_at_a_steady_level(monkeypatch):
    monkeypatch.setattr(production, "TEXTURE_SEGMENT_S", 2.0)

    def bed(seed: int, samples: int) -> np.ndarray:
        return _noise(samples / RATE, seed)

    samples = round(9.3 * RATE)
    blocks = list(production._texture_blocks(bed, 7, samples, RATE))
    audio = st.collect(blocks)
    assert audio.shape == (2, samples)
    # Equal-power crossfades of independent noise: every second within 1 dB of the whole.
    seconds = audio[:, : 9 * RATE].reshape(2, 9, RATE)
    levels = 10 * np.log10(np.mean(seconds**2, axis=(0, 2)) / np.mean(audio**2))
    assert np.all(np.abs(levels) < 1.0)
    assert np.array_equal(audio, st.collect(production._texture_blocks(bed, 7, samples, RATE)))


def _peak_traced_mb(function) -> float:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_track_length(tmp_path, monkeypatch):
    """The same sketch produced and mastered 3× longer (a silent tail): the peak of traced
    (Python and numpy) memory stays put, where one whole-length stereo array of the long
    render would add several MB. Small blocks and texture segments, one thread: every stage
    reaches its steady state within the short render, and the peak does not depend on how
    threads happen to overlap."""
    monkeypatch.setattr(st, "BLOCK_SAMPLES", 1 << 14)
    monkeypatch.setattr(production, "TEXTURE_SEGMENT_S", 1.0)
    monkeypatch.setenv(STEP_THREADS_ENV, "1")
    sketch = compose_sketch(SketchRequest(seed=2, style="boom_bap", duration_s=15.0))
    files = write_sketch_files(sketch, tmp_path / "sketch")
    short = production_inputs(files.summary, files.plan)
    settings, soundfont = ProductionSettings(), resolve_soundfont()

    def produce(inputs, folder) -> None:
        folder.mkdir()
        stems = produce_stem_files(inputs, settings, soundfont, folder)
        paths = {name: stem.path for name, stem in stems.items()}
        master_stem_files_to(paths, settings, RATE, folder / "master.wav")

    produce(short, tmp_path / "warm")  # fills the caches (kits, samples) first
    long = dataclasses.replace(short, duration_s=3 * short.duration_s)
    peaks = [
        _peak_traced_mb(lambda: produce(short, tmp_path / "short")),
        _peak_traced_mb(lambda: produce(long, tmp_path / "long")),
    ]
    frames = [soundfile.info(str(tmp_path / f / "master.wav")).frames for f in ("short", "long")]
    assert frames[1] > 2.5 * frames[0]
    whole_array_mb = 2 * frames[1] * 4 / 2**20
    assert peaks[1] - peaks[0] < 0.1 * whole_array_mb, (peaks, whole_array_mb)


def test_stem_files_are_levelled_in_place(tmp_path):
    sketch = compose_sketch(SketchRequest(seed=4, style="jazz", duration_s=15.0))
    files = write_sketch_files(sketch, tmp_path / "sketch")
    inputs = production_inputs(files.summary, files.plan)
    settings = ProductionSettings()
    stems = produce_stem_files(inputs, settings, resolve_soundfont(), tmp_path)
    assert list(stems) == list(STEM_NAMES)
    for name, stem in stems.items():
        audio, _ = read_wav(stem.path, RATE)
        assert audio.shape == (2, stem.samples)
        level_dbfs = 10 * np.log10(fx.mean_square(audio))
        assert level_dbfs == pytest.approx(settings.stem_levels_dbfs[name], abs=0.01)
        assert stem.mean_square == pytest.approx(fx.mean_square(audio), rel=1e-6)


def test_a_master_over_the_ceiling_gets_the_safety_gain(tmp_path):
    with st.ScratchAudio(100, folder=tmp_path) as mastered:
        safety, stats = production._safety(mastered, -14.0, true_peak=-1.0, ceiling_dbtp=-1.5)
        assert safety == pytest.approx(fx.db_to_gain(-0.55))
        assert stats.true_peak_dbtp == pytest.approx(-1.55)
        assert stats.integrated_lufs == pytest.approx(-14.55)
        assert production._safety(mastered, -14.0, true_peak=-1.8)[0] is None


def test_the_master_file_holds_the_streamed_master(tmp_path):
    stems = {name: _noise(8.0, seed) * np.float32(0.3) for seed, name in enumerate(STEM_NAMES)}
    paths = {
        name: write_wav(tmp_path / f"{name}.wav", audio, RATE, subtype="FLOAT")
        for name, audio in stems.items()
    }
    settings = ProductionSettings()
    stats = master_stem_files_to(paths, settings, RATE, tmp_path / "master.wav")
    written, _ = read_wav(tmp_path / "master.wav", RATE)
    in_memory = master_stem_files(paths, settings, RATE)
    assert written.shape == in_memory.shape == (2, stats.samples)
    assert _dbfs(float(np.abs(written - in_memory).max())) <= -130.0  # 24-bit dither only
    assert stats.true_peak_dbtp <= -1.5
    assert soundfile.info(str(tmp_path / "master.wav")).subtype == "PCM_24"
    assert not list(tmp_path.glob("*.f32"))  # scratch files are gone
