"""Issue 13's audio bugs and lo-fi top end, measured with numpy/scipy (not ``audio.measure``).

- Stems keep full precision: the pipeline's master (stems → float WAV files → bus → master)
  equals ``lofi render``'s in-memory master to -90 dBFS, and a stem above full scale survives
  its file unclipped.
- The drums' bit crush gives its configured effective depth at any input level.
- The master has a knee: its LTAS falls 20 dB under its 300 Hz–3 kHz mean at 8–13 kHz, and the
  drum stem has nothing above its sampler's Nyquist within 40 dB of its 1–4 kHz level.
"""

import math

import numpy as np
import pytest
import soundfile
from scipy import signal

from lofi_assets.audio import SAMPLE_RATE_HZ
from lofi_assets.audio import effects as fx
from lofi_assets.audio.measure import octave_band_levels_db
from lofi_assets.audio.production import (
    STEM_NAMES,
    ProductionInputs,
    ProductionSettings,
    _level,
    _stem_chains,
    build_stems,
    master,
    master_stem_files,
    mix_bus,
    produce_master,
    produce_stems,
    production_inputs,
    sum_stems,
)
from lofi_assets.audio.soundfont import resolve_soundfont
from lofi_assets.audio.wav import STEM_SUBTYPE, read_wav, write_wav
from lofi_assets.music.arrangement import compose_sketch
from lofi_assets.music.plan import SketchRequest
from lofi_assets.music.sketch_files import write_sketch_files
from lofi_assets.music.styles import get_style

RATE = SAMPLE_RATE_HZ


def _dbfs(value: float) -> float:
    return 20 * math.log10(max(value, 1e-30))


# --- stems keep full precision ----------------------------------------------------------------


def test_a_stem_above_full_scale_survives_its_file_unclipped(tmp_path):
    t = np.arange(RATE) / RATE
    stem = np.stack([np.sin(2 * np.pi * 220 * t), -np.sin(2 * np.pi * 330 * t)]).astype(np.float32)
    stem *= np.float32(10 ** (2.7 / 20))  # +2.7 dBFS, the drum stems' peak in issue 13
    path = write_wav(tmp_path / "drums.wav", stem, RATE, subtype=STEM_SUBTYPE)
    assert soundfile.info(str(path)).subtype == "FLOAT"
    read, _ = read_wav(path)
    assert np.array_equal(read, stem)
    # What the stems used to be: 24-bit PCM clips everything over full scale.
    clipped, _ = read_wav(write_wav(tmp_path / "pcm.wav", stem, RATE, subtype="PCM_24"))
    assert np.abs(clipped).max() <= 1.0 < np.abs(stem).max()


def test_a_float_stem_written_twice_is_the_same_bytes(tmp_path):
    """libsndfile stamps float WAVs' PEAK chunk with the time of writing; stems carry none, so
    a re-render's files hash the same (a run killed and retried is checked by its digests)."""
    stem = np.random.default_rng(1).uniform(-1.5, 1.5, (2, 4_000)).astype(np.float32)
    first = write_wav(tmp_path / "a.wav", stem, RATE, subtype=STEM_SUBTYPE).read_bytes()
    assert b"PEAK" not in first
    assert write_wav(tmp_path / "b.wav", stem, RATE, subtype=STEM_SUBTYPE).read_bytes() == first


def test_the_pipeline_master_equals_the_in_memory_master(tmp_path):
    """The ``stems`` asset writes each stem as it arrives; ``mastered_wav`` masters the files."""
    sketch = compose_sketch(SketchRequest(seed=5, style="boom_bap", duration_s=12.0))
    files = write_sketch_files(sketch, tmp_path / "sketch")
    inputs = production_inputs(files.summary, files.plan)
    settings = ProductionSettings.from_overrides(get_style("boom_bap").production)
    soundfont = resolve_soundfont()
    folder = tmp_path / "stems"
    folder.mkdir()
    peaks = {}

    def keep(name: str, audio: np.ndarray) -> None:  # as the stems asset does
        write_wav(folder / f"{name}.wav", audio, RATE, subtype=STEM_SUBTYPE)
        peaks[name] = float(np.abs(audio).max())

    produce_stems(inputs, settings, soundfont, keep)
    from_files = master_stem_files(
        {name: folder / f"{name}.wav" for name in STEM_NAMES}, settings, RATE
    )
    in_memory = produce_master(inputs, settings, soundfont)
    assert from_files.shape == in_memory.shape
    assert _dbfs(float(np.abs(from_files - in_memory).max())) <= -90.0
    # Both also round-trip through the 24-bit master file to the same audio (the dither is
    # seeded, far below -90 dBFS).
    written = [
        read_wav(write_wav(tmp_path / f"{name}.wav", audio, RATE))[0]
        for name, audio in (("pipeline", from_files), ("render", in_memory))
    ]
    assert _dbfs(float(np.abs(written[0] - written[1]).max())) <= -90.0
    assert all(soundfile.info(str(folder / f"{n}.wav")).subtype == "FLOAT" for n in STEM_NAMES)
    assert max(peaks.values()) > 0.0  # the stems were non-trivial


