"""Each effect measured on a probe signal: does it do what its name claims?"""

import math

import numpy as np
import pytest
from scipy import signal

from lofi_assets.audio import effects as fx

RATE = 44_100


def tone(frequency_hz=1_000.0, seconds=4.0, level=0.5) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    mono = (level * np.sin(2 * np.pi * frequency_hz * t)).astype(np.float32)
    return np.stack([mono, mono])


def noise(seconds=2.0, seed=0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((2, int(seconds * RATE))) * 0.1).astype(
        np.float32
    )


def rms_db(audio) -> float:
    return 20 * math.log10(float(np.sqrt(np.mean(np.asarray(audio, dtype=np.float64) ** 2))))


def pitch_deviation_cents(audio: np.ndarray, nominal_hz: float = 1_000.0) -> np.ndarray:
    """Instantaneous frequency (Hilbert phase), smoothed over 20 ms, in cents from nominal."""
    phase = np.unwrap(np.angle(signal.hilbert(audio[0].astype(np.float64))))
    frequency = np.diff(phase) * RATE / (2 * np.pi)
    window = int(0.02 * RATE)
    smoothed = np.convolve(frequency, np.ones(window) / window, mode="valid")
    trimmed = smoothed[RATE // 2 : -RATE // 2]  # skip edge effects of the transform
    return 1200 * np.log2(trimmed / nominal_hz)


@pytest.mark.parametrize(
    ("wow_cents", "flutter_cents", "expected"),
    [(12.0, 0.0, 12.0), (0.0, 6.0, 6.0), (20.0, 0.0, 20.0)],
)
def test_wow_and_flutter_bend_pitch_by_the_configured_cents(wow_cents, flutter_cents, expected):
    processed = fx.wow_flutter(
        tone(seconds=6.0), RATE, wow_rate_hz=0.8, wow_depth_cents=wow_cents,
        flutter_rate_hz=9.0, flutter_depth_cents=flutter_cents,
    )  # fmt: skip
    deviation = pitch_deviation_cents(processed)
    peak = (np.max(deviation) - np.min(deviation)) / 2
    assert expected * 0.8 <= peak <= expected * 1.2


def test_wow_modulates_at_its_rate():
    deviation = pitch_deviation_cents(fx.wow_flutter(tone(seconds=8.0), RATE, 1.5, 15.0, 9.0, 0.0))
    spectrum = np.abs(np.fft.rfft(deviation - deviation.mean()))
    frequencies = np.fft.rfftfreq(deviation.size, 1 / RATE)
    assert abs(frequencies[np.argmax(spectrum)] - 1.5) < 0.2


def test_haas_widening_delays_the_right_channel_by_the_set_milliseconds():
    mono = noise()[0]
    source = np.stack([mono, mono])
    widened = fx.haas_widen(source, RATE, delay_ms=15.0)
    correlation = signal.correlate(widened[1], widened[0], mode="full", method="fft")
    lag = int(np.argmax(correlation)) - (source.shape[1] - 1)
    assert lag == round(0.015 * RATE)


def test_sidechain_ducks_by_its_depth_at_kick_times_and_recovers_between():
    kicks = np.array([0.5, 1.5, 2.5])
    gain = fx.sidechain_gain(3 * RATE, RATE, kicks, depth_db=6.0, attack_ms=5.0, release_ms=180.0)
    gain_db = 20 * np.log10(gain)
    for kick in kicks:
        assert gain_db[int(kick * RATE)] == pytest.approx(-6.0, abs=0.1)
    assert gain_db[int(1.0 * RATE)] > -0.1  # half a second after a kick: recovered
    ducked = fx.sidechain_duck(tone(seconds=3.0), RATE, kicks, depth_db=6.0)
    at_kick = ducked[0, int(0.5 * RATE) : int(0.5 * RATE) + 200]
    away = ducked[0, int(1.0 * RATE) : int(1.0 * RATE) + 200]
    assert rms_db(at_kick) - rms_db(away) == pytest.approx(-6.0, abs=0.5)


@pytest.mark.parametrize("bits", [4, 8])
def test_bitcrush_quantizes_to_the_bit_depth(bits):
    ramp = np.linspace(-1.0, 1.0, 20_000, dtype=np.float32)
    crushed = fx.bitcrush(np.stack([ramp, ramp]), RATE, bits)
    levels = np.unique(crushed[0])
    assert len(levels) == 2**bits  # N-bit PCM: 2^N levels across ±1
    assert np.allclose(np.diff(levels), 2.0 / 2**bits)


def effective_bits(crushed: np.ndarray, clean: np.ndarray) -> float:
    """Bits a uniform quantiser needs for this error at this peak: error RMS = step / √12 and
    the step is peak / 2^(bits − 1)."""
    error = np.asarray(crushed, dtype=np.float64) - clean
    step = math.sqrt(12.0 * np.mean(error**2))
    return 1.0 + math.log2(float(np.max(np.abs(clean))) / step)


@pytest.mark.parametrize("bits", [8.0, 10.0, 12.0])
@pytest.mark.parametrize("level", [1.0, 0.003])
def test_bitcrush_gives_its_depth_at_any_input_level_and_after_any_gain(bits, level):
    source = noise(seconds=1.0) * np.float32(level)
    crushed = fx.bitcrush(source, RATE, bits)
    assert effective_bits(crushed, source) == pytest.approx(bits, abs=0.5)
    gain = np.float32(37.0)  # a stem gain after the crush scales the steps with the signal
    assert effective_bits(crushed * gain, source * gain) == pytest.approx(bits, abs=0.5)
    assert len(np.unique(crushed)) <= 2**bits


def test_silence_stays_silent_through_the_crush():
    assert not np.any(fx.bitcrush(np.zeros((2, 100), dtype=np.float32), RATE, 8))


def spectrum_db(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    frequencies, power = signal.welch(audio[0].astype(np.float64), RATE, nperseg=8_192)
    return frequencies, 10 * np.log10(power + 1e-30)


def level_at_db(frequencies, power_db, frequency_hz) -> float:
    return float(power_db[np.argmin(np.abs(frequencies - frequency_hz))])


def test_sample_and_hold_holds_samples():
    reduced = fx.sample_and_hold(noise(1.0), RATE, 11_025)
    repeats = np.mean(np.diff(reduced[0]) == 0)
    assert repeats > 0.6  # about 3 of every 4 samples repeat the previous one


def test_sample_rate_reduction_keeps_the_aliasing_grit_but_no_images_above_nyquist():
    target_hz = 22_050
    # A 15 kHz tone (no input filter) folds down to 22.05 − 15 = 7.05 kHz: the grit stays.
    frequencies, power_db = spectrum_db(fx.reduce_sample_rate(tone(15_000.0), RATE, target_hz))
    assert level_at_db(frequencies, power_db, 7_050) > power_db.max() - 3
    # A 1 kHz tone held at 22.05 kHz has images at 21.05 and 23.05 kHz: filtered out.
    frequencies, power_db = spectrum_db(fx.reduce_sample_rate(tone(1_000.0), RATE, target_hz))
    assert level_at_db(frequencies, power_db, 1_000) == pytest.approx(power_db.max(), abs=0.1)
    above = frequencies >= target_hz / 2
    assert power_db[above].max() < level_at_db(frequencies, power_db, 1_000) - 75
    held_db = spectrum_db(fx.sample_and_hold(tone(1_000.0), RATE, target_hz))[1]
    assert held_db[above].max() > held_db.max() - 40  # what the output filter took away


def test_vintage_sampler_crushes_at_its_rate_and_leaves_nothing_above_its_nyquist():
    source = noise(seconds=2.0)
    sampled = fx.vintage_sampler(source, RATE, 26_000, 10)
    clean = fx.reduce_sample_rate(source, RATE, 26_000)
    assert effective_bits(sampled, clean) == pytest.approx(10.0, abs=0.5)
    frequencies, power_db = spectrum_db(sampled)
    in_band = power_db[(frequencies >= 1_000) & (frequencies <= 4_000)].mean()
    assert power_db[frequencies >= 13_000].max() < in_band - 60


def test_butterworth_lowpass_falls_by_its_order_per_octave():
    frequencies, power_db = spectrum_db(fx.lowpass(noise(4.0), RATE, 5_000, order=4))
    passband = level_at_db(frequencies, power_db, 1_000)
    assert level_at_db(frequencies, power_db, 5_000) == pytest.approx(passband - 3, abs=1)
    assert level_at_db(frequencies, power_db, 20_000) < passband - 45  # 24 dB/octave × 2


def test_crackle_clicks_arrive_at_the_poisson_rate():
    seconds, rate = 60.0, 8.0
    crackle = fx.vinyl_crackle(int(seconds * RATE), RATE, np.random.default_rng(3), rate, 0.0)
    magnitude = np.abs(crackle).max(axis=0)
    peaks, _ = signal.find_peaks(magnitude, height=10 ** (-50 / 20), distance=int(0.002 * RATE))
    assert abs(len(peaks) / seconds - rate) <= 0.15 * rate


def test_hiss_breathes_once_per_turn_of_a_33_rpm_record():
    hiss = fx.vinyl_hiss(30 * RATE, RATE, np.random.default_rng(0))
    frame = RATE // 20
    envelope = np.sqrt(
        np.mean(hiss[0, : hiss.shape[1] // frame * frame].reshape(-1, frame) ** 2, axis=1)
    )
    spectrum = np.abs(np.fft.rfft(envelope - envelope.mean()))
    frequencies = np.fft.rfftfreq(envelope.size, 1 / 20)
    assert abs(frequencies[np.argmax(spectrum)] - fx.RPM_33_HZ) < 0.05


def test_ping_pong_echoes_alternate_sides():
    impulse = np.zeros((2, RATE), dtype=np.float32)
    impulse[:, 0] = 1.0
    echoed = fx.ping_pong_delay(impulse, RATE, delay_s=0.1, feedback=0.5, mix=1.0)
    first, second = int(0.1 * RATE), int(0.2 * RATE)
    assert echoed[0, first] > 0.4 and echoed[1, first] == 0
    assert echoed[1, second] > 0.2 and echoed[0, second] == 0


def test_tape_delay_repeats_after_the_delay_time():
    impulse = np.zeros((2, RATE), dtype=np.float32)
    impulse[:, 100] = 1.0
    echoed = fx.tape_delay(impulse, RATE, delay_s=0.25, mix=1.0)
    window = echoed[0, 100 + int(0.25 * RATE) - 50 : 100 + int(0.25 * RATE) + 400]
    elsewhere = echoed[0, 100 + int(0.1 * RATE) : 100 + int(0.2 * RATE)]
    assert np.max(np.abs(window)) > 10 * np.max(np.abs(elsewhere)) + 1e-6


def test_tape_saturation_adds_harmonics_and_stays_bounded():
    source = tone(100.0, 1.0, 0.9)
    saturated = fx.tape_saturation(source, drive_db=9.0)
    spectrum = np.abs(np.fft.rfft(saturated[0]))
    fundamental = spectrum[100]
    harmonics = spectrum[200] + spectrum[300]
    assert harmonics / fundamental > 0.05
    assert np.max(np.abs(saturated)) <= 1.0


def test_mid_side_scales_width_without_touching_the_centre():
    source = noise()
    wider = fx.mid_side(source * np.array([[1.0], [0.5]], dtype=np.float32), side_gain_db=6.0)
    side_before = (source[0] - 0.5 * source[1]) / 2
    side_after = (wider[0] - wider[1]) / 2
    assert rms_db(side_after) - rms_db(side_before) == pytest.approx(6.0, abs=0.05)
    mid_before = (source[0] + 0.5 * source[1]) / 2
    assert rms_db((wider[0] + wider[1]) / 2) == pytest.approx(rms_db(mid_before), abs=0.05)


def test_band_split_sums_back_to_the_input():
    source = noise()
    bands = fx.split_bands(source, RATE)
    assert len(bands) == 3
    assert np.max(np.abs(np.sum(bands, axis=0) - source)) < 1e-5


def test_multiband_compression_tames_loud_passages_more_than_quiet_ones():
    quiet, loud = noise(1.0, 1) * 0.05, noise(1.0, 2) * 3.0
    source = np.concatenate([quiet, loud], axis=1)
    compressed = fx.multiband_compression(source, RATE)
    before = rms_db(source[:, RATE:]) - rms_db(source[:, :RATE])
    after = rms_db(compressed[:, RATE:]) - rms_db(compressed[:, :RATE])
    assert after < before - 6


def test_parallel_compression_lifts_quiet_passages_relative_to_loud():
    quiet, loud = tone(seconds=1.0, level=0.01), tone(seconds=1.0, level=0.8)
    source = np.concatenate([quiet, loud], axis=1)
    blended = fx.parallel_compression(source, RATE, blend=0.5)
    before = rms_db(source[:, RATE:]) - rms_db(source[:, :RATE])
    after = rms_db(blended[:, RATE:]) - rms_db(blended[:, :RATE])
    assert after < before - 1


def test_seven_band_eq_boosts_the_band_it_is_told_to():
    eq = fx.SevenBandEq((0, 0, 0, 6.0, 0, 0, 0))
    boosted = eq(tone(1_000.0, 1.0, 0.1), RATE)
    untouched = eq(tone(60.0, 1.0, 0.1), RATE)
    assert rms_db(boosted) - rms_db(tone(1_000.0, 1.0, 0.1)) == pytest.approx(6.0, abs=0.5)
    assert abs(rms_db(untouched) - rms_db(tone(60.0, 1.0, 0.1))) < 0.5


def test_hall_reverb_rings_longer_than_a_room():
    impulse = np.zeros((2, 3 * RATE), dtype=np.float32)
    impulse[:, 0] = 1.0
    tails = {
        kind: rms_db(fx.reverb(impulse, RATE, kind)[:, RATE : 2 * RATE])
        for kind in fx.REVERB_PRESETS
    }
    assert tails["hall"] > tails["room"] + 6


def test_pad_filter_sweep_opens_and_closes():
    swept = fx.filter_sweep(
        noise(10.0), RATE, lfo_rate_hz=0.2, min_cutoff_hz=500, max_cutoff_hz=8_000
    )
    high = signal.sosfilt(signal.butter(4, 4_000, "highpass", fs=RATE, output="sos"), swept[0])
    frame = RATE // 4
    energy = np.sqrt(np.mean(high[: high.size // frame * frame].reshape(-1, frame) ** 2, axis=1))
    assert 20 * np.log10(energy.max() / energy.min()) > 10


def test_chorus_changes_the_signal_but_keeps_its_level():
    source = tone(440.0, 2.0, 0.3)
    chorused = fx.chorus(source, RATE)
    assert not np.allclose(chorused, source)
    assert abs(rms_db(chorused) - rms_db(source)) < 3.0


def test_pan_is_constant_power():
    source = noise()
    for position in (-1.0, -0.3, 0.0, 0.6, 1.0):
        panned = fx.pan(source, position)
        assert rms_db(panned) == pytest.approx(rms_db(source.mean(axis=0)), abs=0.2)
    hard_left = fx.pan(source, -1.0)
    assert np.max(np.abs(hard_left[1])) < 1e-6
