"""The lo-fi effect chain: pedalboard where it has the effect, numpy where it does not.

Every function takes float32 audio shaped (channels, samples) and returns a new array of the
same shape. Units are in the names. Random effects take a ``numpy.random.Generator`` so the
same seed gives the same crackle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pedalboard
from scipy import signal

RPM_33_HZ = 100.0 / 3.0 / 60.0  # a 33⅓ rpm record turns 0.556 times a second
WOW_BLOCK_SAMPLES = 1 << 19


def db_to_gain(gain_db: float) -> float:
    return float(10.0 ** (gain_db / 20.0))


def mean_square(audio: np.ndarray, chunk_samples: int = 1 << 18) -> float:
    """Mean of the squared samples, summed in float64 over small chunks (no big temporaries)."""
    flat = audio.reshape(-1)
    total = 0.0
    for start in range(0, flat.size, chunk_samples):
        chunk = flat[start : start + chunk_samples].astype(np.float64)
        total += float(np.sum(np.square(chunk)))  # not np.dot: BLAS threads fight the workers
    return total / max(1, flat.size)


def rms(audio: np.ndarray) -> float:
    return math.sqrt(mean_square(audio))


def _as_float32(audio: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(audio, dtype=np.float32)


def _run(board: pedalboard.Pedalboard | pedalboard.Plugin, audio: np.ndarray, sample_rate_hz: int):
    return board(_as_float32(audio), sample_rate_hz, reset=True)


# --- vinyl ----------------------------------------------------------------------------


def vinyl_crackle(
    samples: int,
    sample_rate_hz: int,
    rng: np.random.Generator,
    clicks_per_s: float = 8.0,
    pops_per_s: float = 0.4,
    click_level_db: float = -34.0,
) -> np.ndarray:
    """Clicks and pops at Poisson-distributed times (dust on the groove), stereo."""
    out = np.zeros((2, samples), dtype=np.float32)
    duration_s = samples / sample_rate_hz
    for rate, level_db, length in (
        (clicks_per_s, click_level_db, 3),
        # Pops 3 dB over the clicks: longer, so they read louder. At +10 dB a pop in a quiet
        # breakdown peaked at −4 dBFS in the master, 8 dB over the music's own peaks there.
        (pops_per_s, click_level_db + 3, 40),
    ):
        count = rng.poisson(rate * duration_s)
        positions = rng.integers(0, max(1, samples - length), size=count)
        amplitudes = db_to_gain(level_db) * rng.uniform(0.3, 1.0, size=count)
        amplitudes *= rng.choice((-1.0, 1.0), size=count)
        channels = rng.integers(0, 3, size=count)  # left, right or both (centre of the groove)
        decay = np.exp(-np.arange(length) / max(1.0, length / 4)).astype(np.float32)
        for position, amplitude, channel in zip(positions, amplitudes, channels, strict=True):
            shape = amplitude * decay
            if channel in (0, 2):
                out[0, position : position + length] += shape
            if channel in (1, 2):
                out[1, position : position + length] += shape
    return out


def vinyl_hiss(
    samples: int, sample_rate_hz: int, rng: np.random.Generator, level_db: float = -48.0
) -> np.ndarray:
    """Surface hiss, brighter than pink noise, breathing once per turn of a 33⅓ record."""
    noise = rng.standard_normal((2, samples), dtype=np.float32)
    sos = signal.butter(2, 2_000, "highpass", fs=sample_rate_hz, output="sos").astype(np.float32)
    hiss = signal.sosfilt(sos, noise, axis=1)
    hiss *= db_to_gain(level_db) / max(1e-9, rms(hiss))
    phase = np.arange(samples, dtype=np.float32) * np.float32(
        2 * np.pi * RPM_33_HZ / sample_rate_hz
    )
    hiss *= np.float32(1.0) + np.float32(0.3) * np.sin(phase)
    return hiss


# --- degradation ------------------------------------------------------------------------


def peak(audio: np.ndarray, chunk_samples: int = 1 << 18) -> float:
    """Largest absolute sample, found over small chunks (no full-size temporary)."""
    flat = audio.reshape(-1)
    largest = 0.0
    for start in range(0, flat.size, chunk_samples):
        chunk = flat[start : start + chunk_samples]
        if chunk.size:
            largest = max(largest, float(np.max(np.abs(chunk))))
    return largest


def sos_filter(audio: np.ndarray, sos: np.ndarray, block_samples: int = 1 << 17) -> np.ndarray:
    """Run second-order sections along time in float64, block by block, into a float32 copy.

    Steep filters (elliptic, high-order Butterworth) need float64 coefficients and state to stay
    stable near the unit circle; filtering in blocks keeps the float64 temporaries small on
    long tracks. Input and output are float32 ``(channels, samples)``.
    """
    source = _as_float32(audio)
    out = np.empty_like(source)
    state = np.zeros((sos.shape[0], source.shape[0], 2))
    for start in range(0, source.shape[1], block_samples):
        block = source[:, start : start + block_samples].astype(np.float64)
        filtered, state = signal.sosfilt(sos, block, axis=1, zi=state)
        out[:, start : start + block_samples] = filtered
    return out


def sos_filtered_peak(audio: np.ndarray, sos: np.ndarray, block_samples: int = 1 << 17) -> float:
    """Largest absolute sample ``sos_filter`` would output, without keeping the output."""
    source = _as_float32(audio)
    state = np.zeros((sos.shape[0], source.shape[0], 2))
    largest = 0.0
    for start in range(0, source.shape[1], block_samples):
        block = source[:, start : start + block_samples].astype(np.float64)
        filtered, state = signal.sosfilt(sos, block, axis=1, zi=state)
        largest = max(largest, float(np.max(np.abs(filtered))))
    return largest


def lowpass(audio: np.ndarray, sample_rate_hz: int, cutoff_hz: float, order: int = 2) -> np.ndarray:
    """Butterworth low-pass: −3 dB at ``cutoff_hz``, then ``6 × order`` dB per octave.

    pedalboard's ``LowpassFilter`` is first order (6 dB/octave): too gentle to give a mix a
    knee, so the lo-fi roll-offs use this one. A cutoff at or above Nyquist returns the input.
    """
    if cutoff_hz >= 0.49 * sample_rate_hz:
        return audio
    sos = signal.butter(order, cutoff_hz, "lowpass", fs=sample_rate_hz, output="sos")
    return sos_filter(audio, sos)


def bitcrush(
    audio: np.ndarray, sample_rate_hz: int, bit_depth: float, full_scale: float | None = None
) -> np.ndarray:
    """Quantise to ``bit_depth``-bit PCM: 2^bits levels across ±``full_scale``, undithered.

    ``full_scale`` defaults to the signal's own peak, as a sampler's input gain is set so the
    loudest hit just reaches full scale: the result holds ``bit_depth`` effective bits whatever
    the level going in, and a gain applied afterwards scales the steps with the signal, so
    the depth survives mixing. The crunch is a creative effect, so it is not dithered (an
    SP-1200's converter was not either); only final PCM exports are (``wav.write_wav``).
    ``sample_rate_hz`` is unused; it keeps the signature of the other effects.
    """
    source = _as_float32(audio)
    scale = peak(source) if full_scale is None else float(full_scale)
    return quantize(source, bit_depth, scale)


def quantize(audio: np.ndarray, bit_depth: float, full_scale: float) -> np.ndarray:
    """``audio`` (float32, any shape) on the ``bit_depth``-bit PCM grid of ±``full_scale``:
    steps of ``full_scale`` / 2^(bits − 1), the top code one step below full scale as in
    two's complement. A new array; silence (``full_scale`` ≤ 0) is returned as it is.

    The rounding is ``pedalboard.Bitcrush``'s, which counts bits differently: its
    ``bit_depth`` N rounds to steps of 2^−N across ±1 (2^(N+1) + 1 levels), one bit finer
    than N-bit PCM's 2^(1−N), so it gets ``bit_depth − 1``; the clip takes its extra top
    level away. Pointwise, so the samples go through as one mono row: pedalboard guesses
    the channel axis from the shape, and a short block (2 × 2) would be ambiguous.
    """
    if full_scale <= 0.0:
        return audio
    top = 1.0 - 2.0 ** (1.0 - bit_depth)
    unit = np.clip(audio.reshape(1, -1) * np.float32(1.0 / full_scale), -1.0, top)
    # Pointwise: the sample rate pedalboard asks for changes nothing.
    crushed = pedalboard.Bitcrush(bit_depth=bit_depth - 1.0)(unit.astype(np.float32), 48_000)
    crushed *= np.float32(full_scale)
    return crushed.reshape(audio.shape)


def sample_and_hold(audio: np.ndarray, sample_rate_hz: int, target_rate_hz: float) -> np.ndarray:
    """Resample down and back with zero-order hold and no input filter: each sample at the low
    rate is held until the next. Content above the low rate's Nyquist folds back into the band
    (the grit) and the hold's steps put images of the band above it (the sizzle)."""
    plugin = pedalboard.Resample(
        target_sample_rate=target_rate_hz, quality=pedalboard.Resample.Quality.ZeroOrderHold
    )
    return _run(plugin, audio, sample_rate_hz)


# A sampler's output (reconstruction) filter: flat to 90 % of the reduced Nyquist, at least
# 80 dB down from the Nyquist itself, elliptic so the transition is narrow (order 9–11 at
# the rates the styles use). 0.5 dB passband ripple is inaudible.
RECONSTRUCTION_PASSBAND = 0.9
RECONSTRUCTION_RIPPLE_DB = 0.5
RECONSTRUCTION_STOPBAND_DB = 80.0


def _reconstruction_sos(sample_rate_hz: int, reduced_rate_hz: float) -> np.ndarray | None:
    nyquist_hz = reduced_rate_hz / 2.0
    if nyquist_hz >= 0.49 * sample_rate_hz:
        return None
    order, edge_hz = signal.ellipord(
        RECONSTRUCTION_PASSBAND * nyquist_hz,
        nyquist_hz,
        RECONSTRUCTION_RIPPLE_DB,
        RECONSTRUCTION_STOPBAND_DB,
        fs=sample_rate_hz,
    )
    return signal.ellip(
        order,
        RECONSTRUCTION_RIPPLE_DB,
        RECONSTRUCTION_STOPBAND_DB,
        edge_hz,
        "lowpass",
        fs=sample_rate_hz,
        output="sos",
    )


def reconstruction_filter(
    audio: np.ndarray, sample_rate_hz: int, reduced_rate_hz: float
) -> np.ndarray:
    """Remove everything above the reduced rate's Nyquist (a sampler's anti-imaging filter)."""
    sos = _reconstruction_sos(sample_rate_hz, reduced_rate_hz)
    return audio if sos is None else sos_filter(audio, sos)


def reduce_sample_rate(audio: np.ndarray, sample_rate_hz: int, target_rate_hz: float) -> np.ndarray:
    """An old sampler's rate: zero-order hold (aliasing folds down: grit), then its output
    filter removes the hold's images above the reduced Nyquist (no sizzle)."""
    held = sample_and_hold(audio, sample_rate_hz, target_rate_hz)
    return reconstruction_filter(held, sample_rate_hz, target_rate_hz)


def vintage_sampler(
    audio: np.ndarray, sample_rate_hz: int, sampler_rate_hz: float, bit_depth: float
) -> np.ndarray:
    """An SP-1200-style sampler: held at ``sampler_rate_hz``, quantised to ``bit_depth`` bits,
    then its output filter: aliasing and quantisation grit below the reduced Nyquist, nothing
    above it.

    The converter's full scale is the larger of the held signal's peak and the peak it plays
    back at (the output filter can overshoot the steps of a saturated hit by a decibel or
    two), so nothing clips and the result holds ``bit_depth`` effective bits relative to its
    own peak at any input level.
    """
    held = _as_float32(sample_and_hold(audio, sample_rate_hz, sampler_rate_hz))
    sos = _reconstruction_sos(sample_rate_hz, sampler_rate_hz)
    full_scale = peak(held)
    if sos is not None:
        full_scale = max(full_scale, sos_filtered_peak(held, sos))
    crushed = quantize(held, bit_depth, full_scale)
    return crushed if sos is None else sos_filter(crushed, sos)


def delay_amplitude_s(depth_cents: float, rate_hz: float) -> float:
    """Peak delay swing that bends pitch by ``depth_cents`` at ``rate_hz``.

    A delay d(t) = A·sin(2πft) scales frequency by 1 − d'(t), at most 2πfA.
    """
    return (2.0 ** (depth_cents / 1200.0) - 1.0) / (2.0 * math.pi * rate_hz)


def wow_flutter(
    audio: np.ndarray,
    sample_rate_hz: int,
    wow_rate_hz: float = 0.8,
    wow_depth_cents: float = 12.0,
    flutter_rate_hz: float = 9.0,
    flutter_depth_cents: float = 3.0,
    phase_rad: float = 0.0,
) -> np.ndarray:
    """Tape speed drift: a slow wow and a fast flutter as a modulated fractional delay."""
    samples = audio.shape[1]
    phase_per_sample = 2 * np.pi / sample_rate_hz
    wow_s = delay_amplitude_s(wow_depth_cents, wow_rate_hz)
    flutter_s = delay_amplitude_s(flutter_depth_cents, flutter_rate_hz)
    source = _as_float32(audio)
    out = np.empty_like(source)
    # Blocks keep every temporary small: on long tracks that is faster than whole-array maths.
    for start in range(0, samples, WOW_BLOCK_SAMPLES):
        index = np.arange(start, min(samples, start + WOW_BLOCK_SAMPLES))
        delay_samples = sample_rate_hz * (
            wow_s * (1 + np.sin(phase_per_sample * wow_rate_hz * index + phase_rad))
            + flutter_s * (1 + np.sin(phase_per_sample * flutter_rate_hz * index))
        )
        # Read at n − delay: between samples n − ⌊delay⌋ − 1 and n − ⌊delay⌋ (linear interpolation).
        whole = np.floor(delay_samples).astype(np.int64)
        fraction = (delay_samples - whole).astype(np.float32)
        newer = np.clip(index - whole, 0, samples - 1)
        older = np.clip(newer - 1, 0, samples - 1)
        out[:, index[0] : index[-1] + 1] = (
            source[:, newer] * (1 - fraction) + source[:, older] * fraction
        )
    return out


def tape_saturation(audio: np.ndarray, drive_db: float = 6.0, bias: float = 0.1) -> np.ndarray:
    """Soft tanh clipping with a little bias: warm odd and even harmonics, never beyond ±1."""
    offset = math.tanh(bias)
    # One working array, updated in place: tracks are long and fresh memory is slow.
    shaped = _as_float32(audio) * np.float32(db_to_gain(drive_db))
    shaped += np.float32(bias)
    np.tanh(shaped, out=shaped)
    shaped -= np.float32(offset)
    shaped *= np.float32(1.0 / (1.0 + offset))
    return shaped


# --- modulation and space ---------------------------------------------------------------


def chorus(
    audio: np.ndarray,
    sample_rate_hz: int,
    rate_hz: float = 0.6,
    depth: float = 0.2,
    mix: float = 0.35,
) -> np.ndarray:
    return _run(pedalboard.Chorus(rate_hz=rate_hz, depth=depth, mix=mix), audio, sample_rate_hz)


ReverbKind = Literal["room", "hall", "plate"]
REVERB_PRESETS: dict[str, dict[str, float]] = {
    "room": {"room_size": 0.35, "damping": 0.6, "wet_level": 0.18, "dry_level": 0.85, "width": 0.8},
    "hall": {"room_size": 0.85, "damping": 0.35, "wet_level": 0.28, "dry_level": 0.8, "width": 1.0},
    "plate": {"room_size": 0.6, "damping": 0.1, "wet_level": 0.24, "dry_level": 0.82, "width": 1.0},
}


def reverb(
    audio: np.ndarray, sample_rate_hz: int, kind: ReverbKind = "room", wet_scale: float = 1.0
) -> np.ndarray:
    preset = dict(REVERB_PRESETS[kind])
    preset["wet_level"] *= wet_scale
    return _run(pedalboard.Reverb(**preset), audio, sample_rate_hz)


def tape_delay(
    audio: np.ndarray,
    sample_rate_hz: int,
    delay_s: float,
    feedback: float = 0.35,
    mix: float = 0.25,
) -> np.ndarray:
    """Echoes that darken and saturate as they repeat, like a tape loop."""
    wet = _run(
        pedalboard.Pedalboard(
            [
                pedalboard.Delay(delay_seconds=delay_s, feedback=feedback, mix=1.0),
                pedalboard.LowpassFilter(cutoff_frequency_hz=3_000),
            ]
        ),
        audio,
        sample_rate_hz,
    )
    return ((1 - mix) * audio + mix * tape_saturation(wet, drive_db=3.0)).astype(np.float32)


def ping_pong_delay(
    audio: np.ndarray, sample_rate_hz: int, delay_s: float, feedback: float = 0.4, mix: float = 0.25
) -> np.ndarray:
    """Echoes bouncing left, right, left … each ``feedback`` times quieter."""
    mono = audio.mean(axis=0)
    delay = round(delay_s * sample_rate_hz)
    wet = np.zeros_like(audio)
    echo, gain = 1, feedback
    while gain > 1e-3 and echo * delay < audio.shape[1]:
        side = (echo - 1) % 2
        wet[side, echo * delay :] += gain * mono[: audio.shape[1] - echo * delay]
        echo += 1
        gain *= feedback
    return ((1 - mix) * audio + mix * wet).astype(np.float32)


def haas_widen(audio: np.ndarray, sample_rate_hz: int, delay_ms: float = 15.0) -> np.ndarray:
    """Delay the right channel a few milliseconds: the ear hears width, not an echo."""
    lag = round(delay_ms * sample_rate_hz / 1000.0)
    widened = audio.copy()
    widened[1] = np.concatenate(
        [np.zeros(lag, dtype=audio.dtype), audio[1, : audio.shape[1] - lag]]
    )
    return widened


def mid_side(audio: np.ndarray, mid_gain_db: float = 0.0, side_gain_db: float = 0.0) -> np.ndarray:
    """Scale the centre (L+R) and the width (L−R) independently."""
    mid = (audio[0] + audio[1]) * np.float32(0.5 * db_to_gain(mid_gain_db))
    side = (audio[0] - audio[1]) * np.float32(0.5 * db_to_gain(side_gain_db))
    out = np.empty((2, audio.shape[1]), dtype=np.float32)
    np.add(mid, side, out=out[0])
    np.subtract(mid, side, out=out[1])
    return out


def pan(audio: np.ndarray, position: float) -> np.ndarray:
    """Constant-power pan of the mono sum: −1 hard left, 0 centre, +1 hard right."""
    angle = (position + 1.0) * math.pi / 4.0
    # (L+R)/2 × √2 keeps the power of a centred source equal at every position.
    mono = (audio[0] + audio[1]) * np.float32(math.sqrt(2) / 2)
    out = np.empty((2, audio.shape[1]), dtype=np.float32)
    np.multiply(mono, np.float32(math.cos(angle)), out=out[0])
    np.multiply(mono, np.float32(math.sin(angle)), out=out[1])
    return out


def filter_sweep(
    audio: np.ndarray,
    sample_rate_hz: int,
    lfo_rate_hz: float = 0.07,
    min_cutoff_hz: float = 900.0,
    max_cutoff_hz: float = 4_500.0,
    block_samples: int = 2_048,  # the cutoff moves every 46 ms: smooth at LFO rates below 1 Hz
) -> np.ndarray:
    """A low-pass whose cutoff breathes with a slow LFO (the pad 'opening up')."""
    ladder = pedalboard.LadderFilter(
        mode=pedalboard.LadderFilter.Mode.LPF12, cutoff_hz=max_cutoff_hz, resonance=0.1
    )
    out = np.empty_like(audio, dtype=np.float32)
    source = _as_float32(audio)
    for start in range(0, audio.shape[1], block_samples):
        centre_s = (start + block_samples / 2) / sample_rate_hz
        phase = 0.5 * (1 - math.cos(2 * math.pi * lfo_rate_hz * centre_s))
        # Sweep on a log scale: equal musical steps up and down.
        ladder.cutoff_hz = min_cutoff_hz * (max_cutoff_hz / min_cutoff_hz) ** phase
        out[:, start : start + block_samples] = ladder(
            source[:, start : start + block_samples], sample_rate_hz, reset=start == 0
        )
    return out


# --- dynamics and tone ------------------------------------------------------------------


def sidechain_gain(
    samples: int,
    sample_rate_hz: int,
    trigger_times_s: np.ndarray,
    depth_db: float = 6.0,
    attack_ms: float = 5.0,
    release_ms: float = 180.0,
) -> np.ndarray:
    """A gain curve that ducks by ``depth_db`` at each kick and recovers over ``release_ms``."""
    reduction = np.zeros(samples, dtype=np.float32)
    attack = max(1, int(attack_ms * sample_rate_hz / 1000))
    release = max(1, int(release_ms * sample_rate_hz / 1000))
    shape = np.concatenate(
        [np.linspace(0, 1, attack, endpoint=False), np.exp(-np.arange(release) / (release / 5))]
    ).astype(np.float32)
    for time_s in np.asarray(trigger_times_s):
        start = round(time_s * sample_rate_hz) - attack
        lo, hi = max(0, start), min(samples, start + len(shape))
        if hi > lo:
            np.maximum(reduction[lo:hi], shape[lo - start : hi - start], out=reduction[lo:hi])
    return (10.0 ** (-depth_db * reduction / 20.0)).astype(np.float32)


def sidechain_duck(
    audio: np.ndarray, sample_rate_hz: int, kick_times_s: np.ndarray, depth_db: float = 6.0
) -> np.ndarray:
    """Side-chain compression keyed from the kick's note times (the pumping lo-fi bass)."""
    return _as_float32(audio) * sidechain_gain(
        audio.shape[1], sample_rate_hz, kick_times_s, depth_db
    )


def compress(
    audio: np.ndarray,
    sample_rate_hz: int,
    threshold_db: float = -18.0,
    ratio: float = 3.0,
    attack_ms: float = 10.0,
    release_ms: float = 120.0,
) -> np.ndarray:
    plugin = pedalboard.Compressor(
        threshold_db=threshold_db, ratio=ratio, attack_ms=attack_ms, release_ms=release_ms
    )
    return _run(plugin, audio, sample_rate_hz)


def parallel_compression(
    audio: np.ndarray,
    sample_rate_hz: int,
    blend: float = 0.35,
    threshold_db: float = -30.0,
    ratio: float = 8.0,
) -> np.ndarray:
    """New York compression: a crushed copy blended under the dry signal."""
    crushed = compress(audio, sample_rate_hz, threshold_db, ratio, attack_ms=2.0, release_ms=80.0)
    return (audio + blend * crushed).astype(np.float32) / (1.0 + blend)


CROSSOVERS_HZ = (200.0, 3_000.0)


def split_bands(
    audio: np.ndarray, sample_rate_hz: int, crossovers_hz=CROSSOVERS_HZ
) -> list[np.ndarray]:
    """Split into bands with Linkwitz-Riley low-passes; each upper band is what the low-pass
    left behind, so the bands sum back to the input exactly."""
    bands, rest = [], _as_float32(audio)
    for crossover in crossovers_hz:
        low = signal.butter(2, crossover, "lowpass", fs=sample_rate_hz, output="sos")
        linkwitz_riley = np.vstack([low, low]).astype(np.float32)  # LR4 = Butterworth²
        band = signal.sosfilt(linkwitz_riley, rest, axis=1)
        bands.append(band)
        rest = rest - band
    bands.append(rest)
    return bands


def multiband_compression(
    audio: np.ndarray,
    sample_rate_hz: int,
    thresholds_db: tuple[float, float, float] = (-20.0, -22.0, -24.0),
    ratios: tuple[float, float, float] = (2.5, 2.0, 2.0),
) -> np.ndarray:
    """Compress lows, mids and highs separately so the kick does not pump the hats."""
    bands = split_bands(audio, sample_rate_hz)
    compressed = [
        compress(band, sample_rate_hz, threshold, ratio)
        for band, threshold, ratio in zip(bands, thresholds_db, ratios, strict=True)
    ]
    return np.sum(compressed, axis=0).astype(np.float32)


EQ_BANDS_HZ = (60.0, 150.0, 400.0, 1_000.0, 2_500.0, 6_000.0, 12_000.0)


@dataclass(frozen=True)
class SevenBandEq:
    """Low shelf, five peaks and a high shelf at ``EQ_BANDS_HZ``."""

    gains_db: tuple[float, float, float, float, float, float, float] = (0, 0, 0, 0, 0, 0, 0)
    q: float = 1.0

    def plugins(self) -> list[pedalboard.Plugin]:
        low, *peaks, high = zip(EQ_BANDS_HZ, self.gains_db, strict=True)
        return [
            pedalboard.LowShelfFilter(cutoff_frequency_hz=low[0], gain_db=low[1]),
            *[pedalboard.PeakFilter(cutoff_frequency_hz=f, gain_db=g, q=self.q) for f, g in peaks],
            pedalboard.HighShelfFilter(cutoff_frequency_hz=high[0], gain_db=high[1]),
        ]

    def __call__(self, audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
        return _run(pedalboard.Pedalboard(self.plugins()), audio, sample_rate_hz)


def band_limit_plugins(
    highpass_hz: float | None, lowpass_hz: float | None
) -> list[pedalboard.Plugin]:
    """A high-pass at ``highpass_hz`` and a low-pass at ``lowpass_hz``, each left out when
    ``None`` (pedalboard's 12 dB/octave filters); an empty list is "no band limit"."""
    plugins: list[pedalboard.Plugin] = []
    if highpass_hz:
        plugins.append(pedalboard.HighpassFilter(cutoff_frequency_hz=highpass_hz))
    if lowpass_hz:
        plugins.append(pedalboard.LowpassFilter(cutoff_frequency_hz=lowpass_hz))
    return plugins