# --- bit depth ------------------------------------------------------------------------------


def _drum_loop(seconds: float = 4.0) -> np.ndarray:
    """A kick (decaying 55 Hz sine) and a snare/hat (decaying noise) every half second."""
    rng = np.random.default_rng(11)
    out = np.zeros((2, int(seconds * RATE)), dtype=np.float32)
    hit = np.arange(int(0.3 * RATE)) / RATE
    kick = np.sin(2 * np.pi * 55 * hit) * np.exp(-hit / 0.08)
    snare = rng.standard_normal(hit.size) * np.exp(-hit / 0.04) * 0.5
    for index, start in enumerate(range(0, out.shape[1] - hit.size, RATE // 2)):
        out[:, start : start + hit.size] += kick if index % 2 == 0 else snare
    return out


def _effective_bits(crushed: np.ndarray, clean: np.ndarray, frame: int = 441) -> float:
    """Bits of a uniform quantiser whose error this is, relative to the clean signal's peak:
    error RMS = step / √12, step = peak / 2^(bits − 1).

    Only sounding 10 ms frames count (RMS within 40 dB of the peak, many steps above the
    quantiser's): in the silence between hits a quantiser makes no error at all.
    """
    usable = clean.shape[1] // frame * frame
    error = (crushed.astype(np.float64) - clean)[:, :usable].reshape(2, -1, frame)
    frames = clean[:, :usable].astype(np.float64).reshape(2, -1, frame)
    peak = float(np.abs(clean).max())
    sounding = np.sqrt(np.mean(frames**2, axis=2)) >= peak * 10 ** (-40 / 20)
    step = math.sqrt(12.0 * float(np.mean(error[sounding] ** 2)))
    return 1.0 + math.log2(peak / step)


@pytest.mark.parametrize("bits", [10.0, 12.0])
def test_a_crushed_drum_stem_holds_its_configured_bits_at_any_input_level(bits):
    inputs = ProductionInputs(parts={}, bpm=80.0, duration_s=4.0, ambience="rain", seed=0)
    crushed_chain = _stem_chains(inputs, ProductionSettings(drum_bit_depth=bits), RATE)["drums"]
    clean_chain = _stem_chains(inputs, ProductionSettings(drum_bit_depth=32), RATE)["drums"]
    level_dbfs = ProductionSettings().stem_levels_dbfs["drums"]
    measured = []
    for input_level in (1.0, 0.01):  # a loud render and one 40 dB quieter
        loop = _drum_loop() * np.float32(input_level)
        crushed = crushed_chain(loop.copy())
        clean = clean_chain(loop.copy())
        stem = _level(crushed.copy(), level_dbfs)  # the stem gain, as production sets it
        gain = float(np.abs(stem).max() / np.abs(crushed).max())
        measured.append(_effective_bits(stem, clean * np.float32(gain)))
    assert measured == pytest.approx([bits, bits], abs=0.5)


# --- the lo-fi top end ------------------------------------------------------------------------


def _ltas(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD (Hann, 8192, half overlap) per channel, averaged over channels."""
    frequencies, power = signal.welch(audio.astype(np.float64), RATE, nperseg=8_192, axis=-1)
    return frequencies, power.mean(axis=0)


def _db(power):
    return 10 * np.log10(np.maximum(power, 1e-30))


def knee_hz(audio: np.ndarray, db_mean: bool = True) -> float:
    """Highest frequency above 3 kHz where the LTAS (1/12-octave smoothed) is within 20 dB of
    its level over 300 Hz–3 kHz: the mean of the LTAS in dB (as plotted; how the issue measured
    12.7–18.8 kHz), or with ``db_mean=False`` the dB of its mean power (a few dB higher)."""
    frequencies, power = _ltas(audio)
    band = (frequencies >= 300) & (frequencies <= 3_000)
    reference_db = float(np.mean(_db(power[band]))) if db_mean else _db(power[band].mean())
    cumulative = np.concatenate([[0.0], np.cumsum(power)])
    half = 2 ** (1 / 24)
    low = np.searchsorted(frequencies, frequencies / half, side="left")
    high = np.searchsorted(frequencies, frequencies * half, side="right")
    smoothed_db = _db((cumulative[high] - cumulative[low]) / np.maximum(high - low, 1))
    loud = (frequencies > 3_000) & (smoothed_db >= reference_db - 20)
    return float(frequencies[loud].max()) if loud.any() else 3_000.0


def above_nyquist_db(audio: np.ndarray, nyquist_hz: float) -> float:
    """Loudest third-octave window wholly above ``nyquist_hz`` (mean PSD) re the 1–4 kHz mean."""
    frequencies, power = _ltas(audio)
    reference_db = _db(power[(frequencies >= 1_000) & (frequencies <= 4_000)].mean())
    cumulative = np.concatenate([[0.0], np.cumsum(power)])
    lows = np.flatnonzero(
        (frequencies >= 1.01 * nyquist_hz) & (frequencies * 2 ** (1 / 3) <= 0.98 * RATE / 2)
    )
    highs = np.searchsorted(frequencies, frequencies[lows] * 2 ** (1 / 3), side="right")
    return float(
        _db(((cumulative[highs] - cumulative[lows]) / (highs - lows)).max()) - reference_db
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """A short rainy-day track (the brightest style) as ``lofi render`` makes it."""
    folder = tmp_path_factory.mktemp("top_end")
    sketch = compose_sketch(SketchRequest(seed=2, style="rainy_day", duration_s=15.0))
    files = write_sketch_files(sketch, folder)
    settings = ProductionSettings.from_overrides(get_style("rainy_day").production)
    stems = build_stems(production_inputs(files.summary, files.plan), settings, resolve_soundfont())
    mastered = master(mix_bus(sum_stems(stems.items()), settings, RATE), RATE)
    return settings, stems["drums"], read_wav(write_wav(folder / "master.wav", mastered, RATE))[0]


def test_the_master_has_a_lofi_knee_between_8_and_13_khz(rendered):
    _, _, mastered = rendered
    assert 8_000 <= knee_hz(mastered) <= 13_000
    assert 8_000 <= knee_hz(mastered, db_mean=False) <= 13_000


def test_the_drum_stem_has_nothing_above_its_samplers_nyquist(rendered):
    settings, drums, _ = rendered
    assert above_nyquist_db(drums, settings.drum_sample_rate_hz / 2) <= -40.0


def test_the_spectral_balance_envelope_passes_the_new_top_end_and_flags_a_hifi_one(rendered):
    envelope = ProductionSettings().spectral_envelope_db
    _, _, mastered = rendered
    bands = octave_band_levels_db(mastered, RATE)
    assert all(envelope[band][0] <= level <= envelope[band][1] for band, level in bands.items())
    white = np.random.default_rng(1).standard_normal((2, 5 * RATE)).astype(np.float32)
    hifi = octave_band_levels_db(white, RATE)[16_000]
    assert hifi > envelope[16_000][1]  # the spectral_balance check warns about it


def test_without_the_roll_off_and_the_output_filter_the_top_end_fails():
    """The failing side: the measures catch a hi-fi top end and a sizzling hold."""
    rng = np.random.default_rng(0)
    white = rng.standard_normal((2, 10 * RATE)).astype(np.float32) * np.float32(0.1)
    assert knee_hz(white) > 13_000
    held = fx.sample_and_hold(white, RATE, 22_050)
    assert above_nyquist_db(held, 11_025) > -40.0
    assert above_nyquist_db(fx.reduce_sample_rate(white, RATE, 22_050), 11_025) <= -40.0
